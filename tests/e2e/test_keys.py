"""CreateKey / DescribeKey / ListKeys through boto3, AWS CLI v1 and AWS CLI v2."""

from __future__ import annotations

import datetime
import threading
import unittest
import uuid

import botocore.exceptions

import harness
from harness import (DEFAULT_ACCOUNT, UUID_RE, AwsCliMixin, ScytaleTestCase, list_all_keys,
                     signed_request)

EXPECTED_DEFAULTS = {
    "AWSAccountId": DEFAULT_ACCOUNT,
    "Enabled": True,
    "Description": "",
    "KeyUsage": "ENCRYPT_DECRYPT",
    "KeyState": "Enabled",
    "Origin": "AWS_KMS",
    "KeyManager": "CUSTOMER",
    "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
    "KeySpec": "SYMMETRIC_DEFAULT",
    "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    "MultiRegion": False,
}


def key_arn(region: str, key_id: str, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


class KeyMetadataChecks:
    def check_metadata(self, md: dict, region: str, account: str = DEFAULT_ACCOUNT,
                       description: str = "") -> None:
        self.assertRegex(md.get("KeyId", ""), UUID_RE)
        self.assertEqual(key_arn(region, md["KeyId"], account), md.get("Arn"))
        expected = dict(EXPECTED_DEFAULTS, AWSAccountId=account, Description=description)
        for k, v in expected.items():
            self.assertEqual(v, md.get(k), f"KeyMetadata.{k} in {md}")
        self.assertIn("CreationDate", md)


class KeysBoto3Test(KeyMetadataChecks, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="keys-boto3")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client("us-east-1")

    def test_create_key_defaults(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        resp = self.kms.create_key()
        after = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertTrue(resp["ResponseMetadata"].get("RequestId"))
        md = resp["KeyMetadata"]
        self.check_metadata(md, "us-east-1")
        created = md["CreationDate"]
        self.assertIsInstance(created, datetime.datetime)
        slack = datetime.timedelta(seconds=5)
        self.assertTrue(before - slack <= created <= after + slack,
                        f"CreationDate {created} not between {before} and {after}")

    def test_create_key_explicit_symmetric_parameters(self):
        md = self.kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
                                 Origin="AWS_KMS", MultiRegion=False)["KeyMetadata"]
        self.check_metadata(md, "us-east-1")
        md = self.kms.create_key(CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
        self.check_metadata(md, "us-east-1")

    def test_create_key_with_description(self):
        desc = "e2e key: ünïcødé ✓ \"quotes\" \\ backslash"
        md = self.kms.create_key(Description=desc)["KeyMetadata"]
        self.check_metadata(md, "us-east-1", description=desc)
        again = self.kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
        self.assertEqual(desc, again["Description"])

    def test_describe_key_by_id_and_arn(self):
        created = self.kms.create_key(Description="describe me")["KeyMetadata"]
        by_id = self.kms.describe_key(KeyId=created["KeyId"])
        self.assertTrue(by_id["ResponseMetadata"].get("RequestId"))
        self.assertEqual(created, by_id["KeyMetadata"])
        by_arn = self.kms.describe_key(KeyId=created["Arn"])["KeyMetadata"]
        self.assertEqual(created, by_arn)

    def test_wire_format(self):
        r = signed_request(self.server, "CreateKey", {"Description": "raw"})
        self.assertEqual(200, r.status, str(r))
        self.assertTrue(r.headers.get("content-type", "").startswith("application/x-amz-json-1.1"),
                        f"Content-Type: {r.headers.get('content-type')}")
        self.assertTrue(r.request_id, "no x-amzn-RequestId")
        md = r.json["KeyMetadata"]
        self.assertIsInstance(md["CreationDate"], (int, float),
                              "CreationDate must be epoch seconds as a JSON number")
        self.assertNotIsInstance(md["CreationDate"], bool)
        self.assertEqual(md, signed_request(self.server, "DescribeKey",
                                            {"KeyId": md["KeyId"]}).json["KeyMetadata"])

    def test_list_keys_pagination(self):
        region = "ap-southeast-2"   # no other test uses it: exactly our keys
        kms = self.server.client(region)
        created = {kms.create_key(Description=f"page {i}")["KeyMetadata"]["KeyId"] for i in range(7)}
        self.assertEqual(7, len(created))

        everything = kms.list_keys()
        self.assertFalse(everything["Truncated"])
        self.assertNotIn("NextMarker", everything)
        self.assertEqual(created, {k["KeyId"] for k in everything["Keys"]})
        for k in everything["Keys"]:
            self.assertEqual({"KeyId", "KeyArn"}, set(k))
            self.assertEqual(key_arn(region, k["KeyId"]), k["KeyArn"])

        pages, marker = [], None
        while True:
            kw = {"Limit": 3}
            if marker:
                kw["Marker"] = marker
            page = kms.list_keys(**kw)
            pages.append(page)
            if not page["Truncated"]:
                break
            self.assertTrue(page.get("NextMarker"), f"Truncated page without NextMarker: {page}")
            marker = page["NextMarker"]
            self.assertLess(len(pages), 10, "pagination does not terminate")
        self.assertEqual([3, 3, 1], [len(p["Keys"]) for p in pages])
        self.assertEqual([True, True, False], [p["Truncated"] for p in pages])
        self.assertNotIn("NextMarker", pages[-1])
        ids = [k["KeyId"] for p in pages for k in p["Keys"]]
        self.assertEqual(len(ids), len(set(ids)), f"duplicates across pages: {ids}")
        self.assertEqual(created, set(ids))

        # boto3's paginator (the way most SDK users list keys).
        paged = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate(
            PaginationConfig={"PageSize": 2}) for k in p["Keys"]]
        self.assertEqual(sorted(created), sorted(paged))

        one = kms.list_keys(Limit=1)
        self.assertEqual(1, len(one["Keys"]))
        self.assertTrue(one["Truncated"])
        big = kms.list_keys(Limit=1000)
        self.assertEqual(created, {k["KeyId"] for k in big["Keys"]})
        self.assertFalse(big["Truncated"])
        exact = kms.list_keys(Limit=7)
        self.assertEqual(7, len(exact["Keys"]))
        self.assertFalse(exact["Truncated"], "a page that holds the last key must not be Truncated")

    def test_list_keys_empty_region(self):
        page = self.server.client("sa-east-1").list_keys()
        self.assertEqual([], page["Keys"])
        self.assertFalse(page["Truncated"])

    def test_list_keys_invalid_marker(self):
        self.assertClientError("InvalidMarkerException", self.kms.list_keys,
                               Marker="this-is-not-a-marker")

    def test_unsupported_key_specs(self):
        region = "ap-northeast-3"
        kms = self.server.client(region)
        # ML-DSA needs OpenSSL 3.5, SM2 encryption and key agreement are not in OpenSSL 3.0's
        # EVP as AWS defines them (asymmetric keys are tested in test_asymmetric.py).
        cases = [
            {"KeySpec": "ML_DSA_44", "KeyUsage": "SIGN_VERIFY"},
            {"KeySpec": "ML_DSA_65", "KeyUsage": "SIGN_VERIFY"},
            {"KeySpec": "ML_DSA_87", "KeyUsage": "SIGN_VERIFY"},
            {"KeySpec": "SM2", "KeyUsage": "ENCRYPT_DECRYPT"},
            {"CustomerMasterKeySpec": "SM2", "KeyUsage": "KEY_AGREEMENT"},
        ]
        for params in cases:
            with self.subTest(**params):
                self.assertClientError("UnsupportedOperationException", kms.create_key, **params)
        self.assertEqual([], kms.list_keys()["Keys"], "a rejected CreateKey left a key behind")

    def test_unimplemented_operation(self):
        self.assertClientError("UnsupportedOperationException", self.kms.replicate_key,
                               KeyId=str(uuid.uuid4()), ReplicaRegion="us-west-2")
        # The server is fine afterwards.
        self.kms.list_keys(Limit=1)

    def test_describe_unknown_key(self):
        self.assertClientError("NotFoundException", self.kms.describe_key, KeyId=str(uuid.uuid4()))
        self.assertClientError("NotFoundException", self.kms.describe_key,
                               KeyId=key_arn("us-east-1", str(uuid.uuid4())))

    def test_describe_alias_forms_not_found(self):
        self.assertClientError("NotFoundException", self.kms.describe_key, KeyId="alias/nothing")
        self.assertClientError("NotFoundException", self.kms.describe_key,
                               KeyId=f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:alias/nothing")

    def test_describe_invalid_arns(self):
        md = self.kms.create_key()["KeyMetadata"]
        kid = md["KeyId"]
        for bad in (f"arn:aws-cn:kms:us-east-1:{DEFAULT_ACCOUNT}:key/{kid}",    # other partition
                    f"arn:aws:s3:us-east-1:{DEFAULT_ACCOUNT}:key/{kid}",        # other service
                    f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:key/",
                    f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:key/{kid}/extra",
                    f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:{kid}",
                    f"key/{kid}"):
            with self.subTest(key_id=bad):
                self.assertClientError("NotFoundException", self.kms.describe_key, KeyId=bad)

    def test_concurrent_creates(self):
        region = "eu-south-1"
        clients = [self.server.client(region) for _ in range(8)]
        ids, errors, lock = [], [], threading.Lock()

        def work(c):
            try:
                for _ in range(15):
                    kid = c.create_key()["KeyMetadata"]["KeyId"]
                    with lock:
                        ids.append(kid)
            except Exception as e:   # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertEqual(120, len(set(ids)))
        self.assertEqual(set(ids), {k["KeyId"] for k in list_all_keys(clients[0], limit=50)})

    def test_regions_are_separate(self):
        east = self.server.client("us-east-1")
        west = self.server.client("eu-west-1")
        k_east = east.create_key(Description="east")["KeyMetadata"]
        k_west = west.create_key(Description="west")["KeyMetadata"]
        self.check_metadata(k_east, "us-east-1", description="east")
        self.check_metadata(k_west, "eu-west-1", description="west")

        self.assertClientError("NotFoundException", west.describe_key, KeyId=k_east["KeyId"])
        self.assertClientError("NotFoundException", east.describe_key, KeyId=k_west["KeyId"])
        # An ARN naming another region is not found either (it is not that region's key).
        self.assertClientError("NotFoundException", west.describe_key, KeyId=k_east["Arn"])
        self.assertEqual(k_west, west.describe_key(KeyId=k_west["Arn"])["KeyMetadata"])

        east_ids = {k["KeyId"] for k in list_all_keys(east)}
        west_ids = {k["KeyId"] for k in list_all_keys(west)}
        self.assertIn(k_east["KeyId"], east_ids)
        self.assertNotIn(k_west["KeyId"], east_ids)
        self.assertIn(k_west["KeyId"], west_ids)
        self.assertNotIn(k_east["KeyId"], west_ids)
        for k in list_all_keys(west):
            self.assertTrue(k["KeyArn"].startswith("arn:aws:kms:eu-west-1:"), k)


class AccountIdTest(KeyMetadataChecks, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="keys-account", args=["--account-id", "444455556666"])

    def test_account_id_in_metadata_and_arn(self):
        kms = self.server.client("eu-central-1")
        md = kms.create_key()["KeyMetadata"]
        self.check_metadata(md, "eu-central-1", account="444455556666")
        self.assertEqual(md, kms.describe_key(KeyId=md["Arn"])["KeyMetadata"])
        # The same key id under another account's ARN is not this key.
        try:
            kms.describe_key(KeyId=key_arn("eu-central-1", md["KeyId"], DEFAULT_ACCOUNT))
            self.fail("DescribeKey with another account's ARN returned this account's key")
        except botocore.exceptions.ClientError as e:
            self.assertIn(harness.error_code(e), ("NotFoundException", "AccessDeniedException"),
                          e.response)


class RestrictedRegionsTest(ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="keys-regions", args=["--regions", "us-east-1,eu-west-1"])

    def test_served_regions_work(self):
        for region in ("us-east-1", "eu-west-1"):
            kms = self.server.client(region)
            md = kms.create_key()["KeyMetadata"]
            self.assertTrue(md["Arn"].startswith(f"arn:aws:kms:{region}:"))

    def test_other_region_rejected(self):
        kms = self.server.client("ap-south-1")
        self.assertClientError("InvalidSignatureException", kms.list_keys,
                               message_prefix="Credential should be scoped to a valid region")
        self.assertClientError("InvalidSignatureException", kms.create_key,
                               message_prefix="Credential should be scoped to a valid region")
        # A served region still works afterwards.
        self.server.client("us-east-1").list_keys()


# --------------------------------------------------------------------------------------
# AWS CLI (v1 from the test python's environment, v2 = Debian's /usr/bin/aws)
# --------------------------------------------------------------------------------------

class CliKeysMixin(AwsCliMixin, KeyMetadataChecks):
    list_region = ""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name=f"keys-cli-v{cls.expect_major}")

    def test_create_and_describe(self):
        md = self.ok("create-key", "--description", "made by the CLI")["KeyMetadata"]
        self.check_metadata(md, "us-east-1", description="made by the CLI")
        by_id = self.ok("describe-key", "--key-id", md["KeyId"])["KeyMetadata"]
        self.assertEqual(md, by_id)
        by_arn = self.ok("describe-key", "--key-id", md["Arn"])["KeyMetadata"]
        self.assertEqual(md, by_arn)

    def test_list_keys_paging(self):
        region = self.list_region
        kms = self.server.client(region)
        created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(7)}

        # Default: the CLI follows NextMarker itself and prints one merged result.
        out = self.ok("list-keys", region=region)
        self.assertEqual(created, {k["KeyId"] for k in out["Keys"]})
        self.assertNotIn("NextMarker", out)
        # --page-size 3: still everything, fetched in pages of 3.
        out = self.ok("list-keys", "--page-size", "3", region=region)
        ids = [k["KeyId"] for k in out["Keys"]]
        self.assertEqual(7, len(ids))
        self.assertEqual(created, set(ids))

        # --limit turns auto-pagination off: one raw page.
        out = self.ok("list-keys", "--limit", "3", region=region)
        self.assertEqual(3, len(out["Keys"]))
        self.assertTrue(out["Truncated"])
        self.assertTrue(out.get("NextMarker"))

        # --no-paginate: walk the pages with --marker.
        seen, marker, truncs, union = [], None, [], []
        for _ in range(5):
            args = ["list-keys", "--no-paginate", "--limit", "3"]
            if marker:
                args += ["--marker", marker]
            out = self.ok(*args, region=region)
            seen.append(len(out["Keys"]))
            truncs.append(out["Truncated"])
            union += [k["KeyId"] for k in out["Keys"]]
            if not out["Truncated"]:
                self.assertNotIn("NextMarker", out)
                break
            marker = out["NextMarker"]
        self.assertEqual([3, 3, 1], seen)
        self.assertEqual([True, True, False], truncs)
        self.assertEqual(7, len(union))
        self.assertEqual(created, set(union))

        # --max-items: the CLI's own token on top of the server's markers.
        out = self.ok("list-keys", "--max-items", "4", "--page-size", "3", region=region)
        first = [k["KeyId"] for k in out["Keys"]]
        self.assertEqual(4, len(first))
        self.assertTrue(out.get("NextToken"), out)
        out = self.ok("list-keys", "--page-size", "3", "--starting-token", out["NextToken"], region=region)
        rest = [k["KeyId"] for k in out["Keys"]]
        self.assertEqual(created, set(first) | set(rest))
        self.assertEqual(7, len(first) + len(rest))

    def test_errors(self):
        self.err("NotFoundException", "describe-key", "--key-id", "alias/nothing")
        self.err("NotFoundException", "describe-key", "--key-id", str(uuid.uuid4()))
        self.err("UnsupportedOperationException", "create-key", "--key-spec", "SM2",
                 "--key-usage", "ENCRYPT_DECRYPT")
        self.err("InvalidSignatureException", "list-keys", secret_key="wrong" + "x" * 35)


class KeysCliV1Test(CliKeysMixin, ScytaleTestCase):
    expect_major = "1"
    list_region = "ca-central-1"


class KeysCliV2Test(CliKeysMixin, ScytaleTestCase):
    expect_major = "2"
    list_region = "eu-north-1"


if __name__ == "__main__":
    unittest.main()
