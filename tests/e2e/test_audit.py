"""End-to-end tests of the audit log (issue 6) with boto3 and the `scytale audit` subcommands.

- A scripted sequence of KMS, IAM and STS calls (some succeed, some fail, one is denied by
  policy, one carries a bad signature, one an unknown access key) yields exactly one record per
  call, found by its request id, with the right eventSource, eventName, errorCode and identity.
- No audit file and no server log line contains a plaintext, data key or secret used in the test.
- `scytale audit verify` passes on the untouched log and names the record after a byte is
  edited, a line deleted, two lines swapped, a line inserted, and the file truncated (mid-line
  and at a line boundary).
- Fail closed: while the next audit file is /dev/full, calls answer KMSInternalException (500)
  and nothing is recorded; once writes succeed again calls are served and the log verifies.
- `scytale audit query` filters by event, outcome, key and principal.
- Background work is recorded as CloudTrail does: a key destroyed after its waiting period and
  an automatic rotation each yield an AwsServiceEvent (DeleteKey / RotateKey) invoked by
  kms.amazonaws.com (the key clock is moved with --testing-clock-file).
- Requests the HTTP layer refuses before they reach the API (413, 431, 400) are recorded with
  the request id they were answered with, and counted in /metrics.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid
from typing import Optional

import boto3
import botocore.config
import botocore.exceptions

import harness
from harness import (ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, DEFAULT_ACCOUNT, DEFAULT_REGION,
                     SCYTALE_BIN, ScytaleTestCase, error_code, kms_client)

ROOT_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"


def _cfg():
    return botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                  connect_timeout=5, read_timeout=30)


def boto_client(service: str, endpoint: str, ak: str = ADMIN_ACCESS_KEY,
                sk: str = ADMIN_SECRET_KEY):
    session = boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk,
                                    region_name=DEFAULT_REGION)
    return session.client(service, endpoint_url=endpoint, config=_cfg())


def audit_dir(server: harness.ScytaleServer) -> str:
    return os.path.join(server.data_dir, "audit")


def log_files(directory: str) -> list[str]:
    return sorted(os.path.join(directory, f) for f in os.listdir(directory)
                  if f.startswith("audit-") and f.endswith(".jsonl"))


def records(directory: str) -> list[dict]:
    out = []
    for path in log_files(directory):
        with open(path, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def all_audit_bytes(directory: str) -> bytes:
    data = b""
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data += f.read()
    return data


def scytale(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCYTALE_BIN), *args], capture_output=True, text=True, timeout=60)


class Calls:
    """Runs calls and remembers (request id, eventSource, eventName, errorCode) of each."""

    def __init__(self, test: unittest.TestCase):
        self.test = test
        self.expected: list[tuple[str, str, str, Optional[str]]] = []

    def ok(self, source: str, name: str, fn, **kwargs):
        resp = fn(**kwargs)
        self.expected.append((resp["ResponseMetadata"]["RequestId"], source, name, None))
        return resp

    def fails(self, source: str, name: str, code: str, fn, **kwargs):
        try:
            fn(**kwargs)
        except botocore.exceptions.ClientError as e:
            self.test.assertEqual(code, error_code(e), e.response)
            self.expected.append((e.response["ResponseMetadata"]["RequestId"], source, name, code))
            return e
        self.test.fail(f"{name} succeeded; expected {code}")


class AuditRecordsTest(ScytaleTestCase):

    def test_every_call_is_recorded_once_with_its_outcome_and_no_secret(self):
        server = self.start_server()
        kms = server.client()
        iam = boto_client("iam", server.endpoint)
        sts = boto_client("sts", server.endpoint)
        calls = Calls(self)
        K, I, S = "kms.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com"

        plaintext = b"audit-e2e-plaintext-" + uuid.uuid4().hex.encode()
        key = calls.ok(K, "CreateKey", kms.create_key, Description="audited")["KeyMetadata"]
        key_id, key_arn = key["KeyId"], key["Arn"]
        calls.ok(K, "CreateAlias", kms.create_alias, AliasName="alias/audited", TargetKeyId=key_id)
        blob = calls.ok(K, "Encrypt", kms.encrypt, KeyId="alias/audited", Plaintext=plaintext,
                        EncryptionContext={"purpose": "audit-test"})["CiphertextBlob"]
        calls.ok(K, "Decrypt", kms.decrypt, CiphertextBlob=blob,
                 EncryptionContext={"purpose": "audit-test"})
        data_key = calls.ok(K, "GenerateDataKey", kms.generate_data_key, KeyId=key_id,
                            KeySpec="AES_256")["Plaintext"]
        random_bytes = calls.ok(K, "GenerateRandom", kms.generate_random,
                                NumberOfBytes=32)["Plaintext"]
        calls.fails(K, "DescribeKey", "NotFoundException", kms.describe_key,
                    KeyId="alias/does-not-exist")
        calls.fails(K, "Decrypt", "InvalidCiphertextException", kms.decrypt,
                    CiphertextBlob=b"\x01" * 80)
        calls.fails(K, "Decrypt", "InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob,
                    EncryptionContext={"purpose": "wrong"})

        # A user without any policy is denied by the key policy.
        user = "audit-" + uuid.uuid4().hex[:8]
        calls.ok(I, "CreateUser", iam.create_user, UserName=user)
        created = calls.ok(I, "CreateAccessKey", iam.create_access_key, UserName=user)
        user_ak = created["AccessKey"]["AccessKeyId"]
        user_sk = created["AccessKey"]["SecretAccessKey"]
        user_kms = kms_client(server.endpoint, access_key=user_ak, secret_key=user_sk)
        calls.fails(K, "Encrypt", "AccessDeniedException", user_kms.encrypt, KeyId=key_id,
                    Plaintext=plaintext)
        calls.ok(S, "GetCallerIdentity", boto_client("sts", server.endpoint, user_ak,
                                                      user_sk).get_caller_identity)
        calls.fails(I, "GetUser", "NoSuchEntity", iam.get_user, UserName="nobody-" + user)

        # Authentication failures are recorded too.
        bad_sig = kms_client(server.endpoint, secret_key="not-the-secret-key")
        calls.fails(K, "ListKeys", "InvalidSignatureException", bad_sig.list_keys)
        unknown = kms_client(server.endpoint, access_key="AKIAUNKNOWNAUDIT0001")
        calls.fails(K, "DescribeKey", "UnrecognizedClientException", unknown.describe_key,
                    KeyId=key_id)
        calls.fails(S, "GetCallerIdentity", "SignatureDoesNotMatch",
                    boto_client("sts", server.endpoint, sk="wrong").get_caller_identity)
        calls.ok(K, "ScheduleKeyDeletion", kms.schedule_key_deletion, KeyId=key_id,
                 PendingWindowInDays=7)

        # Every answer was given after its record was on disk: read them while still running.
        got = records(audit_dir(server))
        by_id: dict[str, list[dict]] = {}
        for r in got:
            by_id.setdefault(r["requestID"], []).append(r)
        self.assertEqual(len(calls.expected), len(got),
                         "one record per call, no more:\n" + "\n".join(
                             f"{r['eventName']} {r.get('errorCode')}" for r in got))
        for request_id, source, name, code in calls.expected:
            with self.subTest(call=name, code=code):
                self.assertEqual(1, len(by_id.get(request_id, [])), f"records of {request_id}")
                r = by_id[request_id][0]
                self.assertEqual(source, r["eventSource"])
                self.assertEqual(name, r["eventName"])
                self.assertEqual(code, r.get("errorCode"))
                if code:
                    self.assertIsInstance(r.get("errorMessage"), str)
                self.assertEqual("AwsApiCall", r["eventType"])
                self.assertEqual("1.08", r["eventVersion"])
                self.assertEqual(DEFAULT_REGION, r["awsRegion"])
                self.assertEqual("127.0.0.1", r["sourceIPAddress"])
                self.assertIn("Boto3", r["userAgent"])
                self.assertTrue(harness.UUID_RE.match(r["eventID"]))
                self.assertIn("userIdentity", r)

        def record_of(name, code=None, nth=0):
            matching = [by_id[i][0] for i, _, n, c in calls.expected if n == name and c == code]
            return matching[nth]

        enc = record_of("Encrypt")
        self.assertEqual({"keyId": "alias/audited", "encryptionContext": {"purpose": "audit-test"}},
                         enc["requestParameters"])
        self.assertEqual([key_arn], [x["ARN"] for x in enc["resources"]])
        self.assertTrue(enc["readOnly"])
        self.assertEqual({"type": "Root", "principalId": DEFAULT_ACCOUNT, "arn": ROOT_ARN,
                          "accountId": DEFAULT_ACCOUNT, "accessKeyId": ADMIN_ACCESS_KEY},
                         enc["userIdentity"])
        self.assertEqual({"keyId": key_id, "keySpec": "AES_256"},
                         record_of("GenerateDataKey")["requestParameters"])
        self.assertEqual({"numberOfBytes": 32}, record_of("GenerateRandom")["requestParameters"])
        created_rec = record_of("CreateKey")
        self.assertEqual(key_id, created_rec["responseElements"]["keyMetadata"]["keyId"])
        self.assertFalse(created_rec["readOnly"])
        sched = record_of("ScheduleKeyDeletion")
        self.assertEqual(7, sched["requestParameters"]["pendingWindowInDays"])
        self.assertEqual("PendingDeletion", sched["responseElements"]["keyState"])
        denied = record_of("Encrypt", "AccessDeniedException")
        self.assertEqual(f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/{user}",
                         denied["userIdentity"]["arn"])
        self.assertEqual("IAMUser", denied["userIdentity"]["type"])
        bad = record_of("ListKeys", "InvalidSignatureException")
        self.assertEqual({"type": "Unknown", "accessKeyId": ADMIN_ACCESS_KEY}, bad["userIdentity"])
        self.assertEqual("AKIAUNKNOWNAUDIT0001",
                         record_of("DescribeKey", "UnrecognizedClientException")
                         ["userIdentity"]["accessKeyId"])
        self.assertEqual({"userName": user}, record_of("CreateUser")["requestParameters"])
        self.assertEqual({"accessKeyId": user_ak}, record_of("CreateAccessKey")["responseElements"])

        # Operations signals: /metrics counts the calls; the log has one JSON line per call.
        status, _, metrics = harness.http_get(server.host, server.port, "/metrics")
        self.assertEqual(200, status)
        metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
        self.assertIn('scytale_requests_total{operation="Encrypt",outcome="denied"} 1', metrics)
        self.assertIn('scytale_requests_total{operation="Decrypt",outcome="failure"} 2', metrics)
        self.assertIn(f"scytale_audit_records_total {len(got)}", metrics)
        self.assertIn("scytale_audit_fsync_seconds_count", metrics)
        # The backing-key cache (Decrypt and GenerateDataKey found the material Encrypt loaded)
        # and keys by state (the one key is pending deletion; the usual states are always shown).
        hits = re.search(r"^scytale_backing_key_cache_hits_total (\d+)$", metrics, re.M)
        self.assertIsNotNone(hits, metrics)
        self.assertGreaterEqual(int(hits.group(1)), 2)
        self.assertRegex(metrics, r"(?m)^scytale_backing_key_cache_misses_total \d+$")
        self.assertIn('scytale_keys{state="PendingDeletion"} 1\n', metrics)
        self.assertIn('scytale_keys{state="Enabled"} 0\n', metrics)
        log_lines = [json.loads(line) for line in server.log_text().splitlines()
                     if line.startswith("{")]
        logged = {l["requestId"]: l for l in log_lines if l.get("msg") == "request"}
        for request_id, _, name, code in calls.expected:
            self.assertEqual(name, logged[request_id]["operation"])
            self.assertEqual(code, logged[request_id].get("errorCode"))
            self.assertEqual("info", logged[request_id]["level"])

        # Chain: seq 1..n, each prev the SHA-256 of the previous line.
        self.assertEqual(list(range(1, len(got) + 1)), [r["scytaleChain"]["seq"] for r in got])

        # No plaintext, data key or secret anywhere in the audit directory or the server log.
        server.stop()
        blob_bytes = all_audit_bytes(audit_dir(server))
        log = server.log_text().encode()
        secrets = {
            "plaintext": plaintext,
            "plaintext (base64)": base64.b64encode(plaintext),
            "data key (base64)": base64.b64encode(data_key),
            "random bytes (base64)": base64.b64encode(random_bytes),
            "ciphertext blob (base64)": base64.b64encode(blob),
            "user secret key": user_sk.encode(),
            "admin secret key": ADMIN_SECRET_KEY.encode(),
        }
        for what, secret in secrets.items():
            with self.subTest(secret=what):
                self.assertNotIn(secret, blob_bytes, f"{what} found in the audit log")
                if what != "ciphertext blob (base64)":
                    self.assertNotIn(secret, log, f"{what} found in the server log")
        self.assertNotIn(data_key, blob_bytes)

        verified = scytale("audit", "verify", audit_dir(server))
        self.assertEqual(0, verified.returncode, verified.stdout + verified.stderr)
        self.assertIn(f"{len(got)} records", verified.stdout)
        self.assertIn("0 records not yet sealed", verified.stdout)

        # query
        def query(*args):
            out = scytale("audit", "query", audit_dir(server), "--format", "json", *args)
            self.assertEqual(0, out.returncode, out.stderr)
            return [json.loads(line) for line in out.stdout.splitlines()]

        self.assertEqual(len(got), len(query()))
        self.assertEqual(["Encrypt", "Encrypt", "Decrypt"],
                         sorted((r["eventName"] for r in query("--key", key_id)
                                 if r["eventName"] in ("Encrypt", "Decrypt")), reverse=True))
        denied_rows = query("--outcome", "denied")
        self.assertEqual({"AccessDeniedException", "InvalidSignatureException",
                          "UnrecognizedClientException", "SignatureDoesNotMatch"},
                         {r["errorCode"] for r in denied_rows})
        self.assertEqual(["Encrypt", "GetCallerIdentity"],
                         [r["eventName"] for r in query("--principal", user)])
        self.assertEqual(1, len(query("--event", "GenerateRandom")))
        table = scytale("audit", "query", audit_dir(server), "--event", "CreateKey")
        self.assertEqual(0, table.returncode)
        self.assertIn("CreateKey", table.stdout)
        self.assertIn(key_arn, table.stdout)


class AuditTamperTest(ScytaleTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server()
        kms = cls.server.client()
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(6):
            kms.encrypt(KeyId=key_id, Plaintext=b"p%d" % i)
        kms.describe_key(KeyId=key_id)
        cls.server.stop()  # the final digest seals all 8 records
        cls.pristine = audit_dir(cls.server)

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="scytale-audit-tamper-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.log = os.path.join(self.dir, "audit")
        shutil.copytree(self.pristine, self.log)
        files = log_files(self.log)
        self.assertEqual(1, len(files))
        self.file = files[0]
        self.name = os.path.basename(self.file)
        with open(self.file, "rb") as f:
            self.lines = f.read().splitlines(keepends=True)
        self.assertEqual(8, len(self.lines))

    def write(self, lines):
        with open(self.file, "wb") as f:
            f.write(b"".join(lines))

    def verify_fails_at(self, line: int, *words: str):
        out = scytale("audit", "verify", self.log)
        self.assertEqual(1, out.returncode, out.stdout + out.stderr)
        self.assertRegex(out.stdout, rf"^FAILED: {re.escape(self.name)}:{line}[ :]")
        for w in words:
            self.assertIn(w, out.stdout)

    def test_untouched_log_verifies(self):
        out = scytale("audit", "verify", self.log)
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)
        self.assertIn("OK: ok: 8 records in 1 files, 1 signed digests", out.stdout)

    def test_edited_byte_is_named(self):
        line = bytearray(self.lines[2])
        i = line.index(b'"eventName":"Encrypt"') + len(b'"eventName":"Encryp')
        line[i] = ord("T")
        self.write(self.lines[:2] + [bytes(line)] + self.lines[3:])
        self.verify_fails_at(3, "(seq 3)", "modified")

    def test_deleted_line_is_named(self):
        self.write(self.lines[:4] + self.lines[5:])
        self.verify_fails_at(5, "(seq 6)", "removed: seq 5 missing")

    def test_swapped_lines_are_named(self):
        self.write(self.lines[:3] + [self.lines[4], self.lines[3]] + self.lines[5:])
        self.verify_fails_at(4, "(seq 5)", "out of order")

    def test_inserted_line_is_named(self):
        self.write(self.lines[:5] + [self.lines[1]] + self.lines[5:])
        self.verify_fails_at(6, "(seq 2)", "inserted")

    def test_file_cut_mid_record_is_named(self):
        with open(self.file, "r+b") as f:
            f.truncate(os.path.getsize(self.file) - 25)
        self.verify_fails_at(8, "truncated")

    def test_file_cut_at_a_line_boundary_is_named_by_the_digest(self):
        self.write(self.lines[:6])
        self.verify_fails_at(7, "(seq 7)", "log truncated: records from seq 7 to 8 are missing")

    def test_another_public_key_does_not_verify(self):
        other = self.start_server()  # another data dir: another signing key
        other.stop()
        pem = os.path.join(audit_dir(other), "audit-public-key.pem")
        out = scytale("audit", "verify", self.log, "--public-key", pem)
        self.assertEqual(1, out.returncode, out.stdout)
        self.assertIn("signature does not verify", out.stdout)


class AuditFailClosedTest(ScytaleTestCase):

    def test_calls_are_refused_while_the_audit_cannot_be_written(self):
        server = self.start_server()
        kms = server.client()
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        server.stop()
        last_seq = records(audit_dir(server))[-1]["scytaleChain"]["seq"]
        self.assertEqual(1, last_seq)

        # The next file the log opens is /dev/full: every write fails with ENOSPC.
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
        trap = os.path.join(audit_dir(server), f"audit-{last_seq + 1:016d}-{day}.jsonl")
        os.symlink("/dev/full", trap)
        server.start()
        kms = server.client()
        secret = b"must-not-leave-unaudited-" + uuid.uuid4().hex.encode()
        for _ in range(2):
            e = self.assertClientError("KMSInternalException", kms.encrypt, KeyId=key_id,
                                       Plaintext=secret, status=500)
            self.assertNotIn(secret, json.dumps(e.response, default=str).encode())
        e = self.assertClientError("KMSInternalException", kms.list_keys, status=500)
        self.assertIn("audit record", server.log_text())

        # Writes succeed again: calls are served and recorded, and the log verifies.
        os.unlink(trap)
        kms.encrypt(KeyId=key_id, Plaintext=b"after")
        server.stop()
        got = records(audit_dir(server))
        self.assertEqual(["CreateKey", "Encrypt"], [r["eventName"] for r in got])
        out = scytale("audit", "verify", audit_dir(server))
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)



def set_clock(path: str, offset_seconds: int) -> None:
    """Atomically writes the offset the server's key clock adds to the real time."""
    with open(path + ".tmp", "w", encoding="ascii") as f:
        f.write(f"{int(offset_seconds)}\n")
    os.replace(path + ".tmp", path)


class AuditBackgroundTest(ScytaleTestCase):

    def test_deletions_and_automatic_rotations_are_recorded_as_service_events(self):
        clock_dir = tempfile.mkdtemp(prefix="scytale-e2e-clock-")
        self.addCleanup(shutil.rmtree, clock_dir, True)
        clock = os.path.join(clock_dir, "clock")
        set_clock(clock, 0)
        server = self.start_server(args=["--testing-clock-file", clock,
                                         "--maintenance-interval-seconds", "1"])
        kms = server.client()
        doomed = kms.create_key()["KeyMetadata"]
        rotated = kms.create_key()["KeyMetadata"]
        kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
        kms.enable_key_rotation(KeyId=rotated["KeyId"], RotationPeriodInDays=90)
        self.assertEqual([], [r for r in records(audit_dir(server))
                              if r["eventType"] != "AwsApiCall"])

        set_clock(clock, 91 * 86400)

        def service_events():
            got = [r for r in records(audit_dir(server)) if r["eventType"] == "AwsServiceEvent"]
            return got if len(got) >= 2 else None

        deadline = time.monotonic() + 15
        events = service_events()
        while events is None and time.monotonic() < deadline:
            time.sleep(0.2)
            events = service_events()
        self.assertIsNotNone(events, server.log_tail())
        by_name = {r["eventName"]: r for r in events}
        self.assertEqual({"DeleteKey", "RotateKey"}, set(by_name), events)
        for name, key in (("DeleteKey", doomed), ("RotateKey", rotated)):
            with self.subTest(event=name):
                r = by_name[name]
                self.assertEqual({"accountId": DEFAULT_ACCOUNT, "invokedBy": "kms.amazonaws.com"},
                                 r["userIdentity"])
                self.assertEqual([key["Arn"]], [x["ARN"] for x in r["resources"]])
                self.assertEqual("kms.amazonaws.com", r["eventSource"])
                self.assertEqual("kms.amazonaws.com", r["sourceIPAddress"])
                self.assertEqual(DEFAULT_REGION, r["awsRegion"])
                self.assertEqual(DEFAULT_ACCOUNT, r["recipientAccountId"])
                self.assertFalse(r["readOnly"])
                self.assertIsNone(r["requestParameters"])
                self.assertNotIn("errorCode", r)
                self.assertTrue(harness.UUID_RE.match(r["eventID"]))
        # One record per key: later passes have nothing more to do.
        time.sleep(1.5)
        self.assertEqual(2, len([r for r in records(audit_dir(server))
                                 if r["eventType"] == "AwsServiceEvent"]))
        server.stop()
        verified = scytale("audit", "verify", audit_dir(server))
        self.assertEqual(0, verified.returncode, verified.stdout + verified.stderr)
        out = scytale("audit", "query", audit_dir(server), "--format", "json",
                      "--key", doomed["KeyId"], "--event", "DeleteKey")
        self.assertEqual(1, len(out.stdout.splitlines()), out.stdout + out.stderr)

    def test_requests_refused_by_the_http_layer_are_recorded(self):
        server = self.start_server()
        refused = {
            413: (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n",
                  "RequestEntityTooLargeException"),
            431: (b"POST / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 20000 + b"\r\n\r\n",
                  "RequestHeaderFieldsTooLarge"),
            400: (b"NOT HTTP AT ALL\r\n\r\n", "SerializationException"),
        }
        request_ids = {}
        for status, (raw, _) in refused.items():
            with harness.connect(server) as s:
                s.sendall(raw)
                data, _, _ = harness.read_until_closed(s, timeout=5)
            self.assertEqual(status, harness.parse_status(data), data[:300])
            m = re.search(rb"(?im)^x-amzn-RequestId: *([0-9a-f-]+)", data)
            self.assertIsNotNone(m, data[:300])
            request_ids[status] = m.group(1).decode()

        # A refusal is answered at once, its record written just after (not waited for).
        deadline = time.monotonic() + 5
        while True:
            got = {r["requestID"]: r for r in records(audit_dir(server))}
            if len(got) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(3, len(got))
        for status, (_, code) in refused.items():
            with self.subTest(status=status):
                r = got[request_ids[status]]
                self.assertEqual(code, r["errorCode"])
                self.assertEqual("Unknown", r["eventName"])
                self.assertEqual("127.0.0.1", r["sourceIPAddress"])
                self.assertIsNone(r["userIdentity"])
        _, _, metrics = harness.http_get(server.host, server.port, "/metrics")
        metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
        for status in refused:
            self.assertIn(f'scytale_http_rejections_total{{status="{status}"}} 1\n', metrics)
        server.stop()
        verified = scytale("audit", "verify", audit_dir(server))
        self.assertEqual(0, verified.returncode, verified.stdout + verified.stderr)


if __name__ == "__main__":
    unittest.main()
