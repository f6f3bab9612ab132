"""Request quotas (`serve --request-quota NAME=RPS`, `--request-quotas aws`): calls past their
account's quota answer ThrottlingException (400, AWS's message), are audited as such, and the
AWS SDKs' and CLI's retry logic rides them out. Without quotas nothing is throttled."""

import json
import os
import time
import unittest

import botocore.exceptions

from harness import ScytaleTestCase, aws_cli_v1_path, error_code, run_aws

MESSAGE = ("You have exceeded the rate at which you may call KMS. Reduce the frequency of your "
           "calls.")


class RequestQuotaTest(ScytaleTestCase):

    def test_calls_past_a_quota_are_throttled_as_aws_throttles_them(self):
        server = self.start_server(name="quotas", args=[
            "--request-quota", "CreateKey=2", "--request-quota", "SymmetricCryptographic=20"])
        kms = server.client()  # no retries: every throttle is seen
        outcomes = []
        for _ in range(6):
            try:
                kms.create_key()
                outcomes.append("ok")
            except botocore.exceptions.ClientError as e:
                outcomes.append(error_code(e))
                self.assertEqual(400, e.response["ResponseMetadata"]["HTTPStatusCode"])
                self.assertEqual(MESSAGE, e.response["Error"]["Message"])
        # A bucket holds one second's worth (2): the calls of this burst beyond it are refused.
        self.assertEqual(["ok", "ok"], outcomes[:2])
        self.assertIn("ThrottlingException", outcomes[2:])
        self.assertTrue(set(outcomes) <= {"ok", "ThrottlingException"}, outcomes)

        # The symmetric family shares one bucket of 20 per second: over two seconds of calls as
        # fast as they go, about 20 + 2 x 20 pass, the rest are throttled.
        key_id = server.client(retries={"total_max_attempts": 10, "mode": "standard"}).create_key()[
            "KeyMetadata"]["KeyId"]
        passed = throttled = calls = 0
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            calls += 1
            try:
                if calls % 2:
                    kms.encrypt(KeyId=key_id, Plaintext=b"x")
                else:
                    kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
                passed += 1
            except botocore.exceptions.ClientError as e:
                self.assertEqual("ThrottlingException", error_code(e))
                throttled += 1
        elapsed = time.monotonic() - started
        self.assertGreater(throttled, 0)
        self.assertLessEqual(passed, 20 + 20 * elapsed + 2)
        self.assertGreaterEqual(passed, 20)
        # DescribeKey has no quota configured here: never throttled.
        for _ in range(50):
            kms.describe_key(KeyId=key_id)

        # Throttled calls are audited with their error.
        records = []
        audit = os.path.join(server.data_dir, "audit")
        for name in sorted(os.listdir(audit)):
            if name.endswith(".jsonl"):
                with open(os.path.join(audit, name), encoding="utf-8") as f:
                    records += [json.loads(line) for line in f if line.strip()]
        throttled_records = [r for r in records if r.get("errorCode") == "ThrottlingException"]
        self.assertGreaterEqual(len(throttled_records), throttled)
        self.assertEqual({"CreateKey", "Encrypt", "GenerateDataKey"},
                         {r["eventName"] for r in throttled_records})

    def test_the_sdk_and_the_cli_retry_throttled_calls_until_they_pass(self):
        server = self.start_server(name="quotas-retry", args=["--request-quota", "CreateKey=1"])
        kms = server.client(retries={"total_max_attempts": 10, "mode": "standard"})
        ids = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
        self.assertEqual(3, len(set(ids)))
        # The AWS CLI (v1, standard retries) too.
        for _ in range(2):
            out = run_aws(aws_cli_v1_path(), server, ["create-key"], max_attempts=10)
            self.assertEqual(0, out.returncode, out.stderr)
            self.assertIn("KeyId", out.stdout)

    def test_aws_default_quotas_and_no_quotas(self):
        aws = self.start_server(name="quotas-aws", args=["--request-quotas", "aws"])
        kms = aws.client()
        outcomes = []
        for _ in range(8):  # CreateKey: 5 per second in AWS
            try:
                kms.create_key()
                outcomes.append("ok")
            except botocore.exceptions.ClientError as e:
                outcomes.append(error_code(e))
        self.assertEqual(["ok"] * 5, outcomes[:5])
        self.assertIn("ThrottlingException", outcomes[5:])
        unlimited = self.start_server(name="quotas-off").client()
        for _ in range(20):
            unlimited.create_key()

    def test_a_malformed_quota_stops_the_server_with_a_clear_message(self):
        for bad in ("CreateKey=0", "CreateKey", "Nothing=5"):
            with self.subTest(quota=bad):
                server = self.start_server(name="quotas-bad", start=False,
                                           args=["--request-quota", bad])
                with self.assertRaises(Exception):
                    server.start()
                self.assertIn("quota", server.log_tail().lower())


if __name__ == "__main__":
    unittest.main()
