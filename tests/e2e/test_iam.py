"""End-to-end tests of Scytale's IAM and STS APIs and of KMS authorization by IAM policies.

One test per AWS rule:
- the seed's table (Manager = key administrator, Dev1 = key user, Dev2 = no policy);
- explicit Deny in the key policy beats an IAM Allow; a key policy naming a user directly;
  a key policy without the root statement makes IAM policies powerless; kms:EncryptionContext
  and kms:ViaService conditions in IAM policies;
- identity management authorization and IAM errors (AccessDenied, NoSuchEntity,
  EntityAlreadyExists, DeleteConflict);
- STS GetCallerIdentity / AssumeRole, session expiry (--testing-clock-file), deleted access keys;
- the AWS CLI (v1, and v2 at /usr/bin/aws when present) for `iam` and `sts`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import unittest
import uuid

import boto3
import botocore.config
import botocore.exceptions

import harness
from harness import (ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, DEFAULT_ACCOUNT, DEFAULT_REGION,
                     KEY_ADMIN_ACTIONS, KEY_USER_ACTIONS, ScytaleTestCase, error_code, kms_client,
                     run_aws)

ACCT = DEFAULT_ACCOUNT
ROOT_ARN = f"arn:aws:iam::{ACCT}:root"


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*", **extra) -> dict:
    st = {"Effect": "Allow", "Action": actions, "Resource": resource}
    st.update(extra)
    return st


def _session(ak, sk, token=None):
    return boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk,
                                 aws_session_token=token, region_name=DEFAULT_REGION)


def _cfg():
    return botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                  connect_timeout=5, read_timeout=30)


def iam_client(endpoint, ak=ADMIN_ACCESS_KEY, sk=ADMIN_SECRET_KEY, token=None):
    return _session(ak, sk, token).client("iam", endpoint_url=endpoint, config=_cfg())


def sts_client(endpoint, ak=ADMIN_ACCESS_KEY, sk=ADMIN_SECRET_KEY, token=None):
    return _session(ak, sk, token).client("sts", endpoint_url=endpoint, config=_cfg())


def set_clock(path: str, offset_seconds: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{int(offset_seconds)}\n")
    os.replace(tmp, path)


class IamTestBase(ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="iam")
        cls.endpoint = cls.server.endpoint
        cls.kms = cls.server.client()
        cls.iam = iam_client(cls.endpoint)
        cls.sts = sts_client(cls.endpoint)

    # -- helpers ----------------------------------------------------------------------

    def make_user(self, prefix="user", actions=None, resource="*", statements=None):
        """Creates a user with an access key and (optionally) an inline policy.
        Returns (user name, user arn, kms client, iam client, sts client, access key id)."""
        name = uniq(prefix)
        u = self.iam.create_user(UserName=name)["User"]
        self.assertEqual(f"arn:aws:iam::{ACCT}:user/{name}", u["Arn"])
        if statements is None and actions is not None:
            statements = [allow(actions, resource)]
        if statements:
            self.iam.put_user_policy(UserName=name, PolicyName="inline",
                                     PolicyDocument=policy(*statements))
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        ak, sk = k["AccessKeyId"], k["SecretAccessKey"]
        return (name, u["Arn"], kms_client(self.endpoint, access_key=ak, secret_key=sk),
                iam_client(self.endpoint, ak, sk), sts_client(self.endpoint, ak, sk), ak)

    def new_key(self, **kw):
        return self.kms.create_key(**kw)["KeyMetadata"]

    def assertDenied(self, fn, *args, action=None, principal=None, key_arn=None, **kwargs):
        e = self.assertClientError("AccessDeniedException", fn, *args, **kwargs)
        msg = e.response["Error"].get("Message", "")
        if principal:
            self.assertTrue(msg.startswith(f"User: {principal} is not authorized to perform: "),
                            msg)
        if action:
            self.assertIn(f"kms:{action}", msg)
        if key_arn:
            self.assertIn(f"on resource: {key_arn}", msg)
        return e

    def assertIamError(self, code, fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except botocore.exceptions.ClientError as e:
            self.assertEqual(code, error_code(e), f"full error response: {e.response}")
            return e
        self.fail(f"expected {code}, but the call succeeded")


# --------------------------------------------------------------------------------------
# KMS authorization by IAM policies
# --------------------------------------------------------------------------------------

class KmsAuthorizationTest(IamTestBase):

    def test_seed_table_manager_dev1_dev2(self):
        key = self.new_key(Description="seed table")
        kid, karn = key["KeyId"], key["Arn"]
        ct = self.kms.encrypt(KeyId=kid, Plaintext=b"seed")["CiphertextBlob"]

        _, marn, mgr, _, _, _ = self.make_user("Manager", KEY_ADMIN_ACTIONS)
        _, d1arn, dev1, _, _, _ = self.make_user("Dev1", KEY_USER_ACTIONS)
        _, d2arn, dev2, _, _, _ = self.make_user("Dev2")

        # Manager: administers, cannot use.
        self.assertDenied(mgr.decrypt, CiphertextBlob=ct, action="Decrypt", principal=marn,
                          key_arn=karn)
        self.assertDenied(mgr.encrypt, KeyId=kid, Plaintext=b"x", action="Encrypt",
                          principal=marn, key_arn=karn)
        self.assertDenied(mgr.generate_data_key, KeyId=kid, KeySpec="AES_256",
                          action="GenerateDataKey", principal=marn, key_arn=karn)
        mgr.disable_key(KeyId=kid)
        self.assertEqual("Disabled", mgr.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"])
        mgr.enable_key(KeyId=kid)
        mgr.tag_resource(KeyId=kid, Tags=[{"TagKey": "team", "TagValue": "ops"}])
        mgr.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        mgr.cancel_key_deletion(KeyId=kid)
        mgr.enable_key(KeyId=kid)  # CancelKeyDeletion leaves the key Disabled

        # Dev1: uses, cannot administer.
        ct1 = dev1.encrypt(KeyId=kid, Plaintext=b"dev1")["CiphertextBlob"]
        self.assertEqual(b"dev1", dev1.decrypt(CiphertextBlob=ct1)["Plaintext"])
        self.assertEqual(b"seed", dev1.decrypt(CiphertextBlob=ct)["Plaintext"])
        dk = dev1.generate_data_key(KeyId=kid, KeySpec="AES_256")
        self.assertEqual(32, len(dk["Plaintext"]))
        self.assertDenied(dev1.schedule_key_deletion, KeyId=kid, PendingWindowInDays=7,
                          action="ScheduleKeyDeletion", principal=d1arn, key_arn=karn)
        self.assertDenied(dev1.disable_key, KeyId=kid, action="DisableKey", principal=d1arn,
                          key_arn=karn)
        self.assertEqual("Enabled", self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"])

        # Dev2: nothing.
        self.assertDenied(dev2.encrypt, KeyId=kid, Plaintext=b"x", action="Encrypt",
                          principal=d2arn, key_arn=karn)
        self.assertDenied(dev2.describe_key, KeyId=kid, action="DescribeKey", principal=d2arn)
        self.assertDenied(dev2.list_keys, action="ListKeys", principal=d2arn)
        self.assertDenied(dev2.create_key, action="CreateKey", principal=d2arn)

    def test_explicit_deny_in_key_policy_beats_iam_allow(self):
        name, arn, c, _, _, _ = self.make_user("denied", ["kms:*"])
        key = self.new_key()
        kid = key["KeyId"]
        c.encrypt(KeyId=kid, Plaintext=b"ok")  # allowed via the default key policy + IAM
        self.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=policy(
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "deny", "Effect": "Deny", "Principal": {"AWS": arn},
             "Action": "kms:Encrypt", "Resource": "*"}))
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"x", action="Encrypt", principal=arn,
                          key_arn=key["Arn"])
        c.describe_key(KeyId=kid)  # only Encrypt is denied

    def test_key_policy_naming_user_needs_no_iam_policy(self):
        name, arn, c, _, _, _ = self.make_user("direct")
        key = self.new_key()
        kid = key["KeyId"]
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"x", principal=arn)
        self.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=policy(
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "user", "Effect": "Allow", "Principal": {"AWS": arn},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}))
        ct = c.encrypt(KeyId=kid, Plaintext=b"direct")["CiphertextBlob"]
        self.assertEqual(b"direct", c.decrypt(CiphertextBlob=ct)["Plaintext"])
        self.assertDenied(c.describe_key, KeyId=kid, action="DescribeKey", principal=arn)

    def test_key_policy_without_root_makes_iam_policies_powerless(self):
        name, arn, c, _, _, _ = self.make_user("powerless", ["kms:*"])
        _, other_arn, other, _, _, _ = self.make_user("owner")
        key = self.new_key()
        kid = key["KeyId"]
        c.encrypt(KeyId=kid, Plaintext=b"x")
        self.kms.put_key_policy(KeyId=kid, PolicyName="default",
                                BypassPolicyLockoutSafetyCheck=True, Policy=policy(
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": other_arn},
             "Action": "kms:*", "Resource": "*"}))
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"x", action="Encrypt", principal=arn,
                          key_arn=key["Arn"])
        self.assertDenied(c.describe_key, KeyId=kid, principal=arn)
        other.encrypt(KeyId=kid, Plaintext=b"owner")
        # The owner named in the key policy restores the root statement.
        # (It keeps its own statement: the lockout safety check is made for the caller.)
        other.put_key_policy(KeyId=kid, PolicyName="default", Policy=policy(
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": other_arn},
             "Action": "kms:*", "Resource": "*"}))
        c.encrypt(KeyId=kid, Plaintext=b"back")

    def test_iam_encryption_context_condition(self):
        name, arn, c, _, _, _ = self.make_user("ctx", statements=[allow(
            ["kms:Encrypt", "kms:Decrypt"],
            Condition={"StringEquals": {"kms:EncryptionContext:app": "billing"}})])
        kid = self.new_key()["KeyId"]
        ct = c.encrypt(KeyId=kid, Plaintext=b"p",
                       EncryptionContext={"app": "billing"})["CiphertextBlob"]
        self.assertEqual(b"p", c.decrypt(CiphertextBlob=ct,
                                         EncryptionContext={"app": "billing"})["Plaintext"])
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"p",
                          EncryptionContext={"app": "payroll"}, action="Encrypt", principal=arn)
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"p", action="Encrypt", principal=arn)

    def test_iam_via_service_condition_denied(self):
        name, arn, c, _, _, _ = self.make_user("via", statements=[allow(
            ["kms:Encrypt", "kms:DescribeKey"],
            Condition={"StringEquals": {"kms:ViaService": f"s3.{DEFAULT_REGION}.amazonaws.com"}})])
        kid = self.new_key()["KeyId"]
        self.assertDenied(c.encrypt, KeyId=kid, Plaintext=b"p", action="Encrypt", principal=arn)
        self.assertDenied(c.describe_key, KeyId=kid, action="DescribeKey", principal=arn)

    def test_deleted_access_key_stops_working_at_once(self):
        name, arn, c, _, _, ak = self.make_user("revoked", ["kms:*"])
        kid = self.new_key()["KeyId"]
        c.encrypt(KeyId=kid, Plaintext=b"x")
        self.iam.delete_access_key(UserName=name, AccessKeyId=ak)
        self.assertClientError("UnrecognizedClientException", c.encrypt, KeyId=kid,
                               Plaintext=b"x")

    def test_inactive_access_key_fails_authentication_until_reactivated(self):
        name, arn, c, iam_u, sts_u, ak = self.make_user("inactive", ["kms:*"])
        kid = self.new_key()["KeyId"]
        c.encrypt(KeyId=kid, Plaintext=b"x")
        self.assertEqual(arn, sts_u.get_caller_identity()["Arn"])

        self.iam.update_access_key(UserName=name, AccessKeyId=ak, Status="Inactive")
        listed = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([(ak, "Inactive")], [(k["AccessKeyId"], k["Status"]) for k in listed])
        # KMS, as AWS KMS answers a key that does not authenticate.
        e = self.assertClientError("UnrecognizedClientException", c.encrypt, KeyId=kid,
                                   Plaintext=b"x")
        self.assertEqual("The security token included in the request is invalid.",
                         e.response["Error"]["Message"])
        # IAM and STS, as they answer it.
        for call in (sts_u.get_caller_identity, iam_u.list_access_keys):
            e = self.assertIamError("InvalidClientTokenId", call)
            self.assertEqual("The security token included in the request is invalid.",
                             e.response["Error"]["Message"])
            self.assertEqual(403, e.response["ResponseMetadata"]["HTTPStatusCode"])

        self.iam.update_access_key(UserName=name, AccessKeyId=ak, Status="Active")
        c.encrypt(KeyId=kid, Plaintext=b"again")
        self.assertEqual(arn, sts_u.get_caller_identity()["Arn"])

    def test_update_access_key_errors(self):
        name, _, _, iam_u, _, ak = self.make_user("updkey")
        other = uniq("other")
        self.iam.create_user(UserName=other)
        self.assertIamError("NoSuchEntity", self.iam.update_access_key, UserName=other,
                            AccessKeyId=ak, Status="Inactive")
        self.assertIamError("NoSuchEntity", self.iam.update_access_key, UserName=name,
                            AccessKeyId="AKIAUNKNOWNKEY000000", Status="Inactive")
        self.assertIamError("ValidationError", self.iam.update_access_key, UserName=name,
                            AccessKeyId=ak, Status="Paused")
        # A user without iam:UpdateAccessKey may not switch even its own key off.
        self.assertIamError("AccessDenied", iam_u.update_access_key, AccessKeyId=ak,
                            Status="Inactive")
        self.assertEqual("Active", self.iam.list_access_keys(
            UserName=name)["AccessKeyMetadata"][0]["Status"])

    def test_user_deactivates_its_own_key(self):
        name, _, _, iam_u, _, ak = self.make_user("selfoff", statements=[
            allow(["iam:UpdateAccessKey", "iam:ListAccessKeys"])])
        self.assertEqual("Active", iam_u.list_access_keys()["AccessKeyMetadata"][0]["Status"])
        iam_u.update_access_key(AccessKeyId=ak, Status="Inactive")
        self.assertIamError("InvalidClientTokenId", iam_u.list_access_keys)
        self.iam.update_access_key(UserName=name, AccessKeyId=ak, Status="Active")
        self.assertEqual("Active", iam_u.list_access_keys()["AccessKeyMetadata"][0]["Status"])


# --------------------------------------------------------------------------------------
# Identity management
# --------------------------------------------------------------------------------------

class IdentityManagementTest(IamTestBase):

    def test_user_without_iam_policy_cannot_manage_identities(self):
        _, _, _, iam_u, _, _ = self.make_user("nobody", ["kms:*"])
        e = self.assertIamError("AccessDenied", iam_u.create_user, UserName=uniq("x"))
        self.assertEqual(403, e.response["ResponseMetadata"]["HTTPStatusCode"])

    def test_user_with_iam_policy_can_create_users(self):
        _, _, _, iam_u, _, _ = self.make_user("iamadmin", ["iam:*"])
        name = uniq("created")
        u = iam_u.create_user(UserName=name)["User"]
        self.assertEqual(f"arn:aws:iam::{ACCT}:user/{name}", u["Arn"])
        self.assertEqual(name, self.iam.get_user(UserName=name)["User"]["UserName"])
        names = [x["UserName"] for x in self.iam.list_users()["Users"]]
        self.assertIn(name, names)
        iam_u.delete_user(UserName=name)

    def test_no_such_entity(self):
        missing = uniq("missing")
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.get_user(UserName=missing)
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.delete_user(UserName=missing)
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.get_role(RoleName=missing)

    def test_entity_already_exists(self):
        name = uniq("dup")
        self.iam.create_user(UserName=name)
        with self.assertRaises(self.iam.exceptions.EntityAlreadyExistsException):
            self.iam.create_user(UserName=name)

    def test_delete_conflict_for_user_with_keys(self):
        name = uniq("conflict")
        self.iam.create_user(UserName=name)
        ak = self.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        listed = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([ak], [k["AccessKeyId"] for k in listed])
        with self.assertRaises(self.iam.exceptions.DeleteConflictException):
            self.iam.delete_user(UserName=name)
        self.iam.delete_access_key(UserName=name, AccessKeyId=ak)
        self.iam.delete_user(UserName=name)
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.get_user(UserName=name)

    def test_user_and_role_inline_policies(self):
        name = uniq("pol")
        self.iam.create_user(UserName=name)
        doc = {"Version": "2012-10-17", "Statement": [allow("kms:Encrypt")]}
        self.iam.put_user_policy(UserName=name, PolicyName="p1", PolicyDocument=json.dumps(doc))
        self.assertEqual(["p1"], self.iam.list_user_policies(UserName=name)["PolicyNames"])
        got = self.iam.get_user_policy(UserName=name, PolicyName="p1")["PolicyDocument"]
        if isinstance(got, str):
            got = json.loads(got)
        self.assertEqual(doc, got)
        self.iam.delete_user_policy(UserName=name, PolicyName="p1")
        self.assertEqual([], self.iam.list_user_policies(UserName=name)["PolicyNames"])
        self.iam.delete_user(UserName=name)

        role = uniq("role")
        trust = policy({"Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
                        "Action": "sts:AssumeRole"})
        r = self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]
        self.assertEqual(f"arn:aws:iam::{ACCT}:role/{role}", r["Arn"])
        self.assertEqual(r["Arn"], self.iam.get_role(RoleName=role)["Role"]["Arn"])
        self.iam.put_role_policy(RoleName=role, PolicyName="rp", PolicyDocument=json.dumps(doc))
        self.assertEqual(["rp"], self.iam.list_role_policies(RoleName=role)["PolicyNames"])
        got = self.iam.get_role_policy(RoleName=role, PolicyName="rp")["PolicyDocument"]
        if isinstance(got, str):
            got = json.loads(got)
        self.assertEqual(doc, got)
        self.iam.delete_role_policy(RoleName=role, PolicyName="rp")
        self.iam.delete_role(RoleName=role)
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.get_role(RoleName=role)


class PagingTest(IamTestBase):
    """ListAccessKeys, ListUserPolicies and ListRolePolicies page as IAM does: MaxItems,
    IsTruncated, an opaque Marker; boto3's paginators walk them."""

    def test_list_user_policies_pages_with_marker(self):
        name = uniq("pager")
        self.iam.create_user(UserName=name)
        names = [f"p{i}" for i in range(5)]
        for n in reversed(names):
            self.iam.put_user_policy(UserName=name, PolicyName=n,
                                     PolicyDocument=policy(allow("kms:Encrypt")))
        first = self.iam.list_user_policies(UserName=name, MaxItems=2)
        self.assertEqual(["p0", "p1"], first["PolicyNames"])
        self.assertTrue(first["IsTruncated"])
        self.assertTrue(first["Marker"])
        second = self.iam.list_user_policies(UserName=name, MaxItems=2, Marker=first["Marker"])
        self.assertEqual(["p2", "p3"], second["PolicyNames"])
        self.assertTrue(second["IsTruncated"])
        last = self.iam.list_user_policies(UserName=name, MaxItems=2, Marker=second["Marker"])
        self.assertEqual(["p4"], last["PolicyNames"])
        self.assertFalse(last["IsTruncated"])
        self.assertNotIn("Marker", last)

        pages = list(self.iam.get_paginator("list_user_policies").paginate(
            UserName=name, PaginationConfig={"PageSize": 2}))
        self.assertEqual(3, len(pages))
        self.assertEqual(names, [n for page in pages for n in page["PolicyNames"]])
        whole = self.iam.list_user_policies(UserName=name)
        self.assertEqual(names, whole["PolicyNames"])
        self.assertFalse(whole["IsTruncated"])

    def test_list_role_policies_pages_with_marker(self):
        role = uniq("pagerole")
        self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}))
        for n in ("c", "a", "b"):
            self.iam.put_role_policy(RoleName=role, PolicyName=n,
                                     PolicyDocument=policy(allow("kms:Encrypt")))
        pages = list(self.iam.get_paginator("list_role_policies").paginate(
            RoleName=role, PaginationConfig={"PageSize": 1}))
        self.assertEqual([["a"], ["b"], ["c"]], [p["PolicyNames"] for p in pages])
        self.assertEqual([True, True, False], [p["IsTruncated"] for p in pages])

    def test_list_access_keys_pages_with_marker(self):
        name = uniq("pagekeys")
        self.iam.create_user(UserName=name)
        k1 = self.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        k2 = self.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        first = self.iam.list_access_keys(UserName=name, MaxItems=1)
        self.assertEqual(1, len(first["AccessKeyMetadata"]))
        self.assertTrue(first["IsTruncated"])
        second = self.iam.list_access_keys(UserName=name, MaxItems=1, Marker=first["Marker"])
        self.assertEqual(1, len(second["AccessKeyMetadata"]))
        self.assertFalse(second["IsTruncated"])
        got = [m["AccessKeyId"] for r in (first, second) for m in r["AccessKeyMetadata"]]
        self.assertEqual({k1, k2}, set(got))
        pages = list(self.iam.get_paginator("list_access_keys").paginate(
            UserName=name, PaginationConfig={"PageSize": 1}))
        self.assertEqual(got, [m["AccessKeyId"] for p in pages for m in p["AccessKeyMetadata"]])

    def test_list_users_pages_with_marker(self):
        path = f"/{uniq('pagepath')}/"
        names = sorted(uniq(f"u{i}") for i in range(3))
        for n in names:
            self.iam.create_user(UserName=n, Path=path)
        pages = list(self.iam.get_paginator("list_users").paginate(
            PathPrefix=path, PaginationConfig={"PageSize": 1}))
        self.assertEqual([[n] for n in names], [[u["UserName"] for u in p["Users"]]
                                                for p in pages])
        self.assertEqual([True, True, False], [p["IsTruncated"] for p in pages])
        # A marker is bound to its listing: another path prefix refuses it.
        marker = pages[0]["Marker"]
        self.assertIamError("ValidationError", self.iam.list_users, PathPrefix="/", Marker=marker)

    def test_bad_marker_and_max_items(self):
        name = uniq("badmarker")
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="a",
                                 PolicyDocument=policy(allow("kms:Encrypt")))
        self.iam.put_user_policy(UserName=name, PolicyName="b",
                                 PolicyDocument=policy(allow("kms:Encrypt")))
        for call in (lambda m: self.iam.list_user_policies(UserName=name, Marker=m),
                     lambda m: self.iam.list_access_keys(UserName=name, Marker=m),
                     lambda m: self.iam.list_users(Marker=m)):
            e = self.assertIamError("ValidationError", call, "not-a-marker")
            self.assertEqual("Invalid Marker.", e.response["Error"]["Message"])
            self.assertEqual(400, e.response["ResponseMetadata"]["HTTPStatusCode"])
        # A marker belongs to the list it came from.
        marker = self.iam.list_user_policies(UserName=name, MaxItems=1)["Marker"]
        self.assertIamError("ValidationError", self.iam.list_access_keys, UserName=name,
                            Marker=marker)
        for bad in (0, 1001):
            with self.subTest(max_items=bad):
                try:
                    self.iam.list_user_policies(UserName=name, MaxItems=bad)
                except botocore.exceptions.ClientError as e:
                    self.assertEqual("ValidationError", error_code(e), e.response)
                except botocore.exceptions.ParamValidationError:
                    pass  # botocore itself rejects MaxItems < 1
                else:
                    self.fail(f"MaxItems={bad} accepted")


# --------------------------------------------------------------------------------------
# STS
# --------------------------------------------------------------------------------------

class StsTest(IamTestBase):

    def make_role(self, trust_principal, actions=KEY_USER_ACTIONS):
        role = uniq("role")
        trust = policy({"Effect": "Allow", "Principal": {"AWS": trust_principal},
                        "Action": "sts:AssumeRole"})
        arn = self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=role, PolicyName="use",
                                 PolicyDocument=policy(allow(actions)))
        return role, arn

    def test_get_caller_identity_root_and_user(self):
        ident = self.sts.get_caller_identity()
        self.assertEqual(ACCT, ident["Account"])
        self.assertEqual(ROOT_ARN, ident["Arn"])
        self.assertEqual(ACCT, ident["UserId"])
        # A user with no IAM permission at all still learns its unique id (AIDA...).
        name, arn, _, _, sts_u, _ = self.make_user("whoami", ["kms:Encrypt"])
        ident = sts_u.get_caller_identity()
        self.assertEqual(ACCT, ident["Account"])
        self.assertEqual(arn, ident["Arn"])
        self.assertEqual(f"arn:aws:iam::{ACCT}:user/{name}", ident["Arn"])
        user_id = self.iam.get_user(UserName=name)["User"]["UserId"]
        self.assertRegex(user_id, r"^AIDA[A-Z2-7]{17}$")
        self.assertEqual(user_id, ident["UserId"])
        # An explicit Deny of everything changes nothing.
        self.iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=policy(
            {"Effect": "Deny", "Action": "*", "Resource": "*"}))
        self.assertEqual(user_id, sts_u.get_caller_identity()["UserId"])

    def test_get_caller_identity_of_a_role_session(self):
        role, role_arn = self.make_role(ROOT_ARN, actions=["kms:Encrypt"])
        _, _, _, _, usts, _ = self.make_user("sessid", statements=[
            allow("sts:AssumeRole", role_arn)])
        r = usts.assume_role(RoleArn=role_arn, RoleSessionName="who-am-i")
        cr = r["Credentials"]
        role_id = self.iam.get_role(RoleName=role)["Role"]["RoleId"]
        self.assertRegex(role_id, r"^AROA[A-Z2-7]{17}$")
        self.assertEqual(f"{role_id}:who-am-i", r["AssumedRoleUser"]["AssumedRoleId"])
        ident = sts_client(self.endpoint, cr["AccessKeyId"], cr["SecretAccessKey"],
                           cr["SessionToken"]).get_caller_identity()
        self.assertEqual(f"{role_id}:who-am-i", ident["UserId"])
        self.assertEqual(f"arn:aws:sts::{ACCT}:assumed-role/{role}/who-am-i", ident["Arn"])
        self.assertEqual(ACCT, ident["Account"])

    def test_assume_role_credentials_work_as_role_policy_allows(self):
        role, role_arn = self.make_role(ROOT_ARN)
        _, uarn, ukms, _, usts, _ = self.make_user("assumer", statements=[
            allow("sts:AssumeRole", role_arn)])
        kid = self.new_key()["KeyId"]
        self.assertDenied(ukms.encrypt, KeyId=kid, Plaintext=b"x", principal=uarn)

        r = usts.assume_role(RoleArn=role_arn, RoleSessionName="sess1")
        cr = r["Credentials"]
        self.assertTrue(cr["SessionToken"])
        self.assertEqual(f"arn:aws:sts::{ACCT}:assumed-role/{role}/sess1",
                         r["AssumedRoleUser"]["Arn"])
        left = (cr["Expiration"] - cr["Expiration"].__class__.now(cr["Expiration"].tzinfo))
        self.assertTrue(3500 <= left.total_seconds() <= 3700, left)

        ak, sk, tok = cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]
        ident = sts_client(self.endpoint, ak, sk, tok).get_caller_identity()
        self.assertEqual(f"arn:aws:sts::{ACCT}:assumed-role/{role}/sess1", ident["Arn"])
        self.assertEqual(ACCT, ident["Account"])

        rk = kms_client(self.endpoint, access_key=ak, secret_key=sk, session_token=tok)
        ct = rk.encrypt(KeyId=kid, Plaintext=b"role")["CiphertextBlob"]
        self.assertEqual(b"role", rk.decrypt(CiphertextBlob=ct)["Plaintext"])
        self.assertDenied(rk.disable_key, KeyId=kid, action="DisableKey",
                          principal=f"arn:aws:sts::{ACCT}:assumed-role/{role}/sess1")

    def test_session_token_is_checked_and_stored_only_as_its_sha256(self):
        role, role_arn = self.make_role(ROOT_ARN)
        _, _, _, _, usts, _ = self.make_user("tokenhash", statements=[
            allow("sts:AssumeRole", role_arn)])
        cr = usts.assume_role(RoleArn=role_arn, RoleSessionName="hashed")["Credentials"]
        ak, sk, tok = cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]
        kid = self.new_key()["KeyId"]
        kms_client(self.endpoint, access_key=ak, secret_key=sk,
                   session_token=tok).encrypt(KeyId=kid, Plaintext=b"x")

        digest = hashlib.sha256(tok.encode()).hexdigest()
        stored = self.server.query_store(
            "SELECT session_token FROM access_keys WHERE access_key_id = ?", (ak,))[0][0]
        self.assertEqual(digest, stored)
        self.assertNotIn(tok, stored)

        # Neither a wrong token, nor the digest itself, nor no token at all authenticates.
        flipped = ("B" if tok[0] == "A" else "A") + tok[1:]
        for bad in (flipped, tok + "A", digest, None):
            with self.subTest(token=bad and bad[:12]):
                k = kms_client(self.endpoint, access_key=ak, secret_key=sk, session_token=bad)
                self.assertClientError("UnrecognizedClientException", k.encrypt, KeyId=kid,
                                       Plaintext=b"x")
                s = sts_client(self.endpoint, ak, sk, bad)
                self.assertIamError("InvalidClientTokenId", s.get_caller_identity)

    def test_assume_role_requires_iam_permission(self):
        role, role_arn = self.make_role(ROOT_ARN)
        _, _, _, _, usts, _ = self.make_user("noperm", ["kms:*"])
        self.assertIamError("AccessDenied", usts.assume_role, RoleArn=role_arn,
                            RoleSessionName="sess")

    def test_trust_policy_naming_another_user_denies(self):
        _, other_arn, _, _, _, _ = self.make_user("trusted")
        role, role_arn = self.make_role(other_arn)
        _, _, _, _, usts, _ = self.make_user("untrusted", statements=[
            allow("sts:AssumeRole", role_arn)])
        self.assertIamError("AccessDenied", usts.assume_role, RoleArn=role_arn,
                            RoleSessionName="sess")

    def test_root_cannot_assume_role(self):
        role, role_arn = self.make_role(ROOT_ARN)
        self.assertIamError("AccessDenied", self.sts.assume_role, RoleArn=role_arn,
                            RoleSessionName="rootsess")


class SessionExpiryTest(IamTestBase):
    @classmethod
    def setUpClass(cls):
        ScytaleTestCase.setUpClass.__func__(cls)
        cls.clock_dir = tempfile.mkdtemp(prefix="scytale-e2e-iamclock-")
        cls.clock = os.path.join(cls.clock_dir, "clock")
        set_clock(cls.clock, 0)
        cls.server = cls.start_class_server(name="iam-clock",
                                            args=["--testing-clock-file", cls.clock])
        cls.endpoint = cls.server.endpoint
        cls.kms = cls.server.client()
        cls.iam = iam_client(cls.endpoint)
        cls.sts = sts_client(cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.clock_dir, ignore_errors=True)

    def test_session_expires(self):
        role = uniq("exp")
        trust = policy({"Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
                        "Action": "sts:AssumeRole"})
        role_arn = self.iam.create_role(RoleName=role,
                                        AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=role, PolicyName="use",
                                 PolicyDocument=policy(allow(KEY_USER_ACTIONS)))
        _, _, _, _, usts, _ = self.make_user("exp", statements=[allow("sts:AssumeRole", role_arn)])
        kid = self.new_key()["KeyId"]
        cr = usts.assume_role(RoleArn=role_arn, RoleSessionName="short",
                              DurationSeconds=900)["Credentials"]
        rk = kms_client(self.endpoint, access_key=cr["AccessKeyId"],
                        secret_key=cr["SecretAccessKey"], session_token=cr["SessionToken"])
        rk.encrypt(KeyId=kid, Plaintext=b"before")
        set_clock(self.clock, 1000)
        time.sleep(0.5)
        try:
            self.assertClientError("ExpiredTokenException", rk.encrypt, KeyId=kid,
                                   Plaintext=b"after")
        finally:
            set_clock(self.clock, 0)

    def test_duration_out_of_range(self):
        role = uniq("dur")
        trust = policy({"Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
                        "Action": "sts:AssumeRole"})
        role_arn = self.iam.create_role(RoleName=role,
                                        AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        _, _, _, _, usts, _ = self.make_user("dur", statements=[allow("sts:AssumeRole", role_arn)])
        for bad in (899, 3601):
            with self.subTest(duration=bad):
                try:
                    usts.assume_role(RoleArn=role_arn, RoleSessionName="sess", DurationSeconds=bad)
                except botocore.exceptions.ClientError as e:
                    self.assertIn(error_code(e), ("ValidationError", "ValidationException"),
                                  e.response)
                except botocore.exceptions.ParamValidationError:
                    pass  # botocore itself rejects < 900
                else:
                    self.fail(f"DurationSeconds={bad} accepted")


# --------------------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------------------

class CliTest(IamTestBase):

    def _run(self, cli):
        name = uniq("cliuser")
        r = run_aws(cli, self.server, ["create-user", "--user-name", name], service="iam")
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual(f"arn:aws:iam::{ACCT}:user/{name}", r.json["User"]["Arn"])
        r = run_aws(cli, self.server, ["create-access-key", "--user-name", name], service="iam")
        self.assertEqual(0, r.returncode, str(r))
        ak = r.json["AccessKey"]["AccessKeyId"]
        sk = r.json["AccessKey"]["SecretAccessKey"]
        r = run_aws(cli, self.server, ["get-caller-identity"], service="sts")
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual(ROOT_ARN, r.json["Arn"])
        r = run_aws(cli, self.server, ["get-caller-identity"], service="sts",
                    access_key=ak, secret_key=sk)
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual(f"arn:aws:iam::{ACCT}:user/{name}", r.json["Arn"])
        r = run_aws(cli, self.server, ["create-user", "--user-name", uniq("x")], service="iam",
                    access_key=ak, secret_key=sk)
        self.assertNotEqual(0, r.returncode, str(r))
        self.assertEqual("AccessDenied", r.error_code, str(r))
        r = run_aws(cli, self.server, ["update-access-key", "--user-name", name,
                                       "--access-key-id", ak, "--status", "Inactive"],
                    service="iam")
        self.assertEqual(0, r.returncode, str(r))
        r = run_aws(cli, self.server, ["get-caller-identity"], service="sts",
                    access_key=ak, secret_key=sk)
        self.assertNotEqual(0, r.returncode, str(r))
        self.assertEqual("InvalidClientTokenId", r.error_code, str(r))
        r = run_aws(cli, self.server, ["update-access-key", "--user-name", name,
                                       "--access-key-id", ak, "--status", "Active"],
                    service="iam")
        self.assertEqual(0, r.returncode, str(r))
        # The CLI follows IsTruncated/Marker across pages of one item each.
        for p in ("b", "a", "c"):
            r = run_aws(cli, self.server, ["put-user-policy", "--user-name", name, "--policy-name",
                                           p, "--policy-document", policy(allow("kms:Encrypt"))],
                        service="iam")
            self.assertEqual(0, r.returncode, str(r))
        r = run_aws(cli, self.server, ["list-user-policies", "--user-name", name,
                                       "--page-size", "1"], service="iam")
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual(["a", "b", "c"], r.json["PolicyNames"])

    def test_cli_v1(self):
        cli = harness.aws_cli_v1_path()
        if not cli:
            self.skipTest("AWS CLI v1 not found")
        self._run(cli)

    def test_cli_v2(self):
        cli = harness.aws_cli_v2_path()
        if not cli:
            if os.environ.get("CI"):
                self.fail("AWS CLI v2 missing at /usr/bin/aws")
            self.skipTest("AWS CLI v2 not at /usr/bin/aws")
        self._run(cli)


if __name__ == "__main__":
    unittest.main()
