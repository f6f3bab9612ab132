"""Secret hygiene (issue 10 item 4).

- The server keeps its secrets out of core dumps: RLIMIT_CORE is 0 (soft and hard) and the
  process is not dumpable, read from /proc/<pid>/limits and /proc/<pid>/status of a server that
  was started with core dumps allowed.
- A workload with known, distinctive secrets (Encrypt/Decrypt/ReEncrypt plaintexts, a
  GenerateDataKey data key, GenerateMac and Sign messages, imported key material, an IAM secret
  access key, the admin secret, and bad requests whose bodies carry a plaintext) leaves none of
  them, raw, hex or base64 (at any alignment), in the server's stdout/stderr log, the audit log,
  any error message it answered, or the store: the SQLite file with its WAL and shared memory
  (read while the server runs and again after it stopped), or, under
  SCYTALE_E2E_STORE=postgres, a pg_dump of the server's database.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import secrets
import subprocess
import tempfile
import unittest
from typing import Iterable, Optional

import botocore.exceptions

import harness
from harness import (ScytaleServer, ScytaleTestCase, send_http, signed_request, unsigned_request)
from test_iam import iam_client
from test_import import openssl

NOBODY = 65534


def secret_forms(secret: bytes) -> dict[str, bytes]:
    """The byte strings that betray `secret`: itself, its hex, and the base64 characters that
    depend on its bytes only, at each of the three alignments it can have inside a longer
    base64 text (so a leak of any blob or body that embeds it is found too)."""
    forms = {"raw": secret, "hex": secret.hex().encode(), "HEX": secret.hex().upper().encode()}
    for k in range(3):
        enc = base64.b64encode(bytes(k) + secret)
        start = -(-8 * k // 6)                   # first character made of the secret's bits only
        end = (8 * (k + len(secret))) // 6       # one past the last such character
        forms[f"base64@{k}"] = enc[start:end]
    return forms


def find_leaks(secret_list: dict[str, bytes], places: dict[str, bytes]) -> list[str]:
    """'<secret> as <form> in <place>' for every form of every secret found in any place."""
    found = []
    for name, secret in secret_list.items():
        for form, needle in secret_forms(secret).items():
            for place, haystack in places.items():
                if needle in haystack:
                    found.append(f"{name} as {form} in {place}")
    return found


def read_tree(root: str, label: str) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            try:
                with open(path, "rb") as fh:
                    out[f"{label}:{os.path.relpath(path, root)}"] = fh.read()
            except OSError:
                pass  # removed while walking (a temporary file)
    return out


class LeakSearchTest(unittest.TestCase):
    """The search itself finds every form: without this, a clean result would prove nothing."""

    def test_every_form_of_a_secret_is_found_inside_other_bytes(self):
        secret = b"\x00\xffhygiene-self-test\x10"
        for k in range(3):
            blob = b"x" * k + secret + b"tail"
            for place, data in {"raw": blob, "hex": b"..." + blob.hex().encode() + b"...",
                                "b64": b'{"Body":"' + base64.b64encode(blob) + b'"}'}.items():
                with self.subTest(alignment=k, place=place):
                    self.assertTrue(find_leaks({"s": secret}, {place: data}))
        self.assertEqual([], find_leaks({"s": secret}, {"other": os.urandom(4096)}))


class CoreDumpTest(ScytaleTestCase):
    def test_server_has_no_core_limit_and_is_not_dumpable(self):
        """Started with core dumps allowed (and, as root, as the unprivileged `nobody`, so that
        /proc shows dumpability by its owner): the server's RLIMIT_CORE is 0 and its /proc files
        belong to root, which the kernel does for non-dumpable processes only."""
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        as_root = os.geteuid() == 0
        core = "unlimited" if as_root or hard == resource.RLIM_INFINITY else str(hard)
        if core == "0":
            self.skipTest("this process may not allow core dumps (hard RLIMIT_CORE 0)")
        wrapper = ["prlimit", f"--core={core}:{core}", "--"]
        if as_root:
            wrapper += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        "--"]

        class WrappedServer(ScytaleServer):
            def command(self) -> list[str]:
                return wrapper + super().command()

        server = WrappedServer(name="hygiene-core")
        self.addCleanup(server.cleanup)
        if as_root:
            os.makedirs(server.data_dir, exist_ok=True)
            for path in (server._tmp, server.data_dir):
                os.chown(path, NOBODY, NOBODY)
        server.start()
        pid = server.proc.pid
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.assertIn(b"serve", f.read().split(b"\0"), "the pid is not the server's")
        with open(f"/proc/{pid}/limits", encoding="ascii") as f:
            limits = f.read()
        line = next(l for l in limits.splitlines() if l.startswith("Max core file size"))
        self.assertEqual(["0", "0"], line.split()[4:6], f"core limit not 0: {line!r}")
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            status = f.read()
        uid = int(next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1])
        self.assertNotEqual(0, uid, "the server must run unprivileged for this check")
        # A dumpable process's /proc/<pid> files belong to its own uid.
        self.assertEqual(0, os.stat(f"/proc/{pid}/status").st_uid,
                         f"/proc/{pid}/status belongs to uid {uid}: the server is dumpable")
        # And it still serves.
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"still serving")["CiphertextBlob"]
        self.assertEqual(b"still serving", kms.decrypt(CiphertextBlob=blob)["Plaintext"])
        server.stop()


class WorkloadLeavesNoSecretTest(ScytaleTestCase):
    def distinctive(self, label: str) -> bytes:
        return f"hygiene:{label}:{secrets.token_hex(12)}".encode()

    def collect_error(self, fn, *args, **kwargs) -> None:
        """Calls fn, which must fail, and keeps the whole error answer it got."""
        try:
            fn(*args, **kwargs)
        except botocore.exceptions.ClientError as e:
            self.errors.append(json.dumps(e.response, default=str).encode())
            self.errors.append(str(e).encode())
            return
        self.fail(f"{getattr(fn, '__name__', fn)} succeeded; expected an error")

    def raw_error(self, resp) -> None:
        self.assertGreaterEqual(resp.status, 400, f"expected an error: {resp}")
        self.errors.append(resp.body)
        self.errors.append(json.dumps(resp.headers).encode())

    def import_material(self, kms, material: bytes) -> str:
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
        with tempfile.NamedTemporaryFile(suffix=".der") as pub:
            pub.write(params["PublicKey"])
            pub.flush()
            wrapped = openssl("pkeyutl", "-encrypt", "-keyform", "DER", "-pubin", "-inkey",
                              pub.name, "-pkeyopt", "rsa_padding_mode:oaep",
                              "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
                              input_bytes=material)
        kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        return key

    def test_no_secret_of_a_workload_is_logged_audited_answered_or_stored(self):
        server = self.start_server(name="hygiene", args=[
            "--log-level", "debug", "--max-body-bytes", "16384",
            "--audit-digest-interval-seconds", "1"])
        kms = server.client()
        self.errors: list[bytes] = []
        found: dict[str, bytes] = {"admin secret access key": harness.ADMIN_SECRET_KEY.encode()}

        # Encrypt / Decrypt / ReEncrypt.
        key_a = kms.create_key(Description="hygiene a")["KeyMetadata"]["KeyId"]
        key_b = kms.create_key(Description="hygiene b")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/hygiene", TargetKeyId=key_a)
        for label in ("encrypt", "reencrypt"):
            found[f"{label} plaintext"] = self.distinctive(label)
        ctx = {"purpose": "hygiene"}
        blob = kms.encrypt(KeyId="alias/hygiene", Plaintext=found["encrypt plaintext"],
                           EncryptionContext=ctx)["CiphertextBlob"]
        self.assertEqual(found["encrypt plaintext"],
                         kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"])
        blob2 = kms.encrypt(KeyId=key_a, Plaintext=found["reencrypt plaintext"])["CiphertextBlob"]
        moved = kms.re_encrypt(CiphertextBlob=blob2, DestinationKeyId=key_b)["CiphertextBlob"]
        self.assertEqual(found["reencrypt plaintext"],
                         kms.decrypt(CiphertextBlob=moved)["Plaintext"])

        # A data key, its plaintext returned once and decrypted again.
        dk = kms.generate_data_key(KeyId=key_a, NumberOfBytes=32)
        found["data key"] = dk["Plaintext"]
        self.assertEqual(dk["Plaintext"],
                         kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"])

        # MAC and signature messages.
        mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        mac_key = mac_key["KeyMetadata"]["KeyId"]
        found["mac message"] = self.distinctive("mac")
        mac = kms.generate_mac(KeyId=mac_key, Message=found["mac message"],
                               MacAlgorithm="HMAC_SHA_256")["Mac"]
        self.assertTrue(kms.verify_mac(KeyId=mac_key, Message=found["mac message"], Mac=mac,
                                       MacAlgorithm="HMAC_SHA_256")["MacValid"])
        sign_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        sign_key = sign_key["KeyMetadata"]["KeyId"]
        found["sign message"] = self.distinctive("sign")
        sig = kms.sign(KeyId=sign_key, Message=found["sign message"], MessageType="RAW",
                       SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.assertTrue(kms.verify(KeyId=sign_key, Message=found["sign message"], Signature=sig,
                                   MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
                        ["SignatureValid"])

        # Imported key material, used afterwards.
        found["imported key material"] = os.urandom(32)
        imported = self.import_material(kms, found["imported key material"])
        blob3 = kms.encrypt(KeyId=imported, Plaintext=b"under imported material")["CiphertextBlob"]
        self.assertEqual(b"under imported material",
                         kms.decrypt(CiphertextBlob=blob3)["Plaintext"])

        # An IAM secret access key, then a call signed with it.
        iam = iam_client(server.endpoint)
        iam.create_user(UserName="hygiene-user")
        access = iam.create_access_key(UserName="hygiene-user")["AccessKey"]
        found["iam secret access key"] = access["SecretAccessKey"].encode()
        self.collect_error(server.client(access_key=access["AccessKeyId"],
                                         secret_key=access["SecretAccessKey"]).list_keys)

        # Bad requests whose bodies carry a plaintext, on every way a request can fail.
        for label in ("too long key id", "no such key", "bad json", "bad base64",
                      "bad signature", "too large"):
            found[f"bad request plaintext ({label})"] = self.distinctive(label.replace(" ", "-"))
        b64 = lambda label: base64.b64encode(found[f"bad request plaintext ({label})"]).decode()
        self.collect_error(kms.encrypt, KeyId="k" * 3000,
                           Plaintext=found["bad request plaintext (too long key id)"])
        self.collect_error(kms.encrypt, KeyId="alias/no-such-alias",
                           Plaintext=found["bad request plaintext (no such key)"])
        self.raw_error(signed_request(server, "Encrypt", '{"KeyId":"alias/hygiene","Plaintext":"'
                                      + b64("bad json") + '"'))
        self.raw_error(signed_request(server, "Encrypt", json.dumps(
            {"KeyId": "alias/hygiene",
             "Plaintext": found["bad request plaintext (bad base64)"].decode()})))
        self.raw_error(signed_request(server, "Encrypt", {"KeyId": "alias/hygiene",
                                                          "Plaintext": b64("bad signature")},
                                      secret_key="not-the-secret-key/" + "x" * 21))
        self.raw_error(unsigned_request(server, "Encrypt", {"KeyId": "alias/hygiene",
                                                            "Plaintext": b64("bad signature")}))
        big = json.dumps({"KeyId": "alias/hygiene", "Plaintext": b64("too large"),
                          "Pad": "p" * 20000}).encode()
        self.raw_error(send_http(server, "POST", "/", big,
                                 {"Content-Type": harness.JSON_CONTENT_TYPE,
                                  "X-Amz-Target": "TrentService.Encrypt"}))

        # The secrets are where they should be: the server answered them (a check of the checks).
        self.assertIn(b"hygiene:", found["encrypt plaintext"])
        self.assertEqual(40, len(found["iam secret access key"]))

        self.assert_nothing_leaked(server, found, "while running", running=True)
        server.stop()
        self.assert_nothing_leaked(server, found, "after a clean stop", running=False)

    def assert_nothing_leaked(self, server: ScytaleServer, found: dict[str, bytes],
                              when: str, running: bool) -> None:
        places: dict[str, bytes] = {}
        places["server stdout/stderr"] = server.log_text().encode()
        for i, e in enumerate(self.errors):
            places[f"error answer {i}"] = e
        places.update(read_tree(server.data_dir, "data dir"))  # SQLite db, -wal, -shm, audit/
        names = set(places)
        if not server.store_url:
            self.assertIn("data dir:scytale.db", names)
            if running:  # the last writes are in the WAL until a checkpoint
                self.assertIn("data dir:scytale.db-wal", names)
        self.assertTrue(any(n.startswith("data dir:audit/audit-") for n in names),
                        f"no audit file read: {sorted(names)}")
        if server.store_url:
            places["pg_dump"] = self.pg_dump(server.store_url)
        leaks = find_leaks(found, places)
        self.assertEqual([], leaks, f"{when}: secrets found in {len(places)} places read")

    def pg_dump(self, url: str) -> bytes:
        cluster = harness.shared_postgres()
        name = url.rsplit("/", 1)[1].split("?")[0]
        p = subprocess.run([f"{cluster.bindir}/pg_dump", "-h", cluster.dir, "-p",
                            str(cluster.port), "-U", harness.PG_SUPERUSER, "-d", name],
                           capture_output=True, timeout=60)
        self.assertEqual(0, p.returncode, p.stderr.decode(errors="replace"))
        self.assertIn(b"key_versions", p.stdout, "the dump holds no key rows")
        return p.stdout


if __name__ == "__main__":
    unittest.main()
