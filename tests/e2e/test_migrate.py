"""`scytale migrate`: a server's SQLite store copied into PostgreSQL while the server is stopped,
then a server on PostgreSQL with the same root key serves everything as before: keys of two
regions in the same ListKeys order, their metadata, policies, tags and rotation settings,
aliases, grants, an imported key, an IAM user whose credentials still work, and every
ciphertext made before. A root key that cannot unwrap the source is refused before anything
is written, a target with rows is refused, and the password of the target's URL is never
printed."""

import os
import subprocess
import tempfile
import time
import unittest

from harness import SCYTALE_BIN, ScytaleTestCase, shared_postgres
from test_iam import allow, iam_client, policy

PASSWORD = "migrate-pw-never-printed-9Z"
REGIONS = ("us-east-1", "eu-west-1")


def all_pages(call, key, **kwargs):
    """Every item of a paginated KMS list call, two at a time (so paging order is exercised)."""
    out, marker = [], None
    while True:
        page = call(Limit=2, **({"Marker": marker} if marker else {}), **kwargs)
        out += page[key]
        if not page.get("Truncated"):
            return out
        marker = page["NextMarker"]


class MigrateTest(ScytaleTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg = shared_postgres()  # this process's cluster, destroyed at exit

    def migrate(self, *args, env=None):
        return subprocess.run([str(SCYTALE_BIN), "migrate", *args], capture_output=True,
                              text=True, timeout=300, env={**os.environ, **(env or {})})

    def fill(self, server):
        """Keys of every kind in two regions, with their satellites; returns ciphertexts."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        # IAM first: grants name existing principals.
        iam = iam_client(server.endpoint)
        iam.create_user(UserName="app", Path="/apps/")
        iam.put_user_policy(UserName="app", PolicyName="use-keys",
                            PolicyDocument=policy(allow(["kms:Encrypt", "kms:Decrypt",
                                                         "kms:DescribeKey"])))
        created = iam.create_access_key(UserName="app")["AccessKey"]
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}))
        iam.put_role_policy(RoleName="reader", PolicyName="read",
                            PolicyDocument=policy(allow("kms:Decrypt")))
        blobs = []  # (region, blob, context, plaintext)
        for region in REGIONS:
            kms = server.client(region)
            for i in range(3):
                key_id = kms.create_key(
                    Description=f"{region} key {i}",
                    Tags=[{"TagKey": "team", "TagValue": f"t{i}"},
                          {"TagKey": "env", "TagValue": region}])["KeyMetadata"]["KeyId"]
                kms.create_alias(AliasName=f"alias/app-{i}", TargetKeyId=key_id)
                context = {"region": region, "i": str(i)}
                plaintext = f"secret {region} {i}".encode()
                blobs.append((region, kms.encrypt(KeyId=key_id, Plaintext=plaintext,
                                                  EncryptionContext=context)["CiphertextBlob"],
                              context, plaintext))
                if i == 0:
                    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=120)
                    kms.rotate_key_on_demand(KeyId=key_id)
                    # Made after the rotation: encrypted under the second version.
                    blobs.append((region, kms.encrypt(KeyId=key_id, Plaintext=b"after rotation",
                                                      EncryptionContext=context)
                                  ["CiphertextBlob"], context, b"after rotation"))
                    kms.create_grant(KeyId=key_id, Name="reader",
                                     GranteePrincipal="arn:aws:iam::111122223333:role/reader",
                                     RetiringPrincipal="arn:aws:iam::111122223333:root",
                                     Operations=["Decrypt", "Encrypt"],
                                     Constraints={"EncryptionContextSubset": {"region": region}})
                    kms.create_grant(KeyId=key_id,
                                     GranteePrincipal="arn:aws:iam::111122223333:user/apps/app",
                                     Operations=["Decrypt"])
                if i == 1:
                    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy(
                        allow("kms:*", Principal={"AWS": "arn:aws:iam::111122223333:root"}),
                        {"Sid": "Marker", "Effect": "Deny", "Principal": {"AWS": "*"},
                         "Action": "kms:Sign", "Resource": "*"}))
                if i == 2 and region == "eu-west-1":
                    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=9)
                    pending = (key_id, *blobs.pop())  # decrypts only once cancelled
            # An imported key, whose material expires.
            key_id = kms.create_key(Origin="EXTERNAL",
                                    Description="imported")["KeyMetadata"]["KeyId"]
            params = kms.get_parameters_for_import(KeyId=key_id,
                                                   WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                   WrappingKeySpec="RSA_2048")
            public = serialization.load_der_public_key(params["PublicKey"])
            wrapped = public.encrypt(os.urandom(32), padding.OAEP(
                mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
            kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                    EncryptedKeyMaterial=wrapped,
                                    ExpirationModel="KEY_MATERIAL_EXPIRES",
                                    ValidTo=int(time.time()) + 86400)
            blobs.append((region, kms.encrypt(KeyId=key_id, Plaintext=b"imported")
                          ["CiphertextBlob"], {}, b"imported"))
            asym = kms.create_key(KeySpec="ECC_NIST_P256",
                                  KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName="alias/signer", TargetKeyId=asym)
        return blobs, pending, (created["AccessKeyId"], created["SecretAccessKey"])

    def snapshot(self, server):
        """What clients see: every listing, page by page, and every key's details."""
        seen = {}
        for region in REGIONS:
            kms = server.client(region)
            keys = [k["KeyId"] for k in all_pages(kms.list_keys, "Keys")]
            seen[region, "keys"] = keys
            seen[region, "aliases"] = [(a["AliasName"], a.get("TargetKeyId"))
                                       for a in all_pages(kms.list_aliases, "Aliases")]
            for key_id in keys:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                seen[region, key_id, "meta"] = meta
                seen[region, key_id, "tags"] = kms.list_resource_tags(KeyId=key_id)["Tags"]
                seen[region, key_id, "policy"] = kms.get_key_policy(
                    KeyId=key_id, PolicyName="default")["Policy"]
                seen[region, key_id, "grants"] = all_pages(kms.list_grants, "Grants",
                                                           KeyId=key_id)
                if meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["Origin"] == "AWS_KMS":
                    status = kms.get_key_rotation_status(KeyId=key_id)
                    status.pop("ResponseMetadata")
                    seen[region, key_id, "rotation"] = status
        iam = iam_client(server.endpoint)
        seen["users"] = iam.list_users()["Users"]
        seen["user policy"] = iam.get_user_policy(UserName="app", PolicyName="use-keys")
        role = iam.get_role(RoleName="reader")["Role"]
        seen["role"] = (role["RoleName"], role["RoleId"], role["Arn"], role["CreateDate"])
        seen["role policy"] = iam.get_role_policy(RoleName="reader", PolicyName="read")
        for k in ("user policy", "role policy"):
            seen[k].pop("ResponseMetadata")
        return seen

    def test_a_sqlite_store_moves_to_postgres_and_everything_is_served_as_before(self):
        data_dir = tempfile.mkdtemp(prefix="scytale-e2e-migrate-")
        source = self.start_server(name="mig-sqlite", data_dir=data_dir,
                                   args=["--store", f"sqlite:{data_dir}"])
        blobs, pending, (user_key, user_secret) = self.fill(source)
        before = self.snapshot(source)
        self.assertEqual(len(before["us-east-1", "keys"]), 5)
        source.stop()

        url = self.pg.create_database("migrated")
        secret_url = url.replace("scytale@", f"scytale:{PASSWORD}@")
        env = {"SCYTALE_MIGRATE_TO_URL": secret_url}

        # Another root key (another data directory's) unwraps nothing of the source: refused,
        # and nothing is written.
        other = self.start_server(name="mig-other-root")
        other.stop()
        wrong = self.migrate("--from", f"sqlite:{data_dir}", "--data-dir", other.data_dir,
                             env=env)
        self.assertEqual(wrong.returncode, 1, wrong.stdout + wrong.stderr)
        self.assertIn("the root keystore cannot unwrap backing key version", wrong.stderr)
        self.assertEqual(self.pg.psql("migrated", "SELECT COUNT(*) FROM keys").strip(), "0")
        # A data directory without a root key is refused too (no root key is created there).
        empty_dir = tempfile.mkdtemp(prefix="scytale-e2e-noroot-")
        no_root = self.migrate("--from", f"sqlite:{data_dir}", "--data-dir", empty_dir, env=env)
        self.assertEqual(no_root.returncode, 1)
        self.assertIn("no root key at", no_root.stderr)
        self.assertFalse(os.path.exists(os.path.join(empty_dir, "root.key")))

        started = time.monotonic()
        done = self.migrate("--from", f"sqlite:{data_dir}", "--data-dir", data_dir, env=env)
        took = time.monotonic() - started
        out = done.stdout + done.stderr
        self.assertEqual(done.returncode, 0, out)
        self.assertIn("the target reads back equal to the source", done.stdout)
        self.assertIn("postgresql://scytale:***@127.0.0.1", done.stdout)
        self.assertIn("unwraps backing key version", done.stdout)
        self.assertIn("unwraps the secret of access key", done.stdout)
        self.assertNotIn(PASSWORD, out)
        self.assertNotIn(user_secret, out)
        for table in ("keys", "key_versions", "aliases", "grants", "iam_users", "access_keys"):
            self.assertRegex(done.stdout, rf"\n{table} +(\d+) +\1  [0-9a-f]{{64}} \(equal\)")
        print(f"\nmigrate took {took:.2f} s:\n{done.stdout}")

        # Again: the target now holds rows, so it is refused and left as it is.
        again = self.migrate("--from", f"sqlite:{data_dir}", "--data-dir", data_dir, env=env)
        self.assertEqual(again.returncode, 1)
        self.assertIn("the target store is not empty", again.stderr)
        self.assertNotIn(PASSWORD, again.stdout + again.stderr)

        target = self.start_server(name="mig-postgres", store_url=url, root_from=source)
        self.assertEqual(self.snapshot(target), before)
        for region, blob, context, plaintext in blobs:
            got = target.client(region).decrypt(CiphertextBlob=blob, EncryptionContext=context)
            self.assertEqual(got["Plaintext"], plaintext)
        # The key pending deletion still is; cancelled, its ciphertext decrypts.
        pending_key, region, blob, context, plaintext = pending
        kms = target.client(region)
        with self.assertRaises(kms.exceptions.KMSInvalidStateException):
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        kms.cancel_key_deletion(KeyId=pending_key)
        kms.enable_key(KeyId=pending_key)
        self.assertEqual(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                         ["Plaintext"], plaintext)
        # The IAM user's access key works as it did, with its inline policy.
        user = target.client(access_key=user_key, secret_key=user_secret)
        region, blob, context, plaintext = blobs[0]
        self.assertEqual(user.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                         ["Plaintext"], plaintext)
        with self.assertRaises(Exception):
            user.create_key()
        # New keys continue after the copied ones in ListKeys.
        fresh = target.client().create_key()["KeyMetadata"]["KeyId"]
        keys = [k["KeyId"] for k in all_pages(target.client().list_keys, "Keys")]
        self.assertEqual(keys, before["us-east-1", "keys"] + [fresh])
        self.assertNotIn(PASSWORD, target.log_text())

    def test_bad_arguments_are_refused_with_a_message(self):
        missing = self.migrate("--from", "sqlite:/nonexistent/dir", "--to", "sqlite:/tmp/x")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("there is no scytale.db in that directory", missing.stderr)
        none = self.migrate(env={"SCYTALE_MIGRATE_FROM_URL": "", "SCYTALE_MIGRATE_TO_URL": ""})
        self.assertEqual(none.returncode, 1)
        self.assertIn("migrate needs --from and --to", none.stderr)
        same = self.migrate("--from", "sqlite:/tmp", "--to", "sqlite:/tmp")
        self.assertIn("the same store", same.stderr)
        bad = self.migrate("--from", "mysql://u:hunter2@h/db", "--to", "sqlite:/tmp/y",
                           "--data-dir", self.start_server(name="mig-root").data_dir)
        self.assertEqual(bad.returncode, 1)
        self.assertNotIn("hunter2", bad.stdout + bad.stderr)


if __name__ == "__main__":
    unittest.main()
