"""PostgreSQL as the store: `scytale serve` with SCYTALE_STORE_URL=postgres://... against a
private cluster this module starts (initdb in a temporary directory), data that outlives a
restart of the node, two nodes on one database (keys, imported key material), a race of
CreateAlias across nodes, and a node that rides out a restart of PostgreSQL (/healthz says when
the database is down)."""

import base64
import concurrent.futures
import os
import shutil
import tempfile
import time
import unittest

import botocore.exceptions

from harness import (PostgresTestCase, ScytaleServer, assert_within, error_code, http_get,
                     signed_request)
from test_iam import allow, iam_client, policy

PASSWORD = "pw-must-never-be-logged-7Q"


class PostgresStoreTest(PostgresTestCase):

    def node(self, db_url: str, name: str, root_from=None) -> ScytaleServer:
        return self.start_server(store_url=db_url, name=name, root_from=root_from)

    def test_keys_aliases_and_ciphertexts_outlive_a_restart_of_the_node(self):
        url = self.pg.create_database("restart_node")
        a = self.node(url.replace("scytale@", f"scytale:{PASSWORD}@"), "pg-a")
        kms = a.client()
        key_id = kms.create_key(Description="on postgres")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/pg-app", TargetKeyId=key_id)
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "storage"}])
        blob = kms.encrypt(KeyId="alias/pg-app", Plaintext=b"kept in postgres",
                           EncryptionContext={"app": "pg"})["CiphertextBlob"]
        self.assertFalse(os.path.exists(os.path.join(a.data_dir, "scytale.db")),
                         "the SQLite file was created although the store is PostgreSQL")
        self.assertIn("store postgresql://scytale:***@127.0.0.1", "\n".join(a.stdout_lines))
        with open(f"/proc/{a.proc.pid}/cmdline", "rb") as f:
            self.assertNotIn(b"postgres", f.read(), "the store URL is on the command line")

        a.stop()
        a.start()
        kms = a.client()
        self.assertEqual(kms.describe_key(KeyId="alias/pg-app")["KeyMetadata"]["KeyId"], key_id)
        self.assertEqual(kms.list_resource_tags(KeyId=key_id)["Tags"],
                         [{"TagKey": "team", "TagValue": "storage"}])
        out = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "pg"})
        self.assertEqual(out["Plaintext"], b"kept in postgres")
        self.assertEqual(out["KeyId"].split("/")[-1], key_id)
        self.assertEqual(self.pg.psql("restart_node", "SELECT MAX(version) FROM schema_migrations")
                         .strip(), self.pg.psql("restart_node",
                                                "SELECT COUNT(*) FROM schema_migrations").strip())
        self.assertNotIn(PASSWORD, a.log_text())
        self.assertNotIn(PASSWORD, "\n".join(a.stdout_lines))

    def test_imported_material_and_its_deletion_are_seen_by_both_nodes(self):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        url = self.pg.create_database("imported")
        a = self.node(url, "pg-a")
        b = self.node(url, "pg-b", root_from=a)
        ka, kb = a.client(), b.client()
        key_id = ka.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        self.assertEqual(kb.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingImport")
        material = os.urandom(32)

        def import_on(kms, valid_to=None):
            params = kms.get_parameters_for_import(KeyId=key_id,
                                                   WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                   WrappingKeySpec="RSA_2048")
            public = serialization.load_der_public_key(params["PublicKey"])
            wrapped = public.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                            algorithm=hashes.SHA256(), label=None))
            extra = ({"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": valid_to}
                     if valid_to else {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"})
            kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                    EncryptedKeyMaterial=wrapped, **extra)

        valid_to = int(time.time()) + 86400
        import_on(ka, valid_to)
        meta = kb.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertEqual(meta["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertEqual(int(meta["ValidTo"].timestamp()), valid_to)
        blob = kb.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
        self.assertEqual(ka.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")

        # Deleting the material keeps its version row with an empty (not NULL) blob.
        ka.delete_imported_key_material(KeyId=key_id)
        self.assertEqual(kb.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingImport")
        self.assertEqual(self.pg.psql("imported", "SELECT octet_length(wrapped_material) FROM "
                                                  f"key_versions WHERE key_id = '{key_id}'")
                         .strip(), "0")
        # The same material, imported again on the other node, opens the old ciphertext.
        import_on(kb)
        self.assertEqual(ka.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"], "Enabled")
        self.assertEqual(ka.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")
        self.assertEqual(self.pg.psql("imported", "SELECT COUNT(*) FROM key_versions WHERE "
                                                  f"key_id = '{key_id}'").strip(), "1")

    def test_two_nodes_on_one_database_serve_the_same_keys(self):
        url = self.pg.create_database("two_nodes")
        a = self.node(url, "pg-a")
        b = self.node(url, "pg-b", root_from=a)
        ka, kb = a.client(), b.client()
        key_id = ka.create_key(Description="made on A")["KeyMetadata"]["KeyId"]
        self.assertEqual(kb.describe_key(KeyId=key_id)["KeyMetadata"]["Description"], "made on A")
        blob = kb.encrypt(KeyId=key_id, Plaintext=b"from B")["CiphertextBlob"]
        self.assertEqual(ka.decrypt(CiphertextBlob=blob)["Plaintext"], b"from B")
        kb.create_alias(AliasName="alias/made-on-b", TargetKeyId=key_id)
        names = [x["AliasName"] for x in ka.list_aliases(KeyId=key_id)["Aliases"]]
        self.assertEqual(names, ["alias/made-on-b"])
        other = kb.create_key()["KeyMetadata"]["KeyId"]
        ids = {k["KeyId"] for k in ka.list_keys()["Keys"]}
        self.assertTrue({key_id, other} <= ids)
        grant = ka.create_grant(KeyId=key_id, GranteePrincipal="arn:aws:iam::111122223333:root",
                                Operations=["Decrypt"], Name="shared")["GrantId"]
        again = kb.create_grant(KeyId=key_id, GranteePrincipal="arn:aws:iam::111122223333:root",
                                Operations=["Decrypt"], Name="shared")["GrantId"]
        self.assertEqual(grant, again)

    def test_changes_through_one_node_bind_the_other_within_the_documented_bound(self):
        """Each node caches what calls read and drops it on PostgreSQL's change notifications
        (README: applies on every node within milliseconds). Checked with a 1 s bound: a key
        disabled, a key policy, a rotation, an identity policy and an access key deleted through
        A all bind B."""
        url = self.pg.create_database("cross_node")
        a = self.node(url, "pg-a")
        b = self.node(url, "pg-b", root_from=a)
        ka, kb = a.client(), b.client()
        key_id = ka.create_key()["KeyMetadata"]["KeyId"]
        blob = kb.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]

        def within_a_second(check, want):
            return assert_within(self, check, want, 1.0)

        def decrypt_on_b():
            try:
                return kb.decrypt(CiphertextBlob=blob)["Plaintext"]
            except botocore.exceptions.ClientError as e:
                return error_code(e)

        self.assertEqual(decrypt_on_b(), b"x")  # cached on B now
        ka.disable_key(KeyId=key_id)
        within_a_second(decrypt_on_b, "DisabledException")
        ka.enable_key(KeyId=key_id)
        within_a_second(decrypt_on_b, b"x")

        # A key policy that denies Decrypt to everyone, put through A, binds B.
        deny = ('{"Version":"2012-10-17","Statement":['
                '{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},'
                '"Action":"kms:*","Resource":"*"},'
                '{"Sid":"no","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}')
        ka.put_key_policy(KeyId=key_id, PolicyName="default", Policy=deny)
        within_a_second(decrypt_on_b, "AccessDeniedException")

        # A rotation through A: B encrypts with the new backing version. The version id is in the
        # blob's header, after the ARN (docs/ciphertext-format.md).
        def version_on_b():
            out = kb.encrypt(KeyId=key_id, Plaintext=b"v")["CiphertextBlob"]
            return out[2 + out[1]:2 + out[1] + 32]

        before = version_on_b()
        ka.rotate_key_on_demand(KeyId=key_id)
        within_a_second(lambda: version_on_b() != before, True)

        # An IAM user made on A, allowed on A, then denied on A.
        iam = iam_client(a.endpoint)
        iam.create_user(UserName="cross-node")
        ak = iam.create_access_key(UserName="cross-node")["AccessKey"]
        user_b = b.client(access_key=ak["AccessKeyId"], secret_key=ak["SecretAccessKey"])
        iam.put_user_policy(UserName="cross-node", PolicyName="use",
                            PolicyDocument=policy(allow(["kms:Encrypt", "kms:Decrypt"])))

        def outcome():
            try:
                user_b.encrypt(KeyId=key_id, Plaintext=b"y")
                return "allowed"
            except botocore.exceptions.ClientError as e:
                return error_code(e)

        within_a_second(outcome, "allowed")
        iam.delete_user_policy(UserName="cross-node", PolicyName="use")
        within_a_second(outcome, "AccessDeniedException")
        # The user's access key deleted through A stops working on B.
        iam.delete_access_key(UserName="cross-node", AccessKeyId=ak["AccessKeyId"])
        within_a_second(outcome, "UnrecognizedClientException")

    def test_encrypt_and_decrypt_do_not_touch_the_database(self):
        """Once a key, its backing version and the caller's access key are cached, Encrypt,
        Decrypt and GenerateDataKey run no transaction in PostgreSQL (pg_stat_database)."""
        url = self.pg.create_database("hot_path")
        a = self.node(url, "pg-a")
        kms = a.client()
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/hot", TargetKeyId=key_id)
        blob = kms.encrypt(KeyId="alias/hot", Plaintext=b"warm")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")

        def transactions() -> int:
            time.sleep(1.2)  # a backend's counts reach pg_stat_database within a second
            out = self.pg.psql("hot_path", "SELECT xact_commit + xact_rollback FROM "
                               "pg_stat_database WHERE datname = 'hot_path'")
            return int(out.strip())

        before = transactions()
        for _ in range(50):
            blob = kms.encrypt(KeyId="alias/hot", Plaintext=b"hot")["CiphertextBlob"]
            self.assertEqual(b"hot", kms.decrypt(CiphertextBlob=blob)["Plaintext"])
            kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        after = transactions()
        # 150 calls; the psql query itself and a maintenance pass may count a few.
        self.assertLess(after - before, 10, (before, after))

    def test_concurrent_create_alias_of_one_name_across_nodes_lets_exactly_one_win(self):
        url = self.pg.create_database("alias_race")
        a = self.node(url, "pg-a")
        b = self.node(url, "pg-b", root_from=a)
        keys = [a.client().create_key()["KeyMetadata"]["KeyId"] for _ in range(4)]
        clients = [a.client(max_pool_connections=50), b.client(max_pool_connections=50)]

        def attempt(i: int, name: str) -> str:
            try:
                clients[i % 2].create_alias(AliasName=name, TargetKeyId=keys[i % len(keys)])
                return "ok"
            except botocore.exceptions.ClientError as e:
                return error_code(e)

        for round_ in range(2):
            name = f"alias/race-{round_}"
            with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
                outcomes = list(pool.map(lambda i: attempt(i, name), range(40)))
            self.assertEqual(outcomes.count("ok"), 1, outcomes)
            self.assertEqual(outcomes.count("AlreadyExistsException"), 39, outcomes)
            target = a.client().describe_key(KeyId=name)["KeyMetadata"]["KeyId"]
            self.assertEqual(b.client().describe_key(KeyId=name)["KeyMetadata"]["KeyId"], target)

    def test_background_work_runs_once_per_cluster_not_once_per_node(self):
        """Three nodes, one key clock, a maintenance pass every second on each: keys due for
        deletion and rotation at the same moment are deleted and rotated once, with one
        service event each across the three audit logs. (The passes take an advisory lock,
        checked in caching_store_test; revision checks would also stop a second rotation, so
        this checks the outcome, not which of the two guards gave it.)"""
        from test_audit import audit_dir, records
        from test_lifecycle import set_clock
        url = self.pg.create_database("maintenance_once")
        clock_dir = tempfile.mkdtemp(prefix="scytale-e2e-clock-")
        self.addCleanup(shutil.rmtree, clock_dir, True)
        clock = os.path.join(clock_dir, "clock")
        set_clock(clock, 0)
        args = ["--testing-clock-file", clock, "--maintenance-interval-seconds", "1"]
        a = self.start_server(store_url=url, name="pg-a", args=args)
        nodes = [a] + [self.start_server(store_url=url, name=f"pg-{n}", args=args, root_from=a)
                       for n in ("b", "c")]
        kms = a.client()
        rotated = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(12)]
        doomed = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(8)]
        for key_id in rotated:
            kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        for key_id in doomed:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

        set_clock(clock, 91 * 86400)

        def service_events():
            return [r for node in nodes for r in records(audit_dir(node))
                    if r["eventType"] == "AwsServiceEvent"]

        deadline = time.monotonic() + 20
        while len(service_events()) < len(rotated) + len(doomed):
            self.assertLess(time.monotonic(), deadline, a.log_tail())
            time.sleep(0.2)
        time.sleep(3)  # three more passes on every node: nothing more may happen
        events = service_events()
        per_key = {}
        for r in events:
            key = (r["eventName"], r["resources"][0]["ARN"].rsplit("/", 1)[1])
            per_key[key] = per_key.get(key, 0) + 1
        want = {("RotateKey", k): 1 for k in rotated}
        want.update({("DeleteKey", k): 1 for k in doomed})
        self.assertEqual(want, per_key)
        for node in nodes:
            client = node.client()
            for key_id in rotated:
                automatic = [r for r in client.list_key_rotations(KeyId=key_id)["Rotations"]
                             if r.get("RotationType") == "AUTOMATIC"]
                self.assertEqual(1, len(automatic), (node.name, key_id))

    def test_a_node_rides_out_a_restart_of_postgres(self):
        url = self.pg.create_database("pg_restart")
        a = self.node(url, "pg-a")
        kms = a.client()
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        pid = a.proc.pid
        self.pg.stop()
        try:
            status, _, body = http_get(a.host, a.port, "/healthz", timeout=30)
            self.assertEqual(status, 503, body)
            self.assertIn(b'"database":"down"', body)
            with self.assertRaises(botocore.exceptions.ClientError) as caught:
                kms.create_key(Description="while the database is down")
            self.assertIn(error_code(caught.exception),
                          ("KMSInternalException", "DependencyTimeoutException"))
            self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
            r = signed_request(a, "ListAliases", {})
            self.assertEqual(r.status, 500, r)
        finally:
            self.pg.start()
        deadline = time.monotonic() + 20
        while http_get(a.host, a.port, "/healthz", timeout=30)[0] != 200:
            self.assertLess(time.monotonic(), deadline, "/healthz stayed down after the restart")
            time.sleep(0.2)
        self.assertEqual(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"], key_id)
        self.assertTrue(kms.create_key(Description="after")["KeyMetadata"]["KeyId"])
        self.assertEqual(a.proc.pid, pid)
        self.assertTrue(a.running)


if __name__ == "__main__":
    unittest.main()
