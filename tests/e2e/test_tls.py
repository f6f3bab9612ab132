"""HTTPS end to end: `scytale serve --tls-cert --tls-key` with a test CA and server certificate
made by the `openssl` CLI in a temporary directory.

What is covered:
- boto3 (verify=<CA bundle>) and the AWS CLI v1 (--ca-bundle): CreateKey, Encrypt, Decrypt;
- a client that trusts another CA fails verification (boto3 and the CLI);
- plain HTTP sent to the HTTPS port is answered 400 in plain HTTP, naming https://;
- SIGHUP with a new certificate: new connections get the new serial, while a keep-alive
  connection made before goes on, on the same socket, with the old one; a bad file on SIGHUP is
  logged and the current certificate kept;
- `--listen 0.0.0.0:0` without TLS refuses to start (one line saying why) unless
  `--insecure-listen`; with TLS it starts;
- aws:SecureTransport: a key policy with "Bool": {"aws:SecureTransport": "true"} allows over
  HTTPS and not over plain HTTP; a Deny with "false" refuses over plain HTTP only.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
from typing import Optional

import botocore.exceptions

from harness import (DEFAULT_ACCOUNT, KEEP, ScytaleServer, ScytaleTestCase, ServerStartError,
                     aws_cli_v1_path, botocore_signed_headers, http_get, kms_client, run_aws,
                     send_http)

ROOT = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"


class Pki:
    """A CA (P-256) and server certificates it signs for 127.0.0.1 and localhost, made with the
    openssl CLI in a temporary directory."""

    def __init__(self, name: str = "Scytale E2E Test CA") -> None:
        self.dir = tempfile.mkdtemp(prefix="scytale-e2e-pki-")
        self.ca_key = self.path("ca.key")
        self.ca_cert = self.path("ca.pem")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
                      "-subj", f"/CN={name}")

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _openssl(self, *args: str) -> None:
        p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)} failed: {p.stderr}")

    def server_cert(self, serial: int, cert: str, key: str) -> None:
        """Writes a new key and a certificate with `serial` to the paths given (replacing them at
        once, as a renewal tool would)."""
        csr, ext = self.path(f"{serial}.csr"), self.path(f"{serial}.ext")
        with open(ext, "w", encoding="ascii") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", key + ".new", "-out", csr, "-subj", "/CN=localhost")
        os.chmod(key + ".new", 0o600)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                      "-set_serial", str(serial), "-days", "1", "-extfile", ext,
                      "-out", cert + ".new")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)

    def cleanup(self) -> None:
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


def peer_serial(sock: ssl.SSLSocket) -> int:
    return int(sock.getpeercert()["serialNumber"], 16)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str, action: str, condition: Optional[dict] = None, principal: str = ROOT) -> dict:
    s = {"Effect": effect, "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}
    if condition:
        s["Condition"] = condition
    return s


class TlsTest(ScytaleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.pki = Pki()
        cls.other_pki = Pki("Another CA")
        cls.cert, cls.key = cls.pki.path("server.pem"), cls.pki.path("server.key")
        cls.pki.server_cert(1001, cls.cert, cls.key)
        cls.https = cls.start_tls_server("tls")
        cls.plain = cls.start_class_server(name="tls-plain")

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            super().tearDownClass()
        finally:
            cls.pki.cleanup()
            cls.other_pki.cleanup()

    @classmethod
    def start_tls_server(cls, name: str, cert: Optional[str] = None, key: Optional[str] = None,
                         listen: str = "127.0.0.1:0") -> ScytaleServer:
        return cls.start_class_server(
            name=name, listen=listen, tls_ca=cls.pki.ca_cert,
            args=["--tls-cert", cert or cls.cert, "--tls-key", key or cls.key])

    def https_connection(self, server: ScytaleServer) -> http.client.HTTPSConnection:
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        return http.client.HTTPSConnection(server.host, server.port, timeout=10, context=ctx)

    def list_keys_on(self, server: ScytaleServer, conn: http.client.HTTPConnection) -> int:
        h = botocore_signed_headers(server.endpoint, b"{}", target="TrentService.ListKeys")
        return send_http(server, "POST", "/", b"{}", h, conn=conn).status

    # -- clients ---------------------------------------------------------------------

    def test_boto3_create_encrypt_decrypt_over_https(self):
        kms = self.https.client()
        key = kms.create_key(Description="over TLS")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"secret over https")["CiphertextBlob"]
        out = kms.decrypt(CiphertextBlob=blob)
        self.assertEqual(b"secret over https", out["Plaintext"])
        self.assertTrue(self.https.endpoint.startswith("https://"))

    def test_aws_cli_v1_with_ca_bundle(self):
        cli = aws_cli_v1_path()
        if cli is None:
            self.fail("the AWS CLI v1 (`aws` beside this python) is missing")
        ca = ["--ca-bundle", self.pki.ca_cert]
        created = run_aws(cli, self.https, ["create-key", "--description", "cli over TLS", *ca])
        self.assertEqual(0, created.returncode, str(created))
        key = created.json["KeyMetadata"]["KeyId"]
        plain = self.pki.path("cli-plaintext.bin")
        with open(plain, "wb") as f:
            f.write(b"\x00cli plaintext\xff")
        enc = run_aws(cli, self.https, ["encrypt", "--key-id", key, "--plaintext",
                                        f"fileb://{plain}", *ca])
        self.assertEqual(0, enc.returncode, str(enc))
        blob = self.pki.path("cli-blob.bin")
        with open(blob, "wb") as f:
            f.write(base64.b64decode(enc.json["CiphertextBlob"]))
        dec = run_aws(cli, self.https, ["decrypt", "--ciphertext-blob", f"fileb://{blob}", *ca])
        self.assertEqual(0, dec.returncode, str(dec))
        self.assertEqual(b"\x00cli plaintext\xff", base64.b64decode(dec.json["Plaintext"]))

        wrong = run_aws(cli, self.https, ["list-keys", "--ca-bundle", self.other_pki.ca_cert])
        self.assertNotEqual(0, wrong.returncode, str(wrong))
        self.assertIn("CERTIFICATE_VERIFY_FAILED", wrong.stderr)

    def test_a_client_trusting_another_ca_fails_verification(self):
        kms = kms_client(self.https.endpoint, verify=self.other_pki.ca_cert)
        with self.assertRaises(botocore.exceptions.SSLError) as cm:
            kms.list_keys()
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
        # The same client with the right CA goes through.
        self.assertIn("Keys", kms_client(self.https.endpoint, verify=self.pki.ca_cert).list_keys())

    def test_plain_http_to_the_https_port_gets_a_400(self):
        status, _, body = http_get(self.https.host, self.https.port, "/healthz")
        self.assertEqual(400, status)
        self.assertIn(b"use an https:// endpoint", body)
        self.assertEqual(200, self.https.healthz()[0])  # and HTTPS is served as before

    # -- reload ----------------------------------------------------------------------

    def wait_for_output(self, server: ScytaleServer, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in server.log_text():
                return
            time.sleep(0.05)
        self.fail(f"no {text!r} in the server's output\n{server.log_tail()}")

    def test_sighup_serves_a_new_certificate_and_open_connections_survive(self):
        cert, key = self.pki.path("reload.pem"), self.pki.path("reload.key")
        self.pki.server_cert(2001, cert, key)
        server = self.start_tls_server("tls-reload", cert, key)
        kept = self.https_connection(server)
        self.assertEqual(200, self.list_keys_on(server, kept))
        sock = kept.sock
        self.assertEqual(2001, peer_serial(sock))

        self.pki.server_cert(2002, cert, key)
        server.proc.send_signal(signal.SIGHUP)
        self.wait_for_output(server, "tls: reloaded, serving the certificate subject CN=localhost, "
                                     "serial 07D2")
        fresh = self.https_connection(server)
        self.assertEqual(200, self.list_keys_on(server, fresh))
        self.assertEqual(2002, peer_serial(fresh.sock))
        # The keep-alive connection made before the reload: same socket, old certificate.
        self.assertEqual(200, self.list_keys_on(server, kept))
        self.assertIs(sock, kept.sock, "the connection was dropped and made again")
        self.assertEqual(2001, peer_serial(kept.sock))
        self.assertEqual(200, server.client().list_keys()["ResponseMetadata"]["HTTPStatusCode"])

        # A broken file: logged, and the current certificate stays.
        with open(cert, "w", encoding="ascii") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n")
        server.proc.send_signal(signal.SIGHUP)
        self.wait_for_output(server, "tls: reload failed, still serving subject CN=localhost, "
                                     "serial 07D2")
        again = self.https_connection(server)
        self.assertEqual(200, self.list_keys_on(server, again))
        self.assertEqual(2002, peer_serial(again.sock))
        self.assertNotIn("PRIVATE KEY", server.log_text())
        for c in (kept, fresh, again):
            c.close()
        server.stop()

    # -- where plain HTTP may listen -------------------------------------------------

    def test_plain_http_on_all_interfaces_needs_insecure_listen(self):
        refused = self.start_server(start=False, name="tls-any", listen="0.0.0.0:0")
        with self.assertRaises(ServerStartError) as cm:
            refused.start(timeout=10)
        self.assertRegex(str(cm.exception), r"exited with code 1")
        lines = [l for l in refused.log_text().splitlines() if "not a loopback address" in l]
        self.assertEqual(1, len(lines), refused.log_tail())
        self.assertIn("--tls-cert", lines[0])
        self.assertIn("--insecure-listen", lines[0])
        self.assertFalse(os.path.exists(os.path.join(refused.data_dir, "scytale.db")),
                         "the store was created before the address was refused")

        allowed = self.start_server(name="tls-any-insecure", listen="0.0.0.0:0",
                                    args=["--insecure-listen"])
        self.assertEqual(200, http_get("127.0.0.1", allowed.port, "/healthz")[0])
        allowed.stop()

    def test_tls_may_listen_on_all_interfaces(self):
        server = self.start_tls_server("tls-any-tls", listen="0.0.0.0:0")
        kms = kms_client(f"https://127.0.0.1:{server.port}", verify=self.pki.ca_cert)
        self.assertIn("Keys", kms.list_keys())
        server.stop()

    # -- aws:SecureTransport ---------------------------------------------------------

    def assertEncrypt(self, server: ScytaleServer, key: str, allowed: bool) -> None:
        kms = server.client()
        if allowed:
            kms.encrypt(KeyId=key, Plaintext=b"x")
        else:
            self.assertClientError("AccessDeniedException", kms.encrypt, KeyId=key, Plaintext=b"x")

    def test_secure_transport_true_allows_over_https_only(self):
        doc = policy(stmt("Allow", "kms:*", {"Bool": {"aws:SecureTransport": "true"}}))
        for server, over_tls in ((self.https, True), (self.plain, False)):
            with self.subTest(https=over_tls):
                key = server.client().create_key(
                    Policy=doc, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
                self.assertEncrypt(server, key, allowed=over_tls)

    def test_deny_without_secure_transport_refuses_plain_http_only(self):
        doc = policy(stmt("Allow", "kms:*"),
                     stmt("Deny", "kms:Encrypt", {"Bool": {"aws:SecureTransport": "false"}},
                          principal="*"))
        for server, over_tls in ((self.https, True), (self.plain, False)):
            with self.subTest(https=over_tls):
                kms = server.client()
                key = kms.create_key(Policy=doc)["KeyMetadata"]["KeyId"]
                self.assertEncrypt(server, key, allowed=over_tls)
                kms.describe_key(KeyId=key)  # the Deny names Encrypt only


if __name__ == "__main__":
    unittest.main()
