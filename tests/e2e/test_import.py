"""Importing key material end to end, following AWS's documented procedure with the `openssl`
command line (scripts/install-deps.sh installs it): GetParametersForImport, wrap the material
with the returned public key (`openssl pkeyutl` RSA-OAEP; for RSA_AES_KEY_WRAP_*, an AES key
under RSA-OAEP followed by `openssl enc -id-aes256-wrap-pad`), ImportKeyMaterial.

Covered, with boto3 unless said otherwise:
  - symmetric material imported with the AWS CLI v1 (and GetParametersForImport with CLI v2)
    encrypts and decrypts; DeleteImportedKeyMaterial makes the key PendingImport and its
    ciphertexts undecryptable; re-importing the same material (with another wrapping) makes
    them decrypt again; other material is refused (IncorrectKeyMaterialException);
  - imported HMAC material: GenerateMac equals a locally computed HMAC;
  - imported EC and RSA private keys sign, and the signatures verify with `openssl` under the
    locally known public key (GetPublicKey returns that key);
  - expiry: material imported with ValidTo stops working when the server's clock passes it,
    the background pass deletes it (a DeleteExpiredKeyMaterial service event in the audit
    log), and a re-import brings the key back;
  - tokens: another key's token, a changed token and an expired token are refused;
  - imported material survives a restart; the material never appears in the data directory,
    the audit log or the server log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import botocore.exceptions

import harness
from harness import ScytaleTestCase, run_aws
from test_lifecycle import set_clock, start_clocked_server, wait_until


def openssl(*args: str, input_bytes: bytes | None = None) -> bytes:
    p = subprocess.run(["openssl", *args], input=input_bytes, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {p.stderr.decode()}")
    return p.stdout


class ImportTestCase(ScytaleTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.work = tempfile.mkdtemp(prefix="scytale-e2e-import-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def path(self, name: str) -> str:
        return os.path.join(self.work, name)

    def write(self, name: str, data: bytes) -> str:
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name: str) -> bytes:
        return Path(self.path(name)).read_bytes()

    def wrap(self, params: dict, material_file: str, algorithm: str) -> bytes:
        """What AWS's guide tells a user to do with the public key, with the openssl CLI."""
        public = self.write("WrappingPublicKey.der", params["PublicKey"])
        md = "sha1" if algorithm.endswith("SHA_1") else "sha256"
        oaep = ["-keyform", "DER", "-pubin", "-inkey", public,
                "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}",
                "-pkeyopt", f"rsa_mgf1_md:{md}"]
        if algorithm.startswith("RSAES_OAEP"):
            openssl("pkeyutl", "-encrypt", "-in", material_file,
                    "-out", self.path("EncryptedKeyMaterial.bin"), *oaep)
            return self.read("EncryptedKeyMaterial.bin")
        openssl("rand", "-out", self.path("aes-key.bin"), "32")
        aes_hex = self.read("aes-key.bin").hex()
        openssl("enc", "-id-aes256-wrap-pad", "-K", aes_hex, "-iv", "A65959A6",
                "-in", material_file, "-out", self.path("key-material-wrapped.bin"))
        openssl("pkeyutl", "-encrypt", "-in", self.path("aes-key.bin"),
                "-out", self.path("aes-key-wrapped.bin"), *oaep)
        return self.read("aes-key-wrapped.bin") + self.read("key-material-wrapped.bin")

    def import_material(self, kms, key_id: str, material_file: str,
                        algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048",
                        **extra) -> dict:
        params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm,
                                               WrappingKeySpec=spec)
        encrypted = self.wrap(params, material_file, algorithm)
        if "ValidTo" not in extra:
            extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        return kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                       EncryptedKeyMaterial=encrypted, **extra)

    def external_key(self, kms, spec: str = "SYMMETRIC_DEFAULT",
                     usage: str = "ENCRYPT_DECRYPT") -> dict:
        meta = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        self.assertEqual(meta["Origin"], "EXTERNAL")
        self.assertEqual(meta["KeyState"], "PendingImport")
        self.assertFalse(meta["Enabled"])
        return meta

    def assertError(self, code: str, fn, *args, **kwargs) -> str:
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(harness.error_code(cm.exception), code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]


class ImportKeyMaterialTest(ImportTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = cls.start_class_server(name="import")
        cls.kms = cls.server.client()

    def test_symmetric_material_with_openssl_and_the_cli(self):
        kms = self.kms
        meta = self.external_key(kms)
        arn = meta["Arn"]
        self.assertEqual(
            self.assertError("KMSInvalidStateException", kms.encrypt, KeyId=arn, Plaintext=b"x"),
            f"{arn} is pending import.")

        # Step 1 with the AWS CLI (v2 where it is installed, else v1), step 3 with v1.
        material = self.write("PlaintextKeyMaterial.bin", openssl("rand", "32"))
        cli2 = harness.aws_cli_v2_path()
        cli1 = harness.aws_cli_v1_path()
        self.assertIsNotNone(cli1, "the AWS CLI v1 is needed (scripts/install-deps.sh)")
        got = run_aws(cli2 or cli1, self.server,
                      ["get-parameters-for-import", "--key-id", meta["KeyId"],
                       "--wrapping-algorithm", "RSAES_OAEP_SHA_256",
                       "--wrapping-key-spec", "RSA_3072"])
        self.assertEqual(got.returncode, 0, str(got))
        params = {"PublicKey": base64.b64decode(got.json["PublicKey"]),
                  "ImportToken": base64.b64decode(got.json["ImportToken"])}
        self.assertEqual(got.json["KeyId"], arn)
        self.assertIn("BEGIN PUBLIC KEY",
                      openssl("pkey", "-pubin", "-inform", "DER", "-in",
                              self.write("pub.der", params["PublicKey"])).decode())
        self.write("EncryptedKeyMaterial.bin",
                   self.wrap(params, material, "RSAES_OAEP_SHA_256"))
        self.write("ImportToken.bin", params["ImportToken"])
        done = run_aws(cli1, self.server,
                       ["import-key-material", "--key-id", meta["KeyId"],
                        "--encrypted-key-material", f"fileb://{self.path('EncryptedKeyMaterial.bin')}",
                        "--import-token", f"fileb://{self.path('ImportToken.bin')}",
                        "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE"])
        self.assertEqual(done.returncode, 0, str(done))
        material_id = done.json["KeyMaterialId"]
        self.assertRegex(material_id, "^[0-9a-f]{64}$")

        described = kms.describe_key(KeyId=arn)["KeyMetadata"]
        self.assertEqual(described["KeyState"], "Enabled")
        self.assertEqual(described["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertNotIn("ValidTo", described)
        self.assertEqual(described["CurrentKeyMaterialId"], material_id)
        blob = kms.encrypt(KeyId=arn, Plaintext=b"imported")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")

        # Deleting the material strands the ciphertext...
        deleted = kms.delete_imported_key_material(KeyId=arn)
        self.assertEqual(deleted["KeyMaterialId"], material_id)
        self.assertEqual(kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"], "PendingImport")
        self.assertEqual(
            self.assertError("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob),
            f"{arn} is pending import.")
        # ... other material is refused ...
        other = self.write("other.bin", openssl("rand", "32"))
        self.assertError("IncorrectKeyMaterialException", self.import_material, kms, arn, other)
        # ... and the same material, wrapped another way, brings it back.
        again = self.import_material(kms, arn, material, "RSA_AES_KEY_WRAP_SHA_1", "RSA_4096")
        self.assertEqual(again["KeyMaterialId"], material_id)
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")

    def test_imported_hmac_material_macs_like_a_local_hmac(self):
        kms = self.kms
        meta = self.external_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
        raw = openssl("rand", "32")
        self.import_material(kms, meta["Arn"], self.write("hmac.bin", raw),
                             "RSA_AES_KEY_WRAP_SHA_256")
        for message in (b"", b"message", os.urandom(4096)):
            mac = kms.generate_mac(KeyId=meta["Arn"], MacAlgorithm="HMAC_SHA_256",
                                   Message=message or b"\0")["Mac"]
            self.assertEqual(mac, hmac.new(raw, message or b"\0", hashlib.sha256).digest())

    def test_imported_private_keys_sign_and_verify_with_the_local_public_key(self):
        kms = self.kms
        cases = [("ECC_NIST_P256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                  "ECDSA_SHA_256", []),
                 ("RSA_2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                  "RSASSA_PSS_SHA_256", ["-sigopt", "rsa_padding_mode:pss",
                                         "-sigopt", "rsa_pss_saltlen:32"])]
        for spec, genpkey, algorithm, sigopts in cases:
            with self.subTest(spec=spec):
                pem = self.write(f"{spec}.pem", openssl("genpkey", *genpkey))
                der = self.write(f"{spec}.der", openssl("pkcs8", "-topk8", "-nocrypt",
                                                        "-outform", "DER", "-in", pem))
                pub_pem = self.write(f"{spec}.pub.pem", openssl("pkey", "-in", pem, "-pubout"))
                meta = self.external_key(kms, spec, "SIGN_VERIFY")
                self.import_material(kms, meta["Arn"], der, "RSA_AES_KEY_WRAP_SHA_256")
                local_der = openssl("pkey", "-in", pem, "-pubout", "-outform", "DER")
                self.assertEqual(kms.get_public_key(KeyId=meta["Arn"])["PublicKey"], local_der)
                message = b"signed with imported material"
                signature = kms.sign(KeyId=meta["Arn"], Message=message, MessageType="RAW",
                                     SigningAlgorithm=algorithm)["Signature"]
                msg_file = self.write("msg.bin", message)
                sig_file = self.write("sig.bin", signature)
                out = openssl("dgst", "-sha256", "-verify", pub_pem, *sigopts,
                              "-signature", sig_file, msg_file)
                self.assertIn(b"Verified OK", out)
                # Another key pair is not this key's material.
                stranger = self.write("stranger.pem", openssl("genpkey", *genpkey))
                stranger_der = self.write("stranger.der", openssl(
                    "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", stranger))
                self.assertError("IncorrectKeyMaterialException", self.import_material, kms,
                                 meta["Arn"], stranger_der, "RSA_AES_KEY_WRAP_SHA_256")

    def test_tokens_and_wrappings_that_do_not_fit_are_refused(self):
        kms = self.kms
        a = self.external_key(kms)
        b = self.external_key(kms)
        material = self.write("m.bin", openssl("rand", "32"))
        params_a = kms.get_parameters_for_import(KeyId=a["Arn"],
                                                 WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                                 WrappingKeySpec="RSA_2048")
        self.assertLess(abs(params_a["ParametersValidTo"].timestamp() - (time.time() + 86400)),
                        120)
        wrapped = self.wrap(params_a, material, "RSAES_OAEP_SHA_1")
        common = {"EncryptedKeyMaterial": wrapped, "ExpirationModel":
                  "KEY_MATERIAL_DOES_NOT_EXPIRE"}
        self.assertError("InvalidImportTokenException", kms.import_key_material, KeyId=b["Arn"],
                         ImportToken=params_a["ImportToken"], **common)
        changed = bytearray(params_a["ImportToken"])
        changed[-1] ^= 1
        self.assertError("InvalidImportTokenException", kms.import_key_material, KeyId=a["Arn"],
                         ImportToken=bytes(changed), **common)
        other_token = kms.get_parameters_for_import(
            KeyId=a["Arn"], WrappingAlgorithm="RSAES_OAEP_SHA_1",
            WrappingKeySpec="RSA_2048")["ImportToken"]
        self.assertError("InvalidCiphertextException", kms.import_key_material, KeyId=a["Arn"],
                         ImportToken=other_token, **common)
        self.assertError("ValidationException", kms.import_key_material, KeyId=a["Arn"],
                         ImportToken=params_a["ImportToken"], EncryptedKeyMaterial=wrapped)
        regular = kms.create_key()["KeyMetadata"]["Arn"]
        self.assertError("UnsupportedOperationException", kms.get_parameters_for_import,
                         KeyId=regular, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                         WrappingKeySpec="RSA_2048")
        self.assertError("UnsupportedOperationException", kms.delete_imported_key_material,
                         KeyId=regular)
        self.assertEqual(kms.describe_key(KeyId=a["Arn"])["KeyMetadata"]["KeyState"],
                         "PendingImport")
        kms.import_key_material(KeyId=a["Arn"], ImportToken=params_a["ImportToken"], **common)
        self.assertEqual(kms.describe_key(KeyId=a["Arn"])["KeyMetadata"]["KeyState"], "Enabled")


class ImportExpiryTest(ImportTestCase):
    def test_material_expires_tokens_expire_and_imports_survive_restarts(self):
        server, clock = start_clocked_server(self, "import-expiry")
        kms = server.client()
        raw = openssl("rand", "32")
        material = self.write("m.bin", raw)
        meta = self.external_key(kms)
        arn = meta["Arn"]
        valid_to = int(time.time()) + 300
        self.import_material(kms, arn, material, ValidTo=valid_to)
        described = kms.describe_key(KeyId=arn)["KeyMetadata"]
        self.assertEqual(described["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertEqual(int(described["ValidTo"].timestamp()), valid_to)
        blob = kms.encrypt(KeyId=arn, Plaintext=b"until it expires")["CiphertextBlob"]

        # A restart keeps the imported material and its expiry.
        server.stop()
        server.start()
        kms = server.client()
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"until it expires")

        # A token older than 24 hours is refused.
        params = kms.get_parameters_for_import(KeyId=arn, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
        wrapped = self.wrap(params, material, "RSAES_OAEP_SHA_256")
        set_clock(clock, 86400 + 60)
        time.sleep(0.5)  # the server reads the clock file at most every 200 ms
        self.assertError("ExpiredImportTokenException", kms.import_key_material, KeyId=arn,
                         ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

        # Past ValidTo the key is PendingImport, and the background pass deletes the material.
        self.assertEqual(
            self.assertError("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob),
            f"{arn} is pending import.")
        gone = wait_until(lambda: "ValidTo" not in kms.describe_key(KeyId=arn)["KeyMetadata"],
                          timeout=15)
        self.assertTrue(gone, "the background pass did not delete the expired material")
        self.assertEqual(kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"], "PendingImport")

        # Re-importing the same material (with a fresh token) brings the ciphertext back.
        self.import_material(kms, arn, material)
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"until it expires")
        server.stop()

        # The service event is in the audit log; the material is nowhere in the clear.
        audit_dir = Path(server.data_dir) / "audit"
        records = [json.loads(line) for f in sorted(audit_dir.glob("*.jsonl"))
                   for line in f.read_text().splitlines() if line.strip()]
        events = [r for r in records if r.get("eventName") == "DeleteExpiredKeyMaterial"]
        self.assertEqual(len(events), 1, [r.get("eventName") for r in records])
        self.assertEqual(events[0]["eventType"], "AwsServiceEvent")
        self.assertEqual(events[0]["resources"][0]["ARN"], arn)
        needles = [raw, raw.hex().encode(), base64.b64encode(raw)]
        places = list(Path(server.data_dir).rglob("*")) + [Path(server.log_path)]
        for place in places:
            if place.is_file():
                data = place.read_bytes()
                for needle in needles:
                    self.assertNotIn(needle, data, f"imported material found in {place}")


if __name__ == "__main__":
    unittest.main()
