"""Durability: clean restarts, SIGKILL in the middle of a CreateKey burst, admin credentials."""

from __future__ import annotations

import os
import stat
import threading
import time
import unittest

import botocore.exceptions

from harness import (ScytaleServer, ScytaleTestCase, kms_client, list_all_keys,
                     read_ini_credentials)


class RestartTest(ScytaleTestCase):
    def test_keys_survive_clean_restart(self):
        server = self.start_server(name="persist-restart")
        created = {}
        for region, n in (("us-east-1", 5), ("eu-west-1", 2)):
            kms = server.client(region)
            for i in range(n):
                md = kms.create_key(Description=f"{region} key {i}")["KeyMetadata"]
                created[md["KeyId"]] = (region, md)
        old_port = server.port
        server.stop()                      # SIGTERM → exit code 0 (asserted)
        server.start()
        self.assertTrue(server.port, f"restarted (old port {old_port})")
        for key_id, (region, md) in created.items():
            with self.subTest(key=key_id):
                got = server.client(region).describe_key(KeyId=key_id)["KeyMetadata"]
                self.assertEqual(md, got)
        for region in ("us-east-1", "eu-west-1"):
            listed = {k["KeyId"] for k in list_all_keys(server.client(region))}
            expected = {k for k, (r, _) in created.items() if r == region}
            self.assertEqual(expected, listed, region)
        # Still writable after the restart, and a second restart keeps everything.
        extra = server.client().create_key(Description="after restart")["KeyMetadata"]
        server.stop()
        server.start()
        self.assertEqual(extra, server.client().describe_key(KeyId=extra["KeyId"])["KeyMetadata"])
        self.assertEqual(6, len(list_all_keys(server.client())))
        server.stop()

    def test_acknowledged_keys_survive_sigkill_mid_burst(self):
        server = self.start_server(name="persist-kill")
        acked: list[tuple[str, dict]] = []
        lock = threading.Lock()
        stop = threading.Event()
        failures: list[str] = []
        regions = ["us-east-1", "us-east-1", "eu-west-1", "us-west-2", "us-east-1", "ap-south-1"]
        clients = [server.client(r, connect_timeout=2, read_timeout=10) for r in regions]

        def worker(idx: int) -> None:
            kms, region = clients[idx], regions[idx]
            i = 0
            while not stop.is_set():
                try:
                    md = kms.create_key(Description=f"burst {idx}/{i}")["KeyMetadata"]
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    if not stop.is_set():
                        failures.append(f"worker {idx}: {e!r}")
                    return
                with lock:
                    acked.append((region, md))
                i += 1

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(clients))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 200:
                    break
            time.sleep(0.01)
        # Kill while requests are in flight; whatever was acknowledged must be durable.
        with lock:
            n_before_kill = len(acked)
        stop.set()
        server.kill()
        for t in threads:
            t.join(20)
        self.assertEqual([], failures, "CreateKey failed before the kill")
        self.assertGreaterEqual(n_before_kill, 50, "the burst produced too few keys to be meaningful")
        snapshot = list(acked)   # includes responses that completed just before the kill

        server.start()
        missing = []
        after = {r: server.client(r) for r in set(regions)}
        for region, md in snapshot:
            try:
                got = after[region].describe_key(KeyId=md["KeyId"])["KeyMetadata"]
                self.assertEqual(md, got)
            except botocore.exceptions.ClientError as e:
                missing.append((region, md["KeyId"], e.response["Error"]["Code"]))
        self.assertEqual([], missing, f"{len(missing)} of {len(snapshot)} acknowledged keys lost")
        # Listing agrees (extra keys whose response was lost in the kill are allowed).
        for region in set(regions):
            listed = {k["KeyId"] for k in list_all_keys(after[region])}
            want = {md["KeyId"] for r, md in snapshot if r == region}
            self.assertLessEqual(want, listed, region)
        # The database is usable after the crash.
        md = server.client().create_key(Description="after crash")["KeyMetadata"]
        self.assertEqual(md, server.client().describe_key(KeyId=md["KeyId"])["KeyMetadata"])
        server.stop()


class GeneratedCredentialsTest(ScytaleTestCase):
    def test_generated_admin_credentials(self):
        server = self.start_server(name="persist-creds", env_creds=False)
        self.assertIsNotNone(server.creds_written_path,
                             f"no 'admin credentials written to' line; stdout: {server.stdout_lines}")
        expected_path = os.path.join(server.data_dir, "admin-credentials")
        self.assertEqual(os.path.realpath(expected_path), os.path.realpath(server.creds_written_path))
        st = os.stat(expected_path)
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode), oct(st.st_mode))
        with open(expected_path, "rb") as f:
            content = f.read()
        access_key, secret_key = read_ini_credentials(expected_path)
        self.assertTrue(access_key)
        self.assertGreaterEqual(len(secret_key), 20, "generated secret is suspiciously short")
        self.assertNotIn(secret_key.encode(), "\n".join(server.stdout_lines).encode(),
                         "the secret must not be printed to stdout")
        self.assertNotIn(secret_key, server.log_text(), "the secret must not be logged")

        kms = kms_client(server.endpoint, "us-east-1", access_key, secret_key)
        md = kms.create_key(Description="with generated creds")["KeyMetadata"]
        self.assertEqual(md, kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"])
        self.assertClientError("InvalidSignatureException",
                               kms_client(server.endpoint, "us-east-1", access_key, "z" * 40).list_keys)
        # The harness's default env credentials are not valid on this server.
        self.assertClientError("UnrecognizedClientException", server.client().list_keys)
        server.stop()

        # Restart, still without env credentials: same file, same creds, same key.
        server.start()
        with open(expected_path, "rb") as f:
            self.assertEqual(content, f.read(), "admin-credentials changed on restart")
        self.assertEqual(0o600, stat.S_IMODE(os.stat(expected_path).st_mode))
        kms = kms_client(server.endpoint, "us-east-1", access_key, secret_key)
        self.assertEqual(md, kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"])
        server.stop()

    def test_each_data_dir_gets_its_own_credentials(self):
        a = self.start_server(name="persist-creds-a", env_creds=False)
        b = self.start_server(name="persist-creds-b", env_creds=False)
        ca = read_ini_credentials(os.path.join(a.data_dir, "admin-credentials"))
        cb = read_ini_credentials(os.path.join(b.data_dir, "admin-credentials"))
        self.assertNotEqual(ca[0], cb[0])
        self.assertNotEqual(ca[1], cb[1])
        a.stop()
        b.stop()


if __name__ == "__main__":
    unittest.main()
