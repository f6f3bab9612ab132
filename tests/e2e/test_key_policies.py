"""Key policies end to end: GetKeyPolicy / PutKeyPolicy / ListKeyPolicies and the policy
enforced on every operation on a key, through boto3 1.43, raw signed requests (exact __type and
message), the AWS CLI v1 and the AWS CLI v2.

The caller is always the account root (arn:aws:iam::111122223333:root), the only principal so
far. The default key policy allows it; a key policy that does not (put with
BypassPolicyLockoutSafetyCheck) locks even the root out, as in AWS.

What is covered:
- the default policy (AWS's document, Id key-default-1, name "default"), ListKeyPolicies,
  PolicyName other than "default", policies stored and returned verbatim;
- CreateKey / PutKeyPolicy with malformed documents (MalformedPolicyDocumentException), the
  32 KB quota (LimitExceededException), the model's 131072-character limit;
- the lockout safety check (exact message) and BypassPolicyLockoutSafetyCheck;
- a locked-out key: every operation on it is AccessDeniedException with AWS's message, while
  ListKeys/ListAliases still answer; DescribeKey when the policy allows just that;
- explicit Deny (Decrypt; ReEncryptFrom / ReEncryptTo);
- condition keys: kms:EncryptionContext:<key>, kms:EncryptionContextKeys, kms:RequestAlias,
  aws:ResourceTag/<key>, kms:CallerAccount, kms:ViaService (never present), aws:SecureTransport
  (false over plain HTTP, as these servers serve; HTTPS is in test_tls.py);
- key-user-only and key-administrator-only policies (the console's statements);
- a policy change takes effect on the next request, and survives a restart;
- the AWS CLI v1 and v2: put-key-policy --policy file://..., get-key-policy --output text,
  the lockout error and an AccessDeniedException as the CLIs print them.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import shutil
import tempfile
import unittest
import uuid
from typing import Any, Callable, Optional

import botocore.exceptions

from harness import (DEFAULT_ACCOUNT, KEY_ADMIN_ACTIONS, KEY_USER_ACTIONS, AwsCliMixin,
                     ScytaleTestCase, list_all_keys, signed_request)

ROOT = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
OTHER_ROOT = "arn:aws:iam::444455556666:root"
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
QUOTA_MESSAGE = "The key policy is larger than the quota of 32 KB."

DEFAULT_POLICY = {
    "Version": "2012-10-17",
    "Id": "key-default-1",
    "Statement": [{
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }],
}


# ---- policy documents ------------------------------------------------------------------

def stmt(effect: str, actions, condition: Optional[dict] = None, principal: str = ROOT,
         resource: str = "*") -> dict:
    s: dict[str, Any] = {"Effect": effect,
                         "Principal": "*" if principal == "*" else {"AWS": principal},
                         "Action": actions, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def allow(actions, condition: Optional[dict] = None, principal: str = ROOT) -> dict:
    return stmt("Allow", actions, condition, principal)


def deny(actions, condition: Optional[dict] = None, principal: str = ROOT) -> dict:
    return stmt("Deny", actions, condition, principal)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def manage() -> dict:
    """Keeps the key manageable (the lockout check passes) without any cryptographic action."""
    return allow(["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:CreateAlias",
                  "kms:TagResource", "kms:UntagResource"])


def denied(action: str, arn: str) -> str:
    return (f"User: {ROOT} is not authorized to perform: {action} on resource: {arn} "
            f"because no resource-based policy allows the {action} action")


def explicitly_denied(action: str, arn: str) -> str:
    return (f"User: {ROOT} is not authorized to perform: {action} on resource: {arn} "
            f"with an explicit deny in a resource-based policy")


def padded(doc: str, size: int) -> str:
    assert doc.endswith("}") and len(doc) <= size
    return doc[:-1] + " " * (size - len(doc)) + "}"


def unique_alias(prefix: str = "alias/kp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class PolicyAssertions:
    kms: Any

    def assertDenied(self, action: str, arn: str, fn: Callable, *args, explicit: bool = False,
                     **kwargs):
        e = self.assertClientError("AccessDeniedException", fn, *args, **kwargs)
        expected = explicitly_denied(action, arn) if explicit else denied(action, arn)
        self.assertEqual(expected, e.response["Error"]["Message"])
        return e

    def assertMalformed(self, fn: Callable, *args, message: Optional[str] = None, **kwargs):
        e = self.assertClientError("MalformedPolicyDocumentException", fn, *args, **kwargs)
        if message is not None:
            self.assertEqual(message, e.response["Error"]["Message"])
        return e

    def new_key(self, **kwargs) -> dict:
        return self.kms.create_key(**kwargs)["KeyMetadata"]

    def put(self, key_id: str, doc: str, bypass: bool = False) -> None:
        kw: dict[str, Any] = {"KeyId": key_id, "Policy": doc}
        if bypass:
            kw["BypassPolicyLockoutSafetyCheck"] = True
        self.kms.put_key_policy(**kw)

    def encrypt(self, key_id: str, context: Optional[dict] = None, **kw) -> dict:
        if context is not None:
            kw["EncryptionContext"] = context
        return self.kms.encrypt(KeyId=key_id, Plaintext=b"policy test", **kw)

    def blob(self, key_id: str, context: Optional[dict] = None) -> bytes:
        return self.encrypt(key_id, context)["CiphertextBlob"]


# --------------------------------------------------------------------------------------
# boto3 and raw requests
# --------------------------------------------------------------------------------------

class KeyPoliciesTest(PolicyAssertions, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="key-policies")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()

    # -- GetKeyPolicy / ListKeyPolicies / PutKeyPolicy ----------------------------------

    def test_default_policy(self):
        md = self.new_key()
        for kw in ({}, {"PolicyName": "default"}):
            for key_id in (md["KeyId"], md["Arn"]):
                out = self.kms.get_key_policy(KeyId=key_id, **kw)
                self.assertEqual("default", out["PolicyName"])
                self.assertEqual(DEFAULT_POLICY, json.loads(out["Policy"]), out["Policy"])
        listed = self.kms.list_key_policies(KeyId=md["KeyId"])
        self.assertEqual(["default"], listed["PolicyNames"])
        self.assertFalse(listed["Truncated"])
        self.assertNotIn("NextMarker", listed)
        self.assertClientError("NotFoundException", self.kms.get_key_policy, KeyId=md["KeyId"],
                               PolicyName="other")
        self.assertClientError("NotFoundException", self.kms.put_key_policy, KeyId=md["KeyId"],
                               PolicyName="other", Policy=policy(allow("kms:*")))
        # Key policy operations take a key id or key ARN, not an alias.
        alias = unique_alias()
        self.kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
        self.assertClientError("NotFoundException", self.kms.get_key_policy, KeyId=alias)
        # Raw: GetKeyPolicy's output members.
        r = signed_request(self.server, "GetKeyPolicy", {"KeyId": md["KeyId"]})
        self.assertEqual(200, r.status, str(r))
        self.assertEqual({"Policy", "PolicyName"}, set(r.json), r.json)

    def test_policy_stored_verbatim(self):
        doc = ('{\n  "Version" : "2012-10-17",\n  "Id" : "mine",\n  "Statement" : [ {\n'
               '    "Sid" : "Root may do anything",\n    "Effect" : "Allow",\n'
               f'    "Principal" : {{ "AWS" : "{ROOT}" }},\n'
               '    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}')
        md = self.new_key(Policy=doc)
        self.assertEqual(doc, self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"])
        other = self.new_key()
        self.kms.put_key_policy(KeyId=other["Arn"], PolicyName="default", Policy=doc)
        out = self.kms.get_key_policy(KeyId=other["KeyId"], PolicyName="default")
        self.assertEqual((doc, "default"), (out["Policy"], out["PolicyName"]))
        self.encrypt(other["KeyId"])

    def test_malformed_policies(self):
        md = self.new_key()
        ok = allow("kms:*")
        cases = {
            "not JSON": "{not json",
            "array": "[" + policy(ok) + "]",
            "no Statement": '{"Version":"2012-10-17"}',
            "empty Statement": '{"Version":"2012-10-17","Statement":[]}',
            "bad Version": json.dumps({"Version": "2013-01-01", "Statement": [ok]}),
            "unknown element": json.dumps({"Version": "2012-10-17", "Foo": 1, "Statement": [ok]}),
            "bad Effect": policy(stmt("Permit", "kms:*")),
            "no Principal": policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
            "invalid principal": policy(stmt("Allow", "kms:*", principal="bob")),
            "action without vendor": policy(allow("Encrypt")),
            "unknown operator": policy(allow("kms:*", {"StringEqualz": {"kms:CallerAccount": "1"}})),
        }
        keys_before = len(list_all_keys(self.kms))
        for what, doc in cases.items():
            with self.subTest(what):
                self.assertMalformed(self.kms.create_key, Policy=doc)
                self.assertMalformed(self.kms.put_key_policy, KeyId=md["KeyId"], Policy=doc)
                self.assertMalformed(self.kms.put_key_policy, KeyId=md["KeyId"], Policy=doc,
                                     BypassPolicyLockoutSafetyCheck=True)
        self.assertEqual(keys_before, len(list_all_keys(self.kms)))
        self.assertEqual(DEFAULT_POLICY, json.loads(self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"]))
        r = signed_request(self.server, "PutKeyPolicy", {"KeyId": md["KeyId"], "Policy": "{not json"})
        self.assertRawError(r, "MalformedPolicyDocumentException")
        self.assertEqual("MalformedPolicyDocumentException", r.json["__type"])

    def test_size_quota(self):
        md = self.new_key()
        base = policy(allow("kms:*"))
        at_quota, over_quota = padded(base, 32768), padded(base, 32769)
        e = self.assertClientError("LimitExceededException", self.kms.put_key_policy,
                                   KeyId=md["KeyId"], Policy=over_quota)
        self.assertEqual(QUOTA_MESSAGE, e.response["Error"]["Message"])
        self.assertClientError("LimitExceededException", self.kms.create_key, Policy=over_quota)
        self.assertClientError("LimitExceededException", self.kms.put_key_policy,
                               KeyId=md["KeyId"], Policy=padded(base, 131072))
        # Beyond the model's 131072 characters the request itself is invalid.
        self.assertClientError("ValidationException", self.kms.put_key_policy,
                               KeyId=md["KeyId"], Policy=padded(base, 131073))
        r = signed_request(self.server, "PutKeyPolicy", {"KeyId": md["KeyId"], "Policy": over_quota})
        self.assertRawError(r, "LimitExceededException")
        self.assertEqual({"__type": "LimitExceededException", "message": QUOTA_MESSAGE}, r.json)

        self.kms.put_key_policy(KeyId=md["KeyId"], Policy=at_quota)
        self.assertEqual(at_quota, self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"])
        created = self.new_key(Policy=at_quota)
        self.assertEqual(at_quota, self.kms.get_key_policy(KeyId=created["KeyId"])["Policy"])

    # -- lockout safety check -----------------------------------------------------------

    def test_lockout_safety_check(self):
        md = self.new_key()
        lockouts = {
            "key user actions only": policy(allow(KEY_USER_ACTIONS)),
            "another account only": policy(stmt("Allow", "kms:*", principal=OTHER_ROOT)),
            "PutKeyPolicy denied": policy(allow("kms:*"), deny("kms:PutKeyPolicy")),
            "only over TLS": policy(allow("kms:*", {"Bool": {"aws:SecureTransport": "true"}})),
        }
        keys_before = len(list_all_keys(self.kms))
        for what, doc in lockouts.items():
            with self.subTest(what):
                self.assertMalformed(self.kms.put_key_policy, KeyId=md["KeyId"], Policy=doc,
                                     message=LOCKOUT_MESSAGE)
                self.assertMalformed(self.kms.create_key, Policy=doc, message=LOCKOUT_MESSAGE)
                self.assertMalformed(self.kms.create_key, Policy=doc, message=LOCKOUT_MESSAGE,
                                     BypassPolicyLockoutSafetyCheck=False)
        self.assertEqual(keys_before, len(list_all_keys(self.kms)))
        self.assertEqual(DEFAULT_POLICY, json.loads(self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"]))
        r = signed_request(self.server, "PutKeyPolicy",
                           {"KeyId": md["KeyId"], "Policy": lockouts["another account only"]})
        self.assertRawError(r, "MalformedPolicyDocumentException")
        self.assertEqual({"__type": "MalformedPolicyDocumentException", "message": LOCKOUT_MESSAGE},
                         r.json)

        # Policies that keep the root's kms:PutKeyPolicy pass.
        for doc in (policy(allow("kms:PutKeyPolicy")), policy(allow("kms:*", principal="*")),
                    policy(stmt("Allow", "kms:*", principal=DEFAULT_ACCOUNT)),
                    policy(allow(KEY_ADMIN_ACTIONS))):
            with self.subTest(doc):
                self.new_key(Policy=doc)
                self.kms.put_key_policy(KeyId=md["KeyId"], Policy=doc)
        # Bypassed: taken as given.
        doc = lockouts["another account only"]
        created = self.new_key(Policy=doc, BypassPolicyLockoutSafetyCheck=True)
        self.assertDenied("kms:GetKeyPolicy", created["Arn"], self.kms.get_key_policy,
                          KeyId=created["KeyId"])
        self.kms.put_key_policy(KeyId=md["KeyId"], Policy=doc, BypassPolicyLockoutSafetyCheck=True)
        self.assertDenied("kms:GetKeyPolicy", md["Arn"], self.kms.get_key_policy, KeyId=md["KeyId"])

    def test_lockout_check_sees_the_keys_own_condition_keys(self):
        # A policy allowing kms:* only for ENCRYPT_DECRYPT keys lets the root call PutKeyPolicy
        # on this key (the real call below proves it), so the lockout check must accept it.
        md = self.new_key()
        doc = policy(allow("kms:*", {"StringEquals": {"kms:KeyUsage": "ENCRYPT_DECRYPT"}}))
        self.put(md["KeyId"], doc, bypass=True)
        self.put(md["KeyId"], doc, bypass=True)  # authorized by `doc` itself
        try:
            self.put(md["KeyId"], doc)
        except botocore.exceptions.ClientError as e:
            self.fail("PutKeyPolicy (no bypass) of a policy that allows the root kms:* when "
                      "kms:KeyUsage is ENCRYPT_DECRYPT, on an ENCRYPT_DECRYPT key: expected "
                      f"success, got {e.response['Error']}")

    # -- a locked-out key ----------------------------------------------------------------

    def test_locked_out_key_denies_every_operation(self):
        kms = self.kms
        md, other = self.new_key(Tags=[{"TagKey": "env", "TagValue": "prod"}]), self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        blob, other_blob = self.blob(key), self.blob(other["KeyId"])
        locked_alias, free_alias = unique_alias(), unique_alias()
        kms.create_alias(AliasName=locked_alias, TargetKeyId=key)
        kms.create_alias(AliasName=free_alias, TargetKeyId=other["KeyId"])
        lockout = policy(stmt("Allow", "kms:*", principal=OTHER_ROOT))
        kms.put_key_policy(KeyId=key, Policy=lockout, BypassPolicyLockoutSafetyCheck=True)

        # The exact AWS error, on the wire.
        r = signed_request(self.server, "Encrypt",
                           {"KeyId": key, "Plaintext": base64.b64encode(b"x").decode()})
        self.assertRawError(r, "AccessDeniedException", status=400)
        self.assertEqual({"__type": "AccessDeniedException",
                          "message": f"User: arn:aws:iam::111122223333:root is not authorized to "
                                     f"perform: kms:Encrypt on resource: {arn} because no "
                                     f"resource-based policy allows the kms:Encrypt action"},
                         r.json)

        calls = [
            ("kms:Encrypt", lambda: self.encrypt(key)),
            ("kms:Encrypt", lambda: self.encrypt(locked_alias)),
            ("kms:DescribeKey", lambda: kms.describe_key(KeyId=key)),
            ("kms:DescribeKey", lambda: kms.describe_key(KeyId=locked_alias)),
            ("kms:Decrypt", lambda: kms.decrypt(CiphertextBlob=blob)),
            ("kms:ReEncryptFrom", lambda: kms.re_encrypt(CiphertextBlob=blob,
                                                         DestinationKeyId=other["KeyId"])),
            ("kms:ReEncryptTo", lambda: kms.re_encrypt(CiphertextBlob=other_blob,
                                                       DestinationKeyId=key)),
            ("kms:GenerateDataKey", lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256")),
            ("kms:GenerateDataKeyWithoutPlaintext",
             lambda: kms.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=32)),
            ("kms:EnableKey", lambda: kms.enable_key(KeyId=key)),
            ("kms:DisableKey", lambda: kms.disable_key(KeyId=key)),
            ("kms:ScheduleKeyDeletion", lambda: kms.schedule_key_deletion(KeyId=key,
                                                                          PendingWindowInDays=7)),
            ("kms:CancelKeyDeletion", lambda: kms.cancel_key_deletion(KeyId=key)),
            ("kms:UpdateKeyDescription", lambda: kms.update_key_description(KeyId=key,
                                                                            Description="x")),
            ("kms:TagResource", lambda: kms.tag_resource(
                KeyId=key, Tags=[{"TagKey": "a", "TagValue": "b"}])),
            ("kms:UntagResource", lambda: kms.untag_resource(KeyId=key, TagKeys=["env"])),
            ("kms:ListResourceTags", lambda: kms.list_resource_tags(KeyId=key)),
            ("kms:CreateAlias", lambda: kms.create_alias(AliasName=unique_alias(), TargetKeyId=key)),
            ("kms:UpdateAlias", lambda: kms.update_alias(AliasName=free_alias, TargetKeyId=key)),
            ("kms:UpdateAlias", lambda: kms.update_alias(AliasName=locked_alias,
                                                         TargetKeyId=other["KeyId"])),
            ("kms:DeleteAlias", lambda: kms.delete_alias(AliasName=locked_alias)),
            ("kms:PutKeyPolicy", lambda: kms.put_key_policy(KeyId=key, Policy=policy(allow("kms:*")))),
            ("kms:PutKeyPolicy", lambda: kms.put_key_policy(KeyId=key, Policy=policy(allow("kms:*")),
                                                            BypassPolicyLockoutSafetyCheck=True)),
            ("kms:GetKeyPolicy", lambda: kms.get_key_policy(KeyId=key)),
            ("kms:ListKeyPolicies", lambda: kms.list_key_policies(KeyId=key)),
            ("kms:EnableKeyRotation", lambda: kms.enable_key_rotation(KeyId=key)),
            ("kms:DisableKeyRotation", lambda: kms.disable_key_rotation(KeyId=key)),
            ("kms:GetKeyRotationStatus", lambda: kms.get_key_rotation_status(KeyId=key)),
            ("kms:RotateKeyOnDemand", lambda: kms.rotate_key_on_demand(KeyId=key)),
            ("kms:ListKeyRotations", lambda: kms.list_key_rotations(KeyId=key)),
        ]
        for action, call in calls:
            with self.subTest(action):
                self.assertDenied(action, arn, call)

        # ListKeys and ListAliases are IAM permissions: still answered. The other key works.
        self.assertIn(key, [k["KeyId"] for k in list_all_keys(kms)])
        aliases = {a["AliasName"]: a.get("TargetKeyId")
                   for a in kms.list_aliases(Limit=100)["Aliases"]}
        self.assertEqual(key, aliases.get(locked_alias))
        self.assertEqual(other["KeyId"], aliases.get(free_alias))
        self.assertEqual(b"policy test", kms.decrypt(CiphertextBlob=other_blob)["Plaintext"])

    def test_locked_out_key_that_allows_describe(self):
        md = self.new_key(Policy=policy(allow("kms:DescribeKey")), BypassPolicyLockoutSafetyCheck=True)
        got = self.kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
        self.assertEqual((md["Arn"], "Enabled"), (got["Arn"], got["KeyState"]))
        self.assertDenied("kms:Encrypt", md["Arn"], self.encrypt, md["KeyId"])
        self.assertDenied("kms:GetKeyPolicy", md["Arn"], self.kms.get_key_policy, KeyId=md["KeyId"])
        self.assertDenied("kms:DisableKey", md["Arn"], self.kms.disable_key, KeyId=md["KeyId"])

    # -- explicit Deny -------------------------------------------------------------------

    def test_explicit_deny_of_decrypt(self):
        md, other = self.new_key(), self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        blob, other_blob = self.blob(key), self.blob(other["KeyId"])
        self.put(key, policy(allow("kms:*"), deny("kms:Decrypt")))
        self.assertDenied("kms:Decrypt", arn, self.kms.decrypt, CiphertextBlob=blob, explicit=True)
        r = signed_request(self.server, "Decrypt", {"CiphertextBlob": base64.b64encode(blob).decode()})
        self.assertRawError(r, "AccessDeniedException")
        self.assertEqual({"__type": "AccessDeniedException",
                          "message": explicitly_denied("kms:Decrypt", arn)}, r.json)
        self.encrypt(key)
        self.kms.generate_data_key(KeyId=key, KeySpec="AES_128")
        # ReEncrypt needs kms:ReEncryptFrom, not kms:Decrypt.
        self.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other["KeyId"])

        self.put(key, policy(allow("kms:*"), deny(["kms:Decrypt", "kms:ReEncryptFrom"])))
        self.assertDenied("kms:ReEncryptFrom", arn, self.kms.re_encrypt, CiphertextBlob=blob,
                          DestinationKeyId=other["KeyId"], explicit=True)
        out = self.kms.re_encrypt(CiphertextBlob=other_blob, DestinationKeyId=key)
        self.assertEqual((arn, other["Arn"]), (out["KeyId"], out["SourceKeyId"]))
        self.assertDenied("kms:Decrypt", arn, self.kms.decrypt, CiphertextBlob=out["CiphertextBlob"],
                          explicit=True)

        self.put(key, policy(allow("kms:*"), deny("kms:ReEncrypt*")))
        self.assertDenied("kms:ReEncryptTo", arn, self.kms.re_encrypt, CiphertextBlob=other_blob,
                          DestinationKeyId=key, explicit=True)
        self.assertEqual(b"policy test", self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    # -- condition keys ------------------------------------------------------------------

    def test_encryption_context_condition(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        other_blob = self.blob(key, {"purpose": "other"})
        self.put(key, policy(manage(), allow(
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            {"StringEquals": {"kms:EncryptionContext:purpose": "billing"}})))
        ok_blob = self.blob(key, {"purpose": "billing"})
        self.encrypt(key, {"purpose": "billing", "team": "a"})
        for ctx in ({"purpose": "other"}, {"purpose": "Billing"}, {"team": "billing"}, None):
            with self.subTest(ctx):
                self.assertDenied("kms:Encrypt", arn, self.encrypt, key, ctx)
        self.assertEqual(b"policy test", self.kms.decrypt(
            CiphertextBlob=ok_blob, EncryptionContext={"purpose": "billing"})["Plaintext"])
        self.assertDenied("kms:Decrypt", arn, self.kms.decrypt, CiphertextBlob=other_blob,
                          EncryptionContext={"purpose": "other"})
        self.kms.generate_data_key(KeyId=key, KeySpec="AES_256",
                                   EncryptionContext={"purpose": "billing"})
        self.kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256",
                                                     EncryptionContext={"purpose": "billing"})
        self.assertDenied("kms:GenerateDataKey", arn, self.kms.generate_data_key, KeyId=key,
                          KeySpec="AES_256")
        self.assertDenied("kms:GenerateDataKeyWithoutPlaintext", arn,
                          self.kms.generate_data_key_without_plaintext, KeyId=key,
                          KeySpec="AES_256", EncryptionContext={"purpose": "x"})

    def test_encryption_context_keys_condition(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        self.put(key, policy(manage(), allow("kms:Encrypt", {
            "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "purpose"}})))
        self.encrypt(key, {"purpose": "x", "team": "y"})
        for ctx in ({"team": "y"}, {"Purpose": "x"}, None):
            with self.subTest(ctx):
                self.assertDenied("kms:Encrypt", arn, self.encrypt, key, ctx)
        self.put(key, policy(manage(), allow("kms:Encrypt", {
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["purpose", "team"]}})))
        self.encrypt(key, {"purpose": "x", "team": "y"})
        self.encrypt(key)  # ForAllValues over no keys: true, as in AWS
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key, {"purpose": "x", "other": "z"})

    def test_request_alias_condition(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        app, other = unique_alias("alias/app"), unique_alias("alias/other")
        self.kms.create_alias(AliasName=app, TargetKeyId=key)
        self.kms.create_alias(AliasName=other, TargetKeyId=key)
        blob = self.blob(key)
        self.put(key, policy(manage(), allow(["kms:Encrypt", "kms:Decrypt"],
                                             {"StringEquals": {"kms:RequestAlias": app}})))
        self.encrypt(app)
        self.encrypt(f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:{app}")
        for key_id in (key, arn, other):
            with self.subTest(key_id):
                self.assertDenied("kms:Encrypt", arn, self.encrypt, key_id)
        self.assertEqual(b"policy test", self.kms.decrypt(CiphertextBlob=blob, KeyId=app)["Plaintext"])
        self.assertDenied("kms:Decrypt", arn, self.kms.decrypt, CiphertextBlob=blob)

    def test_request_alias_condition_on_describe_key(self):
        # AWS: kms:RequestAlias controls "cryptographic operations, DescribeKey and GetPublicKey".
        md = self.new_key()
        app = unique_alias("alias/app")
        self.kms.create_alias(AliasName=app, TargetKeyId=md["KeyId"])
        self.put(md["KeyId"], policy(allow("kms:PutKeyPolicy"), allow(
            "kms:DescribeKey", {"StringEquals": {"kms:RequestAlias": app}})))
        try:
            got = self.kms.describe_key(KeyId=app)["KeyMetadata"]
        except botocore.exceptions.ClientError as e:
            self.fail(f"DescribeKey(KeyId={app!r}) under a policy allowing kms:DescribeKey when "
                      f"kms:RequestAlias is {app!r}: expected success, got {e.response['Error']}")
        self.assertEqual(md["Arn"], got["Arn"])
        self.assertDenied("kms:DescribeKey", md["Arn"], self.kms.describe_key, KeyId=md["KeyId"])

    def test_resource_tag_condition(self):
        md = self.new_key(
            Tags=[{"TagKey": "env", "TagValue": "prod"}],
            Policy=policy(manage(), allow("kms:Encrypt",
                                          {"StringEquals": {"aws:ResourceTag/env": "prod"}})))
        key, arn = md["KeyId"], md["Arn"]
        self.encrypt(key)
        self.kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "dev"}])
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key)
        self.kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])
        self.encrypt(key)
        self.kms.untag_resource(KeyId=key, TagKeys=["env"])
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key)

    def test_caller_account_condition(self):
        mine = self.new_key(Policy=policy(allow(
            "kms:*", {"StringEquals": {"kms:CallerAccount": DEFAULT_ACCOUNT}}, principal="*")))
        self.encrypt(mine["KeyId"])
        theirs_doc = policy(allow("kms:*", {"StringEquals": {"kms:CallerAccount": "444455556666"}},
                                  principal="*"))
        self.assertMalformed(self.kms.create_key, Policy=theirs_doc, message=LOCKOUT_MESSAGE)
        theirs = self.new_key(Policy=theirs_doc, BypassPolicyLockoutSafetyCheck=True)
        self.assertDenied("kms:Encrypt", theirs["Arn"], self.encrypt, theirs["KeyId"])

    def test_via_service_is_never_present(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        self.put(key, policy(manage(), allow("kms:Encrypt", {
            "StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}})))
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key)
        self.put(key, policy(manage(), allow("kms:Encrypt", {"Null": {"kms:ViaService": "true"}})))
        self.encrypt(key)
        self.put(key, policy(allow("kms:*"), deny("kms:Encrypt", {
            "StringLike": {"kms:ViaService": "*.amazonaws.com"}})))
        self.encrypt(key)

    def test_secure_transport_is_false(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        self.put(key, policy(manage(), allow("kms:Encrypt", {"Bool": {"aws:SecureTransport": "true"}})))
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key)
        self.put(key, policy(manage(), allow("kms:Encrypt", {"Bool": {"aws:SecureTransport": "false"}})))
        self.encrypt(key)
        deny_http = policy(allow("kms:*"), deny("kms:*", {"Bool": {"aws:SecureTransport": "false"}},
                                                principal="*"))
        self.assertMalformed(self.kms.put_key_policy, KeyId=key, Policy=deny_http,
                             message=LOCKOUT_MESSAGE)
        self.put(key, deny_http, bypass=True)
        self.assertDenied("kms:Encrypt", arn, self.encrypt, key, explicit=True)
        self.assertDenied("kms:DescribeKey", arn, self.kms.describe_key, KeyId=key, explicit=True)

    # -- key users and key administrators --------------------------------------------------

    def test_key_user_policy_denies_management(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        users = policy(allow(KEY_USER_ACTIONS))
        self.assertMalformed(self.kms.put_key_policy, KeyId=key, Policy=users, message=LOCKOUT_MESSAGE)
        self.put(key, users, bypass=True)
        blob = self.blob(key)
        self.kms.decrypt(CiphertextBlob=blob)
        self.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key)
        self.kms.generate_data_key(KeyId=key, KeySpec="AES_256")
        self.kms.describe_key(KeyId=key)
        kms = self.kms
        for action, call in [
            ("kms:DisableKey", lambda: kms.disable_key(KeyId=key)),
            ("kms:TagResource", lambda: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "b"}])),
            ("kms:ScheduleKeyDeletion", lambda: kms.schedule_key_deletion(KeyId=key)),
            ("kms:CreateAlias", lambda: kms.create_alias(AliasName=unique_alias(), TargetKeyId=key)),
            ("kms:EnableKeyRotation", lambda: kms.enable_key_rotation(KeyId=key)),
            ("kms:GetKeyPolicy", lambda: kms.get_key_policy(KeyId=key)),
            ("kms:PutKeyPolicy", lambda: kms.put_key_policy(KeyId=key, Policy=policy(allow("kms:*")))),
        ]:
            with self.subTest(action):
                self.assertDenied(action, arn, call)
        got = kms.describe_key(KeyId=key)["KeyMetadata"]
        self.assertEqual("Enabled", got["KeyState"])

    def test_key_admin_policy_allows_management_but_not_use(self):
        kms = self.kms
        md, other = self.new_key(), self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        blob = self.blob(key)
        self.put(key, policy(allow(KEY_ADMIN_ACTIONS)))  # passes the lockout check (kms:Put*)
        alias = unique_alias()
        kms.describe_key(KeyId=key)
        kms.update_key_description(KeyId=key, Description="administered")
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])
        kms.list_resource_tags(KeyId=key)
        kms.untag_resource(KeyId=key, TagKeys=["env"])
        kms.create_alias(AliasName=alias, TargetKeyId=key)
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
        kms.get_key_rotation_status(KeyId=key)
        kms.list_key_rotations(KeyId=key)
        kms.disable_key_rotation(KeyId=key)
        kms.disable_key(KeyId=key)
        kms.enable_key(KeyId=key)
        kms.get_key_policy(KeyId=key)
        kms.list_key_policies(KeyId=key)
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        kms.cancel_key_deletion(KeyId=key)
        kms.enable_key(KeyId=key)
        kms.delete_alias(AliasName=alias)
        self.assertEqual("administered", kms.describe_key(KeyId=key)["KeyMetadata"]["Description"])
        for action, call in [
            ("kms:Encrypt", lambda: self.encrypt(key)),
            ("kms:Decrypt", lambda: kms.decrypt(CiphertextBlob=blob)),
            ("kms:GenerateDataKey", lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256")),
            ("kms:GenerateDataKeyWithoutPlaintext",
             lambda: kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")),
            ("kms:ReEncryptFrom", lambda: kms.re_encrypt(CiphertextBlob=blob,
                                                         DestinationKeyId=other["KeyId"])),
            ("kms:RotateKeyOnDemand", lambda: kms.rotate_key_on_demand(KeyId=key)),
        ]:
            with self.subTest(action):
                self.assertDenied(action, arn, call)
        self.put(key, policy(allow(KEY_ADMIN_ACTIONS), allow(KEY_USER_ACTIONS)))
        self.assertEqual(b"policy test", kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    # -- policy changes --------------------------------------------------------------------

    def test_policy_change_takes_effect_immediately(self):
        md, other = self.new_key(), self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        deny_encrypt = policy(allow("kms:*"), deny("kms:Encrypt"))
        for _ in range(3):
            self.encrypt(key)
            self.put(key, deny_encrypt)
            self.assertDenied("kms:Encrypt", arn, self.encrypt, key, explicit=True)
            self.encrypt(other["KeyId"])
            self.kms.update_key_description(KeyId=key, Description="still denied")
            self.assertDenied("kms:Encrypt", arn, self.encrypt, key, explicit=True)
            self.put(key, policy(allow("kms:*")))
        self.encrypt(key)

    def test_policy_survives_restart(self):
        server = self.start_server(name="key-policies-restart")
        kms = server.client()
        md = kms.create_key()["KeyMetadata"]
        doc = policy(allow("kms:*"), deny("kms:Encrypt"))
        kms.put_key_policy(KeyId=md["KeyId"], Policy=doc)
        server.stop()
        server.start()
        kms = server.client()
        self.assertEqual(doc, kms.get_key_policy(KeyId=md["KeyId"])["Policy"])
        e = self.assertClientError("AccessDeniedException", kms.encrypt, KeyId=md["KeyId"],
                                   Plaintext=b"x")
        self.assertEqual(explicitly_denied("kms:Encrypt", md["Arn"]), e.response["Error"]["Message"])


# --------------------------------------------------------------------------------------
# AWS CLI v1 and v2
# --------------------------------------------------------------------------------------

class CliKeyPoliciesMixin(AwsCliMixin, PolicyAssertions):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name=f"key-policies-cli-v{cls.expect_major}")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()
        self.tmp = tempfile.mkdtemp(prefix="scytale-kp-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def policy_file(self, doc: str) -> str:
        path = os.path.join(self.tmp, f"policy-{uuid.uuid4().hex[:8]}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(doc)
        return "file://" + path

    def policy_text(self, stdout: str) -> str:
        """The Policy column of `get-key-policy --output text`: the document as stored. CLI v1
        (botocore 1.43) also knows the PolicyName output member and prints it as a second
        column; CLI v2 2.9's model has only Policy."""
        out = stdout[:-1] if stdout.endswith("\n") else stdout
        suffix = "\tdefault"
        if self.expect_major == "1":
            self.assertTrue(out.endswith(suffix), repr(stdout[-200:]))
            return out[:-len(suffix)]
        return out

    def test_put_and_get_key_policy(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        doc = json.dumps({"Version": "2012-10-17", "Id": "cli", "Statement": [
            allow("kms:*"), deny("kms:Decrypt")]}, indent=2)

        def get_default():
            return self.aws("get-key-policy", "--key-id", key, "--policy-name", "default",
                            output="text")

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            default_f = pool.submit(get_default)
            listed_f = pool.submit(self.aws, "list-key-policies", "--key-id", key)
            default, listed = default_f.result(), listed_f.result()
        self.assertEqual(0, default.returncode, default.stderr)
        self.assertEqual(DEFAULT_POLICY, json.loads(self.policy_text(default.stdout)), default.stdout)
        self.assertEqual(0, listed.returncode, str(listed))
        self.assertEqual(["default"], listed.json["PolicyNames"])

        r = self.aws("put-key-policy", "--key-id", key, "--policy-name", "default",
                     "--policy", self.policy_file(doc))
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual("", r.stdout.strip())
        text = get_default()
        self.assertEqual(0, text.returncode, text.stderr)
        self.assertEqual(doc, self.policy_text(text.stdout))
        blob = self.blob(key)
        self.assertDenied("kms:Decrypt", arn, self.kms.decrypt, CiphertextBlob=blob, explicit=True)

    def test_lockout_and_access_denied_errors(self):
        md = self.new_key()
        key, arn = md["KeyId"], md["Arn"]
        lockout = self.policy_file(policy(stmt("Allow", "kms:*", principal=OTHER_ROOT)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            put_f = pool.submit(self.aws, "put-key-policy", "--key-id", key, "--policy-name",
                                "default", "--policy", lockout)
            create_f = pool.submit(self.aws, "create-key", "--policy", lockout)
            put, create = put_f.result(), create_f.result()
        for r in (put, create):
            self.assertNotEqual(0, r.returncode, str(r))
            self.assertEqual("MalformedPolicyDocumentException", r.error_code, str(r))
            self.assertEqual(LOCKOUT_MESSAGE, r.error_message, str(r))
        r = self.aws("put-key-policy", "--key-id", key, "--policy-name", "default",
                     "--policy", lockout, "--bypass-policy-lockout-safety-check")
        self.assertEqual(0, r.returncode, str(r))
        r = self.aws("encrypt", "--key-id", key, "--plaintext", base64.b64encode(b"x").decode())
        self.assertNotEqual(0, r.returncode, str(r))
        self.assertEqual("AccessDeniedException", r.error_code, str(r))
        self.assertEqual(denied("kms:Encrypt", arn), r.error_message, str(r))


class CliV1KeyPoliciesTest(CliKeyPoliciesMixin, ScytaleTestCase):
    expect_major = "1"


class CliV2KeyPoliciesTest(CliKeyPoliciesMixin, ScytaleTestCase):
    expect_major = "2"


if __name__ == "__main__":
    unittest.main()
