"""The process: `scytale version`, /healthz, response headers, SIGTERM with open connections,
start-up failures."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
import unittest

from harness import (SCYTALE_BIN, ScytaleTestCase, botocore_signed_headers,
                     http_get, send_http, signed_request)


class VersionTest(unittest.TestCase):
    def test_version(self):
        if not SCYTALE_BIN.exists():
            self.fail(f"scytale binary not found at {SCYTALE_BIN}")
        p = subprocess.run([str(SCYTALE_BIN), "version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(0, p.returncode, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^scytale \S+$")
        self.assertRegex(p.stdout.strip(), r"^scytale v?\d+\.\d+\.\d+")


class ServerProcessTest(ScytaleTestCase):
    def test_healthz_and_headers(self):
        server = self.start_server(name="proc-health")
        status, headers, _ = http_get(server.host, server.port, "/healthz")
        self.assertEqual(200, status)
        r = signed_request(server, "ListKeys")
        self.assertEqual(200, r.status)
        self.assertTrue(r.request_id)
        self.assertIn("date", r.headers, "a Date header lets SDKs correct clock skew")
        server.stop()

    def test_sigterm_with_idle_keepalive_connections(self):
        server = self.start_server(name="proc-drain-idle")
        conns = []
        for _ in range(5):
            c = http.client.HTTPConnection(server.host, server.port, timeout=10)
            h = botocore_signed_headers(server.endpoint, b"{}", target="TrentService.ListKeys")
            self.assertEqual(200, send_http(server, "POST", "/", b"{}", h, conn=c).status)
            conns.append(c)                       # left open, idle
        raw = socket.create_connection((server.host, server.port))   # connected, never sent
        try:
            start = time.monotonic()
            server.stop(timeout=10)               # exit code 0 is asserted
            self.assertLess(time.monotonic() - start, 5, "drain waited on idle connections")
        finally:
            for c in conns:
                c.close()
            raw.close()

    def test_sigterm_with_half_sent_request(self):
        # Drain may wait for a request that has started to arrive, but only as long as the
        # header timeout allows (2 s here), not for ever.
        server = self.start_server(name="proc-drain-half", args=["--header-timeout-seconds", "2"])
        half = socket.create_connection((server.host, server.port))
        half.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")               # half a request
        try:
            start = time.monotonic()
            server.stop(timeout=15)               # exit code 0 is asserted
            self.assertLess(time.monotonic() - start, 6, "drain waited long on a half-sent request")
        finally:
            half.close()

    def test_expect_100_continue(self):
        # curl and some SDKs send "Expect: 100-continue" and wait for the interim response
        # (RFC 9110 §10.1.1: the server sends 100 or a final status once the header is in).
        server = self.start_server(name="proc-expect")
        body = b'{"Limit": 1}'
        h = botocore_signed_headers(server.endpoint, body, target="TrentService.ListKeys",
                                    extra_headers={"Expect": "100-continue"})
        head = (f"POST / HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in h.items())
                + f"Content-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection((server.host, server.port), timeout=5) as s:
            s.sendall(head)
            s.settimeout(1.5)
            try:
                first = s.recv(4096)
            except socket.timeout:
                first = b""
            self.assertTrue(first.startswith(b"HTTP/1.1 100"),
                            f"no '100 Continue' within 1.5 s of an Expect: 100-continue header (got {first!r})")
            s.sendall(body)
            s.settimeout(5)
            rest = first.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in first else b""
            while b"\r\n\r\n" not in rest:
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
            self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:200])
        server.stop()

    def test_restart_on_same_port_after_sigterm(self):
        server = self.start_server(name="proc-port")
        port = server.port
        server.stop()
        server.listen = f"127.0.0.1:{port}"
        server.start()                            # the port is free again right away
        self.assertEqual(port, server.port)
        server.stop()

    def test_listen_port_in_use_fails(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        try:
            server = self.start_server(start=False, name="proc-busy",
                                       listen=f"127.0.0.1:{busy.getsockname()[1]}")
            with self.assertRaises(AssertionError) as cm:
                server.start(timeout=10)
            self.assertRegex(str(cm.exception), r"exited with code [1-9]")
        finally:
            busy.close()

    def test_unknown_subcommand_fails(self):
        p = subprocess.run([str(SCYTALE_BIN), "no-such-command"], capture_output=True, text=True,
                           timeout=10)
        self.assertNotEqual(0, p.returncode)


if __name__ == "__main__":
    unittest.main()
