"""Custom key stores (AWS_CLOUDHSM type) mapped onto PKCS#11 tokens, with boto3 and the AWS CLI:
create, connect, a key inside the token, envelope operations, disconnect (calls fail as AWS
documents), reconnect, delete rules, a wrong password, a restart, and a key object that cannot
be read out of the token.

The tokens live in a temporary directory (SOFTHSM2_CONF points at our own softhsm2.conf); the
system's token store is never touched. Without SoftHSM2 and OpenSC these tests fail (they do not
skip): run scripts/install-deps.sh.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import unittest
from typing import Optional

import botocore.exceptions

import harness
from harness import KEEP, ScytaleTestCase, aws_cli_v1_path, error_code, run_aws

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "kmsuser-e2e-pin"
TOKEN_A = "CksE2eA"
TOKEN_B = "CksE2eB"
CLUSTER_A = "cluster-eeeeeeeeeea"
CLUSTER_B = "cluster-eeeeeeeeeeb"
CLUSTER_GONE = "cluster-eeeeeeeeeec"  # configured, but its token does not exist
CLUSTER_ANCHORED = "cluster-eeeeeeeeeed"  # token B, configured with trust anchor B

_tmp: Optional[str] = None
ANCHOR_A = ""
ANCHOR_B = ""


def setUpModule() -> None:
    global _tmp, ANCHOR_A, ANCHOR_B
    missing = [p for p in (MODULE,) if not os.path.exists(p)]
    missing += [t for t in ("softhsm2-util", "pkcs11-tool", "openssl") if shutil.which(t) is None]
    if missing:
        raise AssertionError(f"SoftHSM2/OpenSC missing ({', '.join(missing)}): run "
                             "scripts/install-deps.sh")
    _tmp = harness.softhsm_token_dir("scytale-e2e-cks-")
    for label in (TOKEN_A, TOKEN_B):
        harness.init_softhsm_token(label, PIN, "e2e-so-pin")
    for name in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-subj", f"/CN=customerCA-{name}", "-keyout",
                        os.path.join(_tmp, f"{name}.key"), "-out", os.path.join(_tmp, f"{name}.pem")],
                       check=True, capture_output=True)
    with open(os.path.join(_tmp, "a.pem")) as f:
        ANCHOR_A = f.read()
    with open(os.path.join(_tmp, "b.pem")) as f:
        ANCHOR_B = f.read()


def tearDownModule() -> None:
    if _tmp and not KEEP:
        shutil.rmtree(_tmp, ignore_errors=True)


def cluster_args() -> list[str]:
    return ["--cloudhsm-cluster", f"{CLUSTER_A}={MODULE}:{TOKEN_A}",
            "--cloudhsm-cluster", f"{CLUSTER_B}={MODULE}:{TOKEN_B}",
            "--cloudhsm-cluster", f"{CLUSTER_GONE}={MODULE}:NoSuchToken",
            "--cloudhsm-cluster", f"{CLUSTER_ANCHORED}={MODULE}:{TOKEN_B}:"
                                  f"{os.path.join(_tmp, 'b.pem')}"]


def pkcs11_tool(token: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pkcs11-tool", "--module", MODULE, "--token-label", token, "--login",
                           "--pin", PIN, *args], capture_output=True, text=True)


class CustomKeyStoreTest(ScytaleTestCase):
    def setUp(self) -> None:
        super().setUp()
        # The anchored cluster shares token B: a server gets it only when asked (one token backs
        # one cluster).
        self.server = self.start_server(name="cks", args=cluster_args()[:6])
        self.kms = self.server.client()

    def create_store(self, name: str, cluster: str = CLUSTER_A, password: str = PIN,
                     anchor: Optional[str] = None) -> str:
        out = self.kms.create_custom_key_store(
            CustomKeyStoreName=name, CloudHsmClusterId=cluster,
            TrustAnchorCertificate=anchor or ANCHOR_A, KeyStorePassword=password)
        store_id = out["CustomKeyStoreId"]
        self.assertRegex(store_id, r"^cks-[0-9a-f]{17}$")
        return store_id

    def describe(self, store_id: str) -> dict:
        stores = self.kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
        self.assertEqual(1, len(stores))
        return stores[0]

    def connect(self, store_id: str) -> None:
        self.kms.connect_custom_key_store(CustomKeyStoreId=store_id)
        self.assertEqual("CONNECTED", self.describe(store_id)["ConnectionState"])

    def create_key_in(self, store_id: str) -> dict:
        return self.kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id,
                                   Description="in the token")["KeyMetadata"]

    def test_create_connect_use_disconnect_reconnect_and_delete(self):
        store_id = self.create_store("e2e-store")
        entry = self.describe(store_id)
        self.assertEqual("e2e-store", entry["CustomKeyStoreName"])
        self.assertEqual(CLUSTER_A, entry["CloudHsmClusterId"])
        self.assertEqual(ANCHOR_A, entry["TrustAnchorCertificate"])
        self.assertEqual("DISCONNECTED", entry["ConnectionState"])
        self.assertEqual("AWS_CLOUDHSM", entry["CustomKeyStoreType"])
        self.assertNotIn("ConnectionErrorCode", entry)
        self.assertNotIn("KeyStorePassword", entry)
        # Keys need a connected store.
        self.assertClientError("CustomKeyStoreInvalidStateException", self.kms.create_key,
                               Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
        self.connect(store_id)
        self.kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # connected: no-op

        key = self.create_key_in(store_id)
        self.assertEqual("AWS_CLOUDHSM", key["Origin"])
        self.assertEqual(store_id, key["CustomKeyStoreId"])
        self.assertEqual(CLUSTER_A, key["CloudHsmClusterId"])
        self.assertEqual("Enabled", key["KeyState"])
        self.assertEqual("SYMMETRIC_DEFAULT", key["KeySpec"])
        described = self.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        self.assertEqual(store_id, described["CustomKeyStoreId"])
        self.assertEqual(CLUSTER_A, described["CloudHsmClusterId"])

        context = {"purpose": "cks-e2e"}
        enc = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"inside the HSM",
                               EncryptionContext=context)
        self.assertEqual(key["Arn"], enc["KeyId"])
        dec = self.kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=context)
        self.assertEqual(b"inside the HSM", dec["Plaintext"])
        self.assertEqual(key["Arn"], dec["KeyId"])
        self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                               CiphertextBlob=enc["CiphertextBlob"],
                               EncryptionContext={"purpose": "other"})
        dk = self.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
        self.assertEqual(32, len(dk["Plaintext"]))
        self.assertEqual(dk["Plaintext"],
                         self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"])
        dk_np = self.kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=24)
        self.assertEqual(24, len(self.kms.decrypt(CiphertextBlob=dk_np["CiphertextBlob"])["Plaintext"]))
        soft_key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        moved = self.kms.re_encrypt(CiphertextBlob=enc["CiphertextBlob"],
                                    SourceEncryptionContext=context, DestinationKeyId=soft_key)
        back = self.kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"],
                                   DestinationKeyId=key["KeyId"])
        self.assertEqual(b"inside the HSM",
                         self.kms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"])
        random = self.kms.generate_random(NumberOfBytes=64, CustomKeyStoreId=store_id)
        self.assertEqual(64, len(random["Plaintext"]))
        # Rotation and imported material are not for keys in a custom key store.
        self.assertClientError("UnsupportedOperationException", self.kms.enable_key_rotation,
                               KeyId=key["KeyId"])
        self.assertClientError("UnsupportedOperationException", self.kms.create_key,
                               Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id,
                               KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")

        # Delete rules: not while connected, not while it holds keys.
        self.assertClientError("CustomKeyStoreInvalidStateException",
                               self.kms.delete_custom_key_store, CustomKeyStoreId=store_id)
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
        self.assertEqual("DISCONNECTED", self.describe(store_id)["ConnectionState"])
        self.assertClientError("CustomKeyStoreInvalidStateException",
                               self.kms.disconnect_custom_key_store, CustomKeyStoreId=store_id)
        self.assertClientError("CustomKeyStoreHasCMKsException",
                               self.kms.delete_custom_key_store, CustomKeyStoreId=store_id)

        # Disconnected: the key is Unavailable and its crypto calls fail as AWS documents.
        described = self.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        self.assertEqual("Unavailable", described["KeyState"])
        self.assertFalse(described["Enabled"])
        self.assertClientError("KMSInvalidStateException", self.kms.encrypt, KeyId=key["KeyId"],
                               Plaintext=b"x", message_prefix=f"{key['Arn']} is unavailable.")
        self.assertClientError("KMSInvalidStateException", self.kms.decrypt,
                               CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=context)
        self.assertClientError("KMSInvalidStateException", self.kms.generate_data_key,
                               KeyId=key["KeyId"], KeySpec="AES_128")
        self.assertClientError("CustomKeyStoreInvalidStateException", self.kms.generate_random,
                               NumberOfBytes=8, CustomKeyStoreId=store_id)

        # Reconnected: the old ciphertext decrypts again.
        self.connect(store_id)
        self.assertEqual("Enabled", self.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"])
        self.assertEqual(b"inside the HSM",
                         self.kms.decrypt(CiphertextBlob=enc["CiphertextBlob"],
                                          EncryptionContext=context)["Plaintext"])

        # An empty, disconnected store is deleted.
        empty = self.create_store("empty-store", cluster=CLUSTER_B)
        self.connect(empty)
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=empty)
        self.kms.delete_custom_key_store(CustomKeyStoreId=empty)
        self.assertClientError("CustomKeyStoreNotFoundException",
                               self.kms.describe_custom_key_stores, CustomKeyStoreId=empty)
        names = [s["CustomKeyStoreName"]
                 for s in self.kms.describe_custom_key_stores()["CustomKeyStores"]]
        self.assertEqual(["e2e-store"], names)

    def test_wrong_password_fails_with_invalid_credentials_until_updated(self):
        store_id = self.create_store("wrong-pin", password="not-the-pin")
        self.kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # asynchronous in AWS
        entry = self.describe(store_id)
        self.assertEqual("FAILED", entry["ConnectionState"])
        self.assertEqual("INVALID_CREDENTIALS", entry["ConnectionErrorCode"])
        self.assertClientError("CustomKeyStoreInvalidStateException",
                               self.kms.connect_custom_key_store, CustomKeyStoreId=store_id)
        self.assertClientError("CustomKeyStoreInvalidStateException",
                               self.kms.update_custom_key_store, CustomKeyStoreId=store_id,
                               KeyStorePassword=PIN)
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
        self.kms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword=PIN,
                                         NewCustomKeyStoreName="right-pin")
        self.connect(store_id)
        self.assertEqual("right-pin", self.describe(store_id)["CustomKeyStoreName"])
        # Neither password reached the audit log or the server's log.
        audit = ""
        for path in glob.glob(os.path.join(self.server.data_dir, "audit", "*")):
            with open(path, errors="replace") as f:
                audit += f.read()
        self.assertIn("CreateCustomKeyStore", audit)
        self.assertIn("UpdateCustomKeyStore", audit)
        for secret in (PIN, "not-the-pin"):
            self.assertNotIn(secret, audit)
            self.assertNotIn(secret, self.server.log_text())

    def test_missing_token_fails_with_cluster_not_found(self):
        store_id = self.create_store("gone", cluster=CLUSTER_GONE)
        self.kms.connect_custom_key_store(CustomKeyStoreId=store_id)
        entry = self.describe(store_id)
        self.assertEqual("FAILED", entry["ConnectionState"])
        self.assertEqual("CLUSTER_NOT_FOUND", entry["ConnectionErrorCode"])

    def test_create_refuses_what_aws_refuses(self):
        self.assertClientError("CloudHsmClusterNotFoundException", self.create_store, "x",
                               cluster="cluster-nnnnnnnnnnn")
        self.assertClientError("ValidationException", self.create_store, "x",
                               cluster="cluster-1234567890a")
        self.assertClientError("UnsupportedOperationException", self.kms.create_custom_key_store,
                               CustomKeyStoreName="xks", CustomKeyStoreType="EXTERNAL_KEY_STORE")
        self.assertClientError("IncorrectTrustAnchorException", self.create_store, "x",
                               anchor="-----BEGIN CERTIFICATE-----\nnope\n")
        self.create_store("taken")
        self.assertClientError("CustomKeyStoreNameInUseException", self.create_store, "taken",
                               cluster=CLUSTER_B)
        self.assertClientError("CloudHsmClusterInUseException", self.create_store, "other")
        self.assertClientError("CustomKeyStoreNotFoundException",
                               self.kms.connect_custom_key_store,
                               CustomKeyStoreId="cks-00000000000000000")
        self.assertClientError("ValidationException", self.kms.create_key,
                               Origin="AWS_CLOUDHSM")

    def test_trust_anchor_of_a_configured_cluster_must_match(self):
        server = self.start_server(name="cks-anchored",
                                   args=cluster_args()[:2] + cluster_args()[6:])
        kms = server.client()
        self.assertClientError("IncorrectTrustAnchorException", kms.create_custom_key_store,
                               CustomKeyStoreName="s", CloudHsmClusterId=CLUSTER_ANCHORED,
                               TrustAnchorCertificate=ANCHOR_A, KeyStorePassword=PIN)
        kms.create_custom_key_store(CustomKeyStoreName="s", CloudHsmClusterId=CLUSTER_ANCHORED,
                                    TrustAnchorCertificate=ANCHOR_B, KeyStorePassword=PIN)

    def test_a_disconnect_through_one_node_closes_the_store_on_the_other(self):
        """Two nodes on one PostgreSQL: B has the store's token open (it used a key of it);
        a disconnect through A makes the key Unavailable on B within a second, and a connect
        through A makes it usable on B again."""
        url = harness.new_postgres_database()
        a = self.start_server(name="cks-pg-a", store_url=url, args=cluster_args()[:6])
        b = self.start_server(name="cks-pg-b", store_url=url, args=cluster_args()[:6],
                              root_from=a)
        ka, kb = a.client(), b.client()
        store_id = ka.create_custom_key_store(
            CustomKeyStoreName="two-nodes", CloudHsmClusterId=CLUSTER_A,
            TrustAnchorCertificate=ANCHOR_A, KeyStorePassword=PIN)["CustomKeyStoreId"]
        ka.connect_custom_key_store(CustomKeyStoreId=store_id)
        key_id = ka.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]["KeyId"]
        blob = kb.encrypt(KeyId=key_id, Plaintext=b"in the token")["CiphertextBlob"]

        def decrypt_on_b():
            try:
                return kb.decrypt(CiphertextBlob=blob)["Plaintext"]
            except botocore.exceptions.ClientError as e:
                return error_code(e)

        def within_a_second(want):
            harness.assert_within(self, decrypt_on_b, want, 1.0)

        self.assertEqual(b"in the token", decrypt_on_b())
        ka.disconnect_custom_key_store(CustomKeyStoreId=store_id)
        within_a_second("KMSInvalidStateException")
        self.assertEqual("Unavailable", kb.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])
        ka.connect_custom_key_store(CustomKeyStoreId=store_id)
        within_a_second(b"in the token")

    def test_connected_store_stays_connected_across_a_restart(self):
        store_id = self.create_store("restart")
        self.connect(store_id)
        key = self.create_key_in(store_id)
        enc = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"kept")
        self.server.stop()
        self.server.start()
        self.assertTrue(any("custom key stores: 1 connected again" in line
                            for line in self.server.stdout_lines), self.server.stdout_lines)
        kms = self.server.client()
        self.assertEqual("CONNECTED", kms.describe_custom_key_stores(
            CustomKeyStoreId=store_id)["CustomKeyStores"][0]["ConnectionState"])
        self.assertEqual(b"kept", kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])["Plaintext"])

    def test_key_object_in_the_token_cannot_be_read(self):
        store_id = self.create_store("extract")
        self.connect(store_id)
        key_id = self.create_key_in(store_id)["KeyId"]
        listed = pkcs11_tool(TOKEN_A, "--list-objects", "--type", "secrkey")
        self.assertEqual(0, listed.returncode, listed.stderr)
        at = listed.stdout.index(key_id)
        block = listed.stdout[max(0, at - 200):at + 400]
        self.assertIn("AES", block)
        self.assertIn("never extractable", block)
        self.assertIn("sensitive", block)
        out = os.path.join(_tmp, f"stolen-{key_id}")
        read = pkcs11_tool(TOKEN_A, "--read-object", "--type", "secrkey", "--label", key_id,
                           "--output-file", out)
        self.assertNotEqual(0, read.returncode, read.stdout + read.stderr)
        self.assertFalse(os.path.exists(out) and os.path.getsize(out) > 0)

    def test_aws_cli_v1_describes_and_connects(self):
        cli = aws_cli_v1_path()
        self.assertIsNotNone(cli, "AWS CLI v1 not found")
        store_id = self.create_store("cli")
        res = run_aws(cli, self.server, ["connect-custom-key-store", "--custom-key-store-id",
                                         store_id])
        self.assertEqual(0, res.returncode, str(res))
        res = run_aws(cli, self.server, ["describe-custom-key-stores", "--custom-key-store-name",
                                         "cli"])
        self.assertEqual(0, res.returncode, str(res))
        self.assertEqual("CONNECTED", res.json["CustomKeyStores"][0]["ConnectionState"])
        res = run_aws(cli, self.server, ["create-key", "--origin", "AWS_CLOUDHSM",
                                         "--custom-key-store-id", store_id])
        self.assertEqual(0, res.returncode, str(res))
        self.assertEqual(store_id, res.json["KeyMetadata"]["CustomKeyStoreId"])
        res = run_aws(cli, self.server, ["delete-custom-key-store", "--custom-key-store-id",
                                         store_id])
        self.assertEqual("CustomKeyStoreInvalidStateException", res.error_code, str(res))


if __name__ == "__main__":
    unittest.main()
