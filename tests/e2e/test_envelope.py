"""Envelope encryption end to end: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, GenerateRandom and DryRun through boto3 (1.43, which knows
DryRun and KeyMaterialId), the AWS CLI v1 and the AWS CLI v2; ciphertexts across a restart;
and no plaintext, data key or random bytes in the server's log.

The blob layout checked in one test is the documented one (docs/ciphertext-format.md).
Disabled keys cannot be produced yet (DisableKey comes later), so DisabledException is not
tested here.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading
import unittest
import uuid
from typing import Any, Iterable, Optional

import botocore.exceptions

import harness
from harness import (DEFAULT_ACCOUNT, DEFAULT_REGION, AwsCliMixin, ScytaleTestCase,
                     run_aws, signed_request)

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
DRY_RUN = "DryRunOperationException"
BAD_BLOB = "InvalidCiphertextException"

# Documented blob layout (docs/ciphertext-format.md).
BLOB_VERSION = 0x01
VERSION_ID_LEN, SALT_LEN, IV_LEN, TAG_LEN = 32, 16, 12, 16


def key_arn(key_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def blob_fields(blob: bytes) -> dict[str, Any]:
    """Split a format-1 blob into its documented fields (offsets into the blob)."""
    arn_len = blob[1]
    version_at = 2 + arn_len
    salt_at = version_at + VERSION_ID_LEN
    iv_at = salt_at + SALT_LEN
    body_at = iv_at + IV_LEN
    return {"arn": blob[2:version_at].decode("ascii"), "version_at": version_at,
            "salt_at": salt_at, "iv_at": iv_at, "body_at": body_at,
            "tag_at": len(blob) - TAG_LEN}


def flip(blob: bytes, index: int, mask: int = 0x01) -> bytes:
    b = bytearray(blob)
    b[index] ^= mask
    return bytes(b)


# --------------------------------------------------------------------------------------
# Secrets must never reach the server's log
# --------------------------------------------------------------------------------------

def secret_forms(secret: bytes) -> list[bytes]:
    """The ways a secret could show up in a log: raw, base64 (padded or not), hex."""
    enc = base64.b64encode(secret)
    return [secret, enc, enc.rstrip(b"="), base64.urlsafe_b64encode(secret).rstrip(b"="),
            secret.hex().encode(), secret.hex().upper().encode()]


def find_leaks(log: bytes, secrets: Iterable[bytes]) -> list[str]:
    leaks = []
    for s in secrets:
        for form in secret_forms(s):
            if form in log:
                leaks.append(f"{s[:24]!r}... (len {len(s)}) appears in the log as {form[:40]!r}...")
                break
    return leaks


class LogScanMixin:
    """Records distinctive secrets (plaintexts, data keys, random bytes) a class sends to or
    gets from its servers; after the class, stops the servers (SIGTERM, so the whole log is
    written) and fails if any of them appears in a server log."""

    _secrets: list[bytes] = []

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._secrets = []

    @classmethod
    def track(cls, secret: bytes) -> bytes:
        if len(secret) >= 12:  # shorter values would match by chance
            cls._secrets.append(bytes(secret))
        return secret

    @classmethod
    def tearDownClass(cls):
        logs, problems = [], []
        for s in cls._class_servers:
            if s.running:
                try:
                    s.stop()
                except AssertionError as e:   # stop() killed it; the base class cleans up
                    problems.append(str(e))
            try:
                with open(s.log_path, "rb") as f:
                    logs.append((s.name, f.read()))
            except OSError:
                pass
        super().tearDownClass()
        for name, log in logs:
            problems += [f"{name}: {leak}" for leak in find_leaks(log, cls._secrets)]
        if problems:
            raise AssertionError("after the class (secrets found in a server log, or an unclean "
                                 "stop):\n" + "\n".join(problems))


def distinctive(label: str, size: int = 96) -> bytes:
    """A plaintext that cannot occur in a log by accident: a readable, unique head and random
    bytes (only random bytes when `size` is too small for the head)."""
    head = f"scytale-e2e-secret-{label}-{uuid.uuid4().hex}-".encode()
    if size <= len(head):
        return os.urandom(size)
    return head + os.urandom(size - len(head))


# --------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------

class EnvelopeBoto3Test(LogScanMixin, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="envelope-boto3")
        kms = cls.server.client()
        cls.key_a = kms.create_key(Description="envelope A")["KeyMetadata"]
        cls.key_b = kms.create_key(Description="envelope B")["KeyMetadata"]

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()
        # Server-side checks only (botocore would refuse NumberOfBytes=0 itself).
        self.raw_kms = self.server.client(parameter_validation=False)

    # -- helpers ---------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, key: Optional[dict] = None, **kw) -> dict:
        key = key or self.key_a
        resp = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=self.track(plaintext), **kw)
        self.assertEqual(key["Arn"], resp["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["EncryptionAlgorithm"])
        self.assertIsInstance(resp["CiphertextBlob"], bytes)
        return resp

    def decrypt(self, blob: bytes, **kw) -> dict:
        resp = self.kms.decrypt(CiphertextBlob=blob, **kw)
        self.track(resp["Plaintext"])
        return resp

    def current_material(self, key: dict) -> str:
        return self.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]

    # -- Encrypt / Decrypt -------------------------------------------------------------

    def test_encrypt_returns_a_blob_the_key_arn_and_symmetric_default(self):
        resp = self.encrypt(distinctive("encrypt-response"))
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertTrue(resp["ResponseMetadata"].get("RequestId"))
        self.assertEqual({"CiphertextBlob", "KeyId", "EncryptionAlgorithm", "ResponseMetadata"},
                         set(resp), "Encrypt answers exactly these members")

    def test_decrypt_without_a_key_id_returns_plaintext_arn_algorithm_and_key_material_id(self):
        plaintext = distinctive("decrypt-response")
        blob = self.encrypt(plaintext)["CiphertextBlob"]
        resp = self.decrypt(blob)
        self.assertEqual(plaintext, resp["Plaintext"])
        self.assertEqual(self.key_a["Arn"], resp["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["EncryptionAlgorithm"])
        self.assertRegex(resp.get("KeyMaterialId", ""), HEX64_RE)
        self.assertEqual(self.current_material(self.key_a), resp["KeyMaterialId"])

    def test_round_trips_of_sizes_from_1_to_4096_bytes_keep_the_bytes_exactly(self):
        cases = {
            "1 byte": b"\x00",
            "1 printable byte": b"A",
            "2 bytes": b"\xff\x00",
            "all 256 byte values": bytes(range(256)),
            "only zeros": b"\x00" * 100,
            "zeros inside": b"head\x00\x00\x00middle\x00tail\x00",
            "invalid utf-8": b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc",
            "4095 bytes": os.urandom(4095),
            "4096 bytes": self.track(os.urandom(4096)),
            "4096 zero bytes": b"\x00" * 4096,
        }
        for name, plaintext in cases.items():
            with self.subTest(name):
                blob = self.encrypt(plaintext)["CiphertextBlob"]
                self.assertEqual(plaintext, self.decrypt(blob)["Plaintext"])

    def test_the_key_can_be_named_by_id_or_arn_for_encrypt_and_decrypt(self):
        plaintext = distinctive("key-forms")
        for key_ref in (self.key_a["KeyId"], self.key_a["Arn"]):
            with self.subTest(key_ref):
                resp = self.kms.encrypt(KeyId=key_ref, Plaintext=plaintext)
                self.assertEqual(self.key_a["Arn"], resp["KeyId"])
                for dec_ref in (self.key_a["KeyId"], self.key_a["Arn"]):
                    out = self.kms.decrypt(CiphertextBlob=resp["CiphertextBlob"], KeyId=dec_ref,
                                           EncryptionAlgorithm="SYMMETRIC_DEFAULT")
                    self.assertEqual(plaintext, out["Plaintext"])
                    self.assertEqual(self.key_a["Arn"], out["KeyId"])

    def test_two_encryptions_of_the_same_plaintext_differ(self):
        plaintext = distinctive("twice")
        one = self.encrypt(plaintext)["CiphertextBlob"]
        two = self.encrypt(plaintext)["CiphertextBlob"]
        self.assertNotEqual(one, two)
        self.assertEqual(plaintext, self.decrypt(one)["Plaintext"])
        self.assertEqual(plaintext, self.decrypt(two)["Plaintext"])

    def test_the_blob_follows_the_documented_format(self):
        plaintext = self.track(os.urandom(4096))
        blob = self.encrypt(plaintext)["CiphertextBlob"]
        arn = self.key_a["Arn"]
        self.assertEqual(BLOB_VERSION, blob[0])
        self.assertEqual(len(arn), blob[1])
        self.assertEqual(arn, blob_fields(blob)["arn"])
        self.assertEqual(len(plaintext) + 2 + len(arn) + 76, len(blob))
        self.assertLessEqual(len(blob), 6144, "a 4096-byte plaintext must fit Decrypt's limit")
        self.assertNotIn(plaintext[:32], blob)

    def grant_token(self) -> str:
        return self.kms.create_grant(KeyId=self.key_a["KeyId"],
                                     GranteePrincipal=f"arn:aws:iam::{DEFAULT_ACCOUNT}:root",
                                     Operations=["Encrypt", "Decrypt"])["GrantToken"]

    def test_encrypt_accepts_grant_tokens_and_the_symmetric_default_algorithm(self):
        plaintext = distinctive("grant-tokens")
        tokens = [self.grant_token(), self.grant_token()]
        resp = self.encrypt(plaintext, GrantTokens=tokens,
                            EncryptionAlgorithm="SYMMETRIC_DEFAULT")
        out = self.decrypt(resp["CiphertextBlob"], GrantTokens=tokens[:1])
        self.assertEqual(plaintext, out["Plaintext"])
        # A token this server did not make is refused wherever GrantTokens is taken.
        self.assertClientError("InvalidGrantTokenException", self.encrypt, plaintext,
                               GrantTokens=["token-one"])
        self.assertClientError("InvalidGrantTokenException", self.decrypt,
                               resp["CiphertextBlob"], GrantTokens=["token-three"])

    def test_empty_plaintext_is_a_validation_error(self):
        self.assertClientError("ValidationException", self.kms.encrypt,
                               KeyId=self.key_a["KeyId"], Plaintext=b"")

    def test_4097_bytes_of_plaintext_is_a_validation_error_that_does_not_echo_the_plaintext(self):
        plaintext = self.track(distinctive("too-long", 4097))
        e = self.assertClientError("ValidationException", self.kms.encrypt,
                                   KeyId=self.key_a["KeyId"], Plaintext=plaintext)
        msg = e.response["Error"].get("Message", "")
        self.assertEqual([], find_leaks(msg.encode(), [plaintext]), msg)
        self.assertClientError("ValidationException", self.kms.encrypt,
                               KeyId=self.key_a["KeyId"], Plaintext=os.urandom(8192))

    def test_another_encryption_algorithm_is_invalid_key_usage(self):
        for algo in ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1", "SM2PKE"):
            with self.subTest(algo):
                self.assertClientError("InvalidKeyUsageException", self.kms.encrypt,
                                       KeyId=self.key_a["KeyId"], Plaintext=b"x",
                                       EncryptionAlgorithm=algo)
        blob = self.encrypt(b"algorithm")["CiphertextBlob"]
        self.assertClientError("InvalidKeyUsageException", self.kms.decrypt, CiphertextBlob=blob,
                               KeyId=self.key_a["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")

    def test_an_unknown_encryption_algorithm_is_a_validation_error(self):
        self.assertClientError("ValidationException", self.kms.encrypt, KeyId=self.key_a["KeyId"],
                               Plaintext=b"x", EncryptionAlgorithm="AES_GCM_PLEASE")

    def test_encrypt_with_a_key_that_does_not_exist_is_not_found(self):
        for ref in (str(uuid.uuid4()), key_arn(str(uuid.uuid4()))):
            with self.subTest(ref):
                self.assertClientError("NotFoundException", self.kms.encrypt, KeyId=ref,
                                       Plaintext=b"x")

    def test_decrypt_with_the_key_id_of_another_existing_key_is_incorrect_key(self):
        blob = self.encrypt(b"meant for key A")["CiphertextBlob"]
        for ref in (self.key_b["KeyId"], self.key_b["Arn"]):
            with self.subTest(ref):
                self.assertClientError("IncorrectKeyException", self.kms.decrypt,
                                       CiphertextBlob=blob, KeyId=ref)

    def test_decrypt_with_a_key_id_that_does_not_exist_is_not_found(self):
        blob = self.encrypt(b"meant for key A")["CiphertextBlob"]
        for ref in (str(uuid.uuid4()), key_arn(str(uuid.uuid4()))):
            with self.subTest(ref):
                self.assertClientError("NotFoundException", self.kms.decrypt,
                                       CiphertextBlob=blob, KeyId=ref)

    def test_the_encryption_context_must_match_exactly(self):
        ctx = {"purpose": "e2e", "Department": "Ünïcødé ✓", "empty": ""}
        plaintext = distinctive("context")
        blob = self.encrypt(plaintext, EncryptionContext=ctx)["CiphertextBlob"]
        # Same pairs, another order: fine.
        reordered = dict(reversed(list(ctx.items())))
        self.assertEqual(plaintext,
                         self.decrypt(blob, EncryptionContext=reordered)["Plaintext"])
        wrong = {
            "missing": {},
            "one pair missing": {"purpose": "e2e", "Department": "Ünïcødé ✓"},
            "extra pair": dict(ctx, extra="x"),
            "other value": dict(ctx, purpose="E2E"),
            "key case differs": {"Purpose": "e2e", "Department": "Ünïcødé ✓", "empty": ""},
            "value moved to another key": {"purpose": "Ünïcødé ✓", "Department": "e2e",
                                           "empty": ""},
        }
        for name, other in wrong.items():
            with self.subTest(name):
                kw = {"EncryptionContext": other} if other else {}
                self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=blob, **kw)

    def test_a_context_given_at_decrypt_but_not_at_encrypt_is_refused(self):
        blob = self.encrypt(b"no context")["CiphertextBlob"]
        self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=blob,
                               EncryptionContext={"unexpected": "pair"})
        self.assertEqual(b"no context", self.decrypt(blob, EncryptionContext={})["Plaintext"])

    def test_context_pairs_are_bound_as_pairs_not_as_concatenated_text(self):
        blob = self.encrypt(b"pairs", EncryptionContext={"ab": "c"})["CiphertextBlob"]
        for other in ({"a": "bc"}, {"abc": ""}, {"ab": "c", "": ""}):
            with self.subTest(other):
                self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=blob,
                                       EncryptionContext=other)

    def test_truncated_tampered_extended_and_garbage_blobs_are_invalid_ciphertext(self):
        blob = self.encrypt(b"tamper with me, please", EncryptionContext={"k": "v"})[
            "CiphertextBlob"]
        f = blob_fields(blob)
        bad = {
            "truncated by one byte": blob[:-1],
            "truncated to the header": blob[:f["body_at"]],
            "truncated to 10 bytes": blob[:10],
            "one byte": blob[:1],
            "one extra byte": blob + b"\x00",
            "format version changed": flip(blob, 0, 0x03),
            "version id flipped": flip(blob, f["version_at"] + 5),
            "salt flipped": flip(blob, f["salt_at"]),
            "iv flipped": flip(blob, f["iv_at"] + 11, 0x80),
            "ciphertext flipped": flip(blob, f["body_at"] + 3),
            "tag flipped": flip(blob, len(blob) - 1),
            "tag zeroed": blob[:f["tag_at"]] + b"\x00" * TAG_LEN,
            "garbage text": b"this is not a ciphertext blob at all" * 4,
            "garbage zeros": b"\x00" * 200,
            "garbage with the version byte": b"\x01\xff" + b"\xab" * 300,
            "ARN length zero": b"\x01\x00" + b"\x00" * 200,
            "ARN length past the end": bytes([1, 200]) + blob[2:100],
        }
        for name, b in bad.items():
            with self.subTest(name):
                self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=b,
                                       EncryptionContext={"k": "v"})
        # The untouched blob still works.
        self.assertEqual(b"tamper with me, please",
                         self.decrypt(blob, EncryptionContext={"k": "v"})["Plaintext"])

    def test_a_blob_moved_to_another_key_is_not_decrypted(self):
        # Swap key A's ARN in the header for key B's (same length): the header is bound by
        # the AEAD, so B must not decrypt it.
        blob = self.encrypt(b"header swap")["CiphertextBlob"]
        a, b = self.key_a["Arn"].encode(), self.key_b["Arn"].encode()
        self.assertEqual(len(a), len(b))
        moved = blob.replace(a, b, 1)
        self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=moved)

    def test_empty_and_oversized_ciphertext_blobs_are_validation_errors(self):
        self.assertClientError("ValidationException", self.kms.decrypt, CiphertextBlob=b"")
        self.assertClientError("ValidationException", self.kms.decrypt,
                               CiphertextBlob=b"\x01" * 6145)

    def test_decrypt_in_another_region_is_access_denied(self):
        blob = self.encrypt(b"us-east-1 only")["CiphertextBlob"]
        other = self.server.client("eu-west-1")
        self.assertClientError("AccessDeniedException", other.decrypt, CiphertextBlob=blob)
        self.assertClientError("AccessDeniedException", other.re_encrypt, CiphertextBlob=blob,
                               DestinationKeyId=other.create_key()["KeyMetadata"]["KeyId"])

    def test_a_blob_naming_a_key_that_does_not_exist_is_access_denied(self):
        # A well-formed header naming an unknown key of this account and region (same ARN
        # length, so the layout stays intact).
        blob = self.encrypt(b"unknown key")["CiphertextBlob"]
        ghost = key_arn(str(uuid.uuid4())).encode()
        self.assertEqual(len(ghost), len(self.key_a["Arn"]))
        self.assertClientError("AccessDeniedException", self.kms.decrypt,
                               CiphertextBlob=blob.replace(self.key_a["Arn"].encode(), ghost, 1))

    def test_concurrent_encrypts_and_decrypts_on_several_keys_all_round_trip(self):
        kms = self.server.client()
        keys = [self.key_a, self.key_b] + [kms.create_key()["KeyMetadata"] for _ in range(2)]
        clients = [self.server.client() for _ in range(6)]
        failures: list[str] = []

        def worker(idx: int) -> None:
            c = clients[idx]
            for i in range(20):
                key = keys[(idx + i) % len(keys)]
                pt = os.urandom(1 + (idx * 37 + i * 101) % 4096)
                ctx = {"worker": str(idx), "i": str(i)}
                try:
                    enc = c.encrypt(KeyId=key["KeyId"], Plaintext=pt, EncryptionContext=ctx)
                    dec = c.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ctx)
                    if dec["Plaintext"] != pt or dec["KeyId"] != key["Arn"]:
                        failures.append(f"worker {idx} op {i}: wrong plaintext or key")
                except Exception as e:  # noqa: BLE001 - reported below
                    failures.append(f"worker {idx} op {i}: {e!r}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], failures)

    # -- ReEncrypt -------------------------------------------------------------------

    def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(self):
        plaintext = distinctive("re-encrypt")
        src_ctx, dst_ctx = {"stage": "source"}, {"stage": "destination", "extra": "pair"}
        blob = self.encrypt(plaintext, EncryptionContext=src_ctx)["CiphertextBlob"]
        resp = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=src_ctx,
                                   DestinationKeyId=self.key_b["KeyId"],
                                   DestinationEncryptionContext=dst_ctx)
        self.assertEqual(self.key_a["Arn"], resp["SourceKeyId"])
        self.assertEqual(self.key_b["Arn"], resp["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["SourceEncryptionAlgorithm"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["DestinationEncryptionAlgorithm"])
        self.assertEqual(self.current_material(self.key_a), resp.get("SourceKeyMaterialId"))
        self.assertEqual(self.current_material(self.key_b), resp.get("DestinationKeyMaterialId"))
        new_blob = resp["CiphertextBlob"]
        self.assertNotIn(plaintext, new_blob)
        out = self.decrypt(new_blob, EncryptionContext=dst_ctx)
        self.assertEqual(plaintext, out["Plaintext"])
        self.assertEqual(self.key_b["Arn"], out["KeyId"])
        # The new blob belongs to B and the new context only.
        self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=new_blob,
                               EncryptionContext=src_ctx)
        self.assertClientError("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=new_blob,
                               KeyId=self.key_a["KeyId"], EncryptionContext=dst_ctx)
        # The old blob is untouched.
        self.assertEqual(plaintext,
                         self.decrypt(blob, EncryptionContext=src_ctx)["Plaintext"])

    def test_re_encrypt_to_the_same_key_drops_the_context_and_names_the_source_key(self):
        blob = self.encrypt(b"same key", EncryptionContext={"a": "1"})["CiphertextBlob"]
        resp = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                                   SourceKeyId=self.key_a["Arn"],
                                   DestinationKeyId=self.key_a["KeyId"],
                                   SourceEncryptionAlgorithm="SYMMETRIC_DEFAULT",
                                   DestinationEncryptionAlgorithm="SYMMETRIC_DEFAULT",
                                   GrantTokens=[self.grant_token()])
        self.assertEqual(self.key_a["Arn"], resp["SourceKeyId"])
        self.assertEqual(self.key_a["Arn"], resp["KeyId"])
        self.assertNotEqual(blob, resp["CiphertextBlob"])
        self.assertEqual(b"same key", self.decrypt(resp["CiphertextBlob"])["Plaintext"])

    def test_re_encrypt_with_the_wrong_source_context_is_invalid_ciphertext(self):
        blob = self.encrypt(b"ctx", EncryptionContext={"stage": "source"})["CiphertextBlob"]
        for ctx in ({}, {"stage": "Source"}, {"stage": "source", "more": "x"}):
            with self.subTest(ctx):
                self.assertClientError(BAD_BLOB, self.kms.re_encrypt, CiphertextBlob=blob,
                                       SourceEncryptionContext=ctx,
                                       DestinationKeyId=self.key_b["KeyId"])
        self.assertClientError(BAD_BLOB, self.kms.re_encrypt, CiphertextBlob=flip(blob, -1),
                               SourceEncryptionContext={"stage": "source"},
                               DestinationKeyId=self.key_b["KeyId"])

    def test_re_encrypt_reports_incorrect_missing_and_misused_keys(self):
        blob = self.encrypt(b"key errors")["CiphertextBlob"]
        self.assertClientError("IncorrectKeyException", self.kms.re_encrypt, CiphertextBlob=blob,
                               SourceKeyId=self.key_b["KeyId"],
                               DestinationKeyId=self.key_b["KeyId"])
        self.assertClientError("NotFoundException", self.kms.re_encrypt, CiphertextBlob=blob,
                               DestinationKeyId=str(uuid.uuid4()))
        self.assertClientError("NotFoundException", self.kms.re_encrypt, CiphertextBlob=blob,
                               SourceKeyId=str(uuid.uuid4()), DestinationKeyId=self.key_b["KeyId"])
        self.assertClientError("InvalidKeyUsageException", self.kms.re_encrypt,
                               CiphertextBlob=blob, DestinationKeyId=self.key_b["KeyId"],
                               DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")

    # -- GenerateDataKey -------------------------------------------------------------

    def test_generate_data_key_sizes_and_the_plaintext_decrypts_back(self):
        cases = [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                 ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 64}, 64),
                 ({"NumberOfBytes": 1024}, 1024)]
        ctx = {"file": "backup.tar", "owner": "e2e"}
        for kw, size in cases:
            with self.subTest(kw):
                resp = self.kms.generate_data_key(KeyId=self.key_a["KeyId"], EncryptionContext=ctx,
                                                  **kw)
                self.track(resp["Plaintext"])
                self.assertEqual(size, len(resp["Plaintext"]))
                self.assertEqual(self.key_a["Arn"], resp["KeyId"])
                self.assertEqual(self.current_material(self.key_a), resp.get("KeyMaterialId"))
                out = self.decrypt(resp["CiphertextBlob"], EncryptionContext=ctx)
                self.assertEqual(resp["Plaintext"], out["Plaintext"])
                self.assertEqual(self.key_a["Arn"], out["KeyId"])
                self.assertClientError(BAD_BLOB, self.kms.decrypt,
                                       CiphertextBlob=resp["CiphertextBlob"])

    def test_generated_data_keys_differ(self):
        one = self.kms.generate_data_key(KeyId=self.key_a["KeyId"], KeySpec="AES_256")
        two = self.kms.generate_data_key(KeyId=self.key_a["KeyId"], KeySpec="AES_256")
        self.track(one["Plaintext"])
        self.track(two["Plaintext"])
        self.assertNotEqual(one["Plaintext"], two["Plaintext"])
        self.assertNotEqual(one["CiphertextBlob"], two["CiphertextBlob"])

    def test_generate_data_key_needs_exactly_one_of_key_spec_and_number_of_bytes(self):
        for op in (self.raw_kms.generate_data_key,
                   self.raw_kms.generate_data_key_without_plaintext):
            for kw in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32},
                       {"NumberOfBytes": 0}, {"NumberOfBytes": 1025},
                       {"NumberOfBytes": -1}, {"KeySpec": "AES_512"}):
                with self.subTest(op=op.__name__, **{k: str(v) for k, v in kw.items()}):
                    self.assertClientError("ValidationException", op,
                                           KeyId=self.key_a["KeyId"], **kw)

    def test_generate_data_key_with_a_missing_key_is_not_found(self):
        self.assertClientError("NotFoundException", self.kms.generate_data_key,
                               KeyId=str(uuid.uuid4()), KeySpec="AES_256")
        self.assertClientError("NotFoundException", self.kms.generate_data_key_without_plaintext,
                               KeyId=str(uuid.uuid4()), KeySpec="AES_256")

    def test_generate_data_key_without_plaintext_returns_no_plaintext(self):
        ctx = {"purpose": "later"}
        for kw, size in (({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                         ({"NumberOfBytes": 7}, 7), ({"NumberOfBytes": 1024}, 1024)):
            with self.subTest(kw):
                resp = self.kms.generate_data_key_without_plaintext(
                    KeyId=self.key_b["Arn"], EncryptionContext=ctx, **kw)
                self.assertNotIn("Plaintext", resp)
                self.assertEqual(self.key_b["Arn"], resp["KeyId"])
                self.assertEqual(self.current_material(self.key_b), resp.get("KeyMaterialId"))
                out = self.decrypt(resp["CiphertextBlob"], EncryptionContext=ctx)
                self.assertEqual(size, len(out["Plaintext"]))
                self.assertEqual(self.key_b["Arn"], out["KeyId"])

    # -- GenerateRandom --------------------------------------------------------------

    def test_generate_random_returns_the_requested_number_of_fresh_bytes(self):
        for n in (1, 16, 32, 1000, 1024):
            with self.subTest(n=n):
                got = self.kms.generate_random(NumberOfBytes=n)["Plaintext"]
                self.track(got)
                self.assertEqual(n, len(got))
        one = self.track(self.kms.generate_random(NumberOfBytes=32)["Plaintext"])
        two = self.track(self.kms.generate_random(NumberOfBytes=32)["Plaintext"])
        self.assertNotEqual(one, two)
        big = self.kms.generate_random(NumberOfBytes=1024)["Plaintext"]
        self.assertGreater(len(set(big)), 200, "1024 random bytes should use most byte values")

    def test_generate_random_out_of_range_is_a_validation_error(self):
        for n in (0, 1025, -5, 100000):
            with self.subTest(n=n):
                self.assertClientError("ValidationException", self.raw_kms.generate_random,
                                       NumberOfBytes=n)
        r = signed_request(self.server, "GenerateRandom", {})
        self.assertRawError(r, "ValidationException")

    def test_generate_random_in_a_custom_key_store_is_custom_key_store_not_found(self):
        self.assertClientError("CustomKeyStoreNotFoundException", self.kms.generate_random,
                               NumberOfBytes=32, CustomKeyStoreId="cks-1234567890abcdef0")

    # -- DryRun ----------------------------------------------------------------------

    def test_dry_run_of_calls_that_would_succeed_is_dry_run_operation(self):
        ctx = {"dry": "run"}
        blob = self.encrypt(b"dry run", EncryptionContext=ctx)["CiphertextBlob"]
        calls = {
            "Encrypt": (self.kms.encrypt, dict(KeyId=self.key_a["KeyId"], Plaintext=b"x")),
            "Decrypt": (self.kms.decrypt, dict(CiphertextBlob=blob, EncryptionContext=ctx)),
            "Decrypt with KeyId": (self.kms.decrypt, dict(CiphertextBlob=blob,
                                                          EncryptionContext=ctx,
                                                          KeyId=self.key_a["Arn"])),
            "ReEncrypt": (self.kms.re_encrypt, dict(CiphertextBlob=blob,
                                                    SourceEncryptionContext=ctx,
                                                    DestinationKeyId=self.key_b["KeyId"])),
            "GenerateDataKey": (self.kms.generate_data_key,
                                dict(KeyId=self.key_a["KeyId"], KeySpec="AES_256")),
            "GenerateDataKeyWithoutPlaintext": (self.kms.generate_data_key_without_plaintext,
                                                dict(KeyId=self.key_a["KeyId"],
                                                     NumberOfBytes=64)),
        }
        for name, (fn, kw) in calls.items():
            with self.subTest(name):
                e = self.assertClientError(DRY_RUN, fn, DryRun=True, **kw)
                self.assertNotIn("Plaintext", e.response)
                self.assertNotIn("CiphertextBlob", e.response)
                # DryRun=false is an ordinary call.
                fn(DryRun=False, **kw)

    def test_dry_run_of_calls_that_would_fail_gives_the_real_error(self):
        ctx = {"dry": "run"}
        blob = self.encrypt(b"dry run errors", EncryptionContext=ctx)["CiphertextBlob"]
        missing = str(uuid.uuid4())
        cases = [
            ("NotFoundException", self.kms.encrypt, dict(KeyId=missing, Plaintext=b"x")),
            ("ValidationException", self.kms.encrypt,
             dict(KeyId=self.key_a["KeyId"], Plaintext=b"x" * 4097)),
            ("InvalidKeyUsageException", self.kms.encrypt,
             dict(KeyId=self.key_a["KeyId"], Plaintext=b"x",
                  EncryptionAlgorithm="RSAES_OAEP_SHA_256")),
            (BAD_BLOB, self.kms.decrypt, dict(CiphertextBlob=blob)),
            (BAD_BLOB, self.kms.decrypt, dict(CiphertextBlob=flip(blob, -1),
                                              EncryptionContext=ctx)),
            ("NotFoundException", self.kms.decrypt, dict(CiphertextBlob=blob,
                                                         EncryptionContext=ctx, KeyId=missing)),
            ("IncorrectKeyException", self.kms.decrypt,
             dict(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=self.key_b["KeyId"])),
            ("NotFoundException", self.kms.re_encrypt,
             dict(CiphertextBlob=blob, SourceEncryptionContext=ctx, DestinationKeyId=missing)),
            (BAD_BLOB, self.kms.re_encrypt,
             dict(CiphertextBlob=blob, DestinationKeyId=self.key_b["KeyId"])),
            ("NotFoundException", self.kms.generate_data_key,
             dict(KeyId=missing, KeySpec="AES_256")),
            ("ValidationException", self.kms.generate_data_key,
             dict(KeyId=self.key_a["KeyId"], KeySpec="AES_256", NumberOfBytes=32)),
            ("ValidationException", self.kms.generate_data_key, dict(KeyId=self.key_a["KeyId"])),
            ("NotFoundException", self.kms.generate_data_key_without_plaintext,
             dict(KeyId=missing, NumberOfBytes=32)),
            ("ValidationException", self.kms.generate_data_key_without_plaintext,
             dict(KeyId=self.key_a["KeyId"], NumberOfBytes=1025)),
        ]
        for code, fn, kw in cases:
            with self.subTest(f"{fn.__name__} → {code}", args=sorted(kw)):
                self.assertClientError(code, fn, DryRun=True, **kw)

    def test_dry_run_ignoring_the_ciphertext_checks_only_the_key(self):
        garbage = b"not a ciphertext blob" * 3
        self.assertClientError(DRY_RUN, self.kms.decrypt, CiphertextBlob=garbage,
                               KeyId=self.key_a["KeyId"], DryRun=True,
                               DryRunModifiers=["IGNORE_CIPHERTEXT"])
        self.assertClientError("NotFoundException", self.kms.decrypt, CiphertextBlob=garbage,
                               KeyId=str(uuid.uuid4()), DryRun=True,
                               DryRunModifiers=["IGNORE_CIPHERTEXT"])
        self.assertClientError(DRY_RUN, self.kms.re_encrypt, CiphertextBlob=garbage,
                               SourceKeyId=self.key_a["KeyId"],
                               DestinationKeyId=self.key_b["KeyId"], DryRun=True,
                               DryRunModifiers=["IGNORE_CIPHERTEXT"])


# --------------------------------------------------------------------------------------
# Restart
# --------------------------------------------------------------------------------------

class CiphertextsSurviveRestartTest(ScytaleTestCase):
    def make_material(self, kms, key: dict) -> dict:
        plaintext = os.urandom(300) + b"\x00\x00 before restart"
        ctx = {"made": "before restart"}
        enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext, EncryptionContext=ctx)
        dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
        wp = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=48)
        return {"plaintext": plaintext, "ctx": ctx, "blob": enc["CiphertextBlob"],
                "dk": dk["Plaintext"], "dk_blob": dk["CiphertextBlob"],
                "wp_blob": wp["CiphertextBlob"], "material": dk["KeyMaterialId"]}

    def check_material(self, kms, key: dict, m: dict, other_key: dict) -> None:
        out = kms.decrypt(CiphertextBlob=m["blob"], EncryptionContext=m["ctx"])
        self.assertEqual(m["plaintext"], out["Plaintext"])
        self.assertEqual(key["Arn"], out["KeyId"])
        self.assertEqual(m["material"], out["KeyMaterialId"])
        out = kms.decrypt(CiphertextBlob=m["dk_blob"], EncryptionContext=m["ctx"],
                          KeyId=key["KeyId"])
        self.assertEqual(m["dk"], out["Plaintext"])
        out = kms.decrypt(CiphertextBlob=m["wp_blob"])
        self.assertEqual(48, len(out["Plaintext"]))
        re = kms.re_encrypt(CiphertextBlob=m["blob"], SourceEncryptionContext=m["ctx"],
                            DestinationKeyId=other_key["KeyId"])
        self.assertEqual(m["plaintext"], kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"])
        self.assertClientError(BAD_BLOB, kms.decrypt, CiphertextBlob=m["blob"])

    def test_a_ciphertext_made_before_a_clean_restart_decrypts_after_it(self):
        server = self.start_server(name="envelope-restart")
        kms = server.client()
        key = kms.create_key(Description="restart")["KeyMetadata"]
        other = kms.create_key(Description="restart other")["KeyMetadata"]
        before = self.make_material(kms, key)
        self.assertEqual(before["plaintext"],
                         kms.decrypt(CiphertextBlob=before["blob"],
                                     EncryptionContext=before["ctx"])["Plaintext"])
        server.stop()                      # SIGTERM, exit code 0 asserted
        server.start()
        kms = server.client()              # new port
        self.check_material(kms, key, before, other)
        # New ciphertexts after the restart, then one more restart.
        after = self.make_material(kms, key)
        self.assertEqual(before["material"], after["material"])
        server.stop()
        server.start()
        kms = server.client()
        self.check_material(kms, key, before, other)
        self.check_material(kms, key, after, other)
        server.stop()

    def test_a_ciphertext_acknowledged_before_sigkill_decrypts_after_restart(self):
        server = self.start_server(name="envelope-kill")
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]
        other = kms.create_key()["KeyMetadata"]
        m = self.make_material(kms, key)
        server.kill()
        server.start()
        self.check_material(server.client(), key, m, other)
        server.stop()


# --------------------------------------------------------------------------------------
# AWS CLI v1 and v2
# --------------------------------------------------------------------------------------

class CliEnvelopeMixin(AwsCliMixin, LogScanMixin):
    ok_wants_object = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name=f"envelope-cli-v{cls.expect_major}")
        kms = cls.server.client()
        cls.key_a = kms.create_key(Description="cli A")["KeyMetadata"]
        cls.key_b = kms.create_key(Description="cli B")["KeyMetadata"]

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()
        tmp = tempfile.TemporaryDirectory(prefix="scytale-e2e-envelope-")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cli_encrypt_file(self, plaintext: bytes, name: str, *extra: str) -> bytes:
        path = self.write(name + ".plain", self.track(plaintext))
        out = self.ok("encrypt", "--key-id", self.key_a["KeyId"], "--plaintext", f"fileb://{path}",
                      *extra)
        self.assertEqual(self.key_a["Arn"], out["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", out["EncryptionAlgorithm"])
        return unb64(out["CiphertextBlob"])     # both CLIs print blobs as base64

    def cli_decrypt_file(self, blob: bytes, name: str, *extra: str) -> dict:
        path = self.write(name + ".blob", blob)
        out = self.ok("decrypt", "--ciphertext-blob", f"fileb://{path}", *extra)
        self.assertEqual(self.key_a["Arn"], out["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", out["EncryptionAlgorithm"])
        out["PlaintextBytes"] = unb64(out["Plaintext"])
        return out

    # -- tests -----------------------------------------------------------------------

    def test_file_round_trips_of_1_byte_4096_bytes_and_bytes_with_zeros(self):
        cases = {
            "one-byte": b"\x7f",
            "zero-byte": b"\x00",
            "full": distinctive("cli-4096", 4096),
            "zeros": b"\x00\x00lead" + distinctive("cli-zeros", 64) + b"\x00mid\x00\x00tail\x00",
        }
        for name, plaintext in cases.items():
            with self.subTest(name):
                blob = self.cli_encrypt_file(plaintext, name)
                self.assertEqual(len(plaintext) + 2 + len(self.key_a["Arn"]) + 76, len(blob))
                out = self.cli_decrypt_file(blob, name)
                self.assertEqual(plaintext, out["PlaintextBytes"])
                # boto3 agrees with the CLI.
                self.assertEqual(plaintext, self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    def test_file_round_trip_with_an_encryption_context_and_a_key_id(self):
        plaintext = distinctive("cli-context", 200)
        blob = self.cli_encrypt_file(plaintext, "ctx", "--encryption-context",
                                     "purpose=e2e,team=scytale")
        out = self.cli_decrypt_file(blob, "ctx", "--encryption-context",
                                    json.dumps({"team": "scytale", "purpose": "e2e"}),
                                    "--key-id", self.key_a["Arn"])
        self.assertEqual(plaintext, out["PlaintextBytes"])
        self.err(BAD_BLOB, "decrypt", "--ciphertext-blob",
                 f"fileb://{self.write('ctx-again.blob', blob)}")
        self.err("IncorrectKeyException", "decrypt", "--ciphertext-blob",
                 f"fileb://{self.write('ctx-again.blob', blob)}", "--encryption-context",
                 "purpose=e2e,team=scytale", "--key-id", self.key_b["KeyId"])

    def test_a_tampered_file_and_a_missing_key_are_reported_with_their_codes(self):
        blob = self.kms.encrypt(KeyId=self.key_a["KeyId"], Plaintext=b"cli tamper")[
            "CiphertextBlob"]
        self.err(BAD_BLOB, "decrypt", "--ciphertext-blob",
                 f"fileb://{self.write('tampered.blob', flip(blob, len(blob) - 5))}")
        path = self.write("x.plain", b"x")
        self.err("NotFoundException", "encrypt", "--key-id", str(uuid.uuid4()),
                 "--plaintext", f"fileb://{path}")

    def test_generate_data_key_aes_256_with_an_encryption_context(self):
        out = self.ok("generate-data-key", "--key-id", self.key_a["KeyId"], "--key-spec", "AES_256",
                      "--encryption-context", "bucket=backups,object=db.tar")
        data_key = self.track(unb64(out["Plaintext"]))
        self.assertEqual(32, len(data_key))
        self.assertEqual(self.key_a["Arn"], out["KeyId"])
        blob = unb64(out["CiphertextBlob"])
        dec = self.cli_decrypt_file(blob, "dk", "--encryption-context",
                                    "object=db.tar,bucket=backups")
        self.assertEqual(data_key, dec["PlaintextBytes"])
        self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=blob)

    def test_generate_data_key_without_plaintext_by_number_of_bytes(self):
        out = self.ok("generate-data-key-without-plaintext", "--key-id", self.key_a["Arn"],
                      "--number-of-bytes", "64")
        self.assertNotIn("Plaintext", out)
        self.assertEqual(self.key_a["Arn"], out["KeyId"])
        dec = self.kms.decrypt(CiphertextBlob=unb64(out["CiphertextBlob"]))
        self.track(dec["Plaintext"])
        self.assertEqual(64, len(dec["Plaintext"]))

    def test_generate_random_returns_fresh_bytes_and_refuses_1025(self):
        out = self.ok("generate-random", "--number-of-bytes", "32")
        one = self.track(unb64(out["Plaintext"]))
        self.assertEqual(32, len(one))
        two = self.track(unb64(self.ok("generate-random", "--number-of-bytes", "32")["Plaintext"]))
        self.assertNotEqual(one, two)
        self.err("ValidationException", "generate-random", "--number-of-bytes", "1025")

    def test_re_encrypt_a_file_to_another_key(self):
        plaintext = distinctive("cli-re-encrypt", 100)
        blob = self.cli_encrypt_file(plaintext, "re", "--encryption-context", "v=1")
        out = self.ok("re-encrypt", "--ciphertext-blob", f"fileb://{self.write('re.blob', blob)}",
                      "--source-encryption-context", "v=1",
                      "--destination-key-id", self.key_b["KeyId"],
                      "--destination-encryption-context", "v=2")
        self.assertEqual(self.key_a["Arn"], out["SourceKeyId"])
        self.assertEqual(self.key_b["Arn"], out["KeyId"])
        dec = self.kms.decrypt(CiphertextBlob=unb64(out["CiphertextBlob"]),
                               EncryptionContext={"v": "2"})
        self.assertEqual(plaintext, dec["Plaintext"])


class EnvelopeCliV1Test(CliEnvelopeMixin, ScytaleTestCase):
    expect_major = "1"

    def test_an_inline_plaintext_is_taken_as_raw_text(self):
        text = "inline text from CLI v1 " + uuid.uuid4().hex
        self.track(text.encode())
        out = self.ok("encrypt", "--key-id", self.key_a["KeyId"], "--plaintext", text)
        dec = self.kms.decrypt(CiphertextBlob=unb64(out["CiphertextBlob"]))
        self.assertEqual(text.encode(), dec["Plaintext"])


class EnvelopeCliV2Test(CliEnvelopeMixin, ScytaleTestCase):
    expect_major = "2"

    def test_an_inline_plaintext_is_base64_unless_raw_in_base64_out_is_given(self):
        text = "inline text from CLI v2 " + uuid.uuid4().hex
        self.track(text.encode())
        out = self.ok("encrypt", "--key-id", self.key_a["KeyId"], "--plaintext", text,
                      "--cli-binary-format", "raw-in-base64-out")
        dec = self.kms.decrypt(CiphertextBlob=unb64(out["CiphertextBlob"]))
        self.assertEqual(text.encode(), dec["Plaintext"])
        out = self.ok("encrypt", "--key-id", self.key_a["KeyId"], "--plaintext", b64(text.encode()))
        dec = self.kms.decrypt(CiphertextBlob=unb64(out["CiphertextBlob"]))
        self.assertEqual(text.encode(), dec["Plaintext"])
        # An inline base64 ciphertext blob, the CLI v2 default.
        out = self.ok("decrypt", "--ciphertext-blob", out["CiphertextBlob"])
        self.assertEqual(text.encode(), unb64(out["Plaintext"]))


# --------------------------------------------------------------------------------------
# The log, after a full run
# --------------------------------------------------------------------------------------

class PlaintextNeverLoggedTest(ScytaleTestCase):
    def test_no_plaintext_data_key_or_random_bytes_appear_in_the_server_log(self):
        server = self.start_server(name="envelope-log")
        kms = server.client()
        raw_kms = server.client(parameter_validation=False)
        key = kms.create_key()["KeyMetadata"]
        other = kms.create_key()["KeyMetadata"]
        secrets: list[bytes] = []

        def s(label, size=48):
            v = distinctive(label, size)
            secrets.append(v)
            return v

        ctx = {"log": "test"}
        # Successful calls.
        pt = s("log-encrypt")
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=pt, EncryptionContext=ctx)[
            "CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
        re = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx,
                            DestinationKeyId=other["KeyId"])["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=re)
        big = s("log-4096", 4096)
        kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key["KeyId"], Plaintext=big)["CiphertextBlob"])
        for kw in ({"KeySpec": "AES_256"}, {"NumberOfBytes": 1024}):
            dk = kms.generate_data_key(KeyId=key["KeyId"], **kw)
            secrets.append(dk["Plaintext"])
            wp = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], **kw)
            secrets.append(kms.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"])
        for n in (32, 1024):
            secrets.append(kms.generate_random(NumberOfBytes=n)["Plaintext"])
        # Failing calls that carry a plaintext or return none.
        failing = [
            lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=s("log-too-long", 4097)),
            lambda: kms.encrypt(KeyId=str(uuid.uuid4()), Plaintext=s("log-missing-key")),
            lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=s("log-bad-algo"),
                                EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
            lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=s("log-dry-run"), DryRun=True),
            lambda: kms.decrypt(CiphertextBlob=blob),                      # wrong context
            lambda: kms.decrypt(CiphertextBlob=flip(blob, -1), EncryptionContext=ctx),
            lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, DryRun=True),
            lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx,
                                KeyId=other["KeyId"]),
            lambda: raw_kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=0),
        ]
        for call in failing:
            with self.assertRaises(botocore.exceptions.ClientError):
                call()
        # Malformed JSON and an unknown member carrying a plaintext.
        mal = s("log-malformed")
        signed_request(server, "Encrypt", b'{"KeyId": "' + key["KeyId"].encode()
                       + b'", "Plaintext": "' + base64.b64encode(mal) + b'"')
        odd = s("log-odd-member")
        signed_request(server, "Encrypt", {"KeyId": key["KeyId"], "Plaintext": b64(odd),
                                           "Unknown": b64(odd)})
        # The CLI too.
        cli = harness.aws_cli_v1_path()
        if cli:
            path = os.path.join(server._tmp, "cli.plain")
            cli_pt = s("log-cli")
            with open(path, "wb") as f:
                f.write(cli_pt)
            r = run_aws(cli, server, ["encrypt", "--key-id", key["KeyId"],
                                      "--plaintext", f"fileb://{path}"])
            self.assertEqual(0, r.returncode, str(r))
            os.remove(path)

        self.assertTrue(server.running)
        server.stop()                          # everything is in the log now
        with open(server.log_path, "rb") as f:
            log = f.read()
        self.assertIn(b"listening on", log, "the harness captured the server's output")
        self.assertEqual([], find_leaks(log, secrets))


if __name__ == "__main__":
    unittest.main()
