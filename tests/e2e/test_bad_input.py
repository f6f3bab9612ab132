"""Bad input of every kind; after each case the server still answers normally."""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import threading
import time
import unittest

from harness import (ScytaleTestCase, botocore_signed_headers, connect, http_garbage,
                     huge_header_requests, parse_status, read_until_closed, send_http,
                     signed_request)

MiB = 1024 * 1024


def raw_request_bytes(server, body: bytes, *, operation: str = "CreateKey",
                      content_length: bool = True, extra_headers=None) -> bytes:
    headers = botocore_signed_headers(server.endpoint, body, target="TrentService." + operation)
    lines = [b"POST / HTTP/1.1", f"Host: {server.host}:{server.port}".encode()]
    for k, v in headers.items():
        lines.append(f"{k}: {v}".encode())
    for k, v in (extra_headers or {}).items():
        lines.append(f"{k}: {v}".encode())
    if content_length:
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def split_responses(data: bytes) -> list[tuple[int, dict, bytes]]:
    """Parse complete HTTP/1.1 responses (Content-Length framed) from a byte stream."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = data[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(data) < end + 4 + n:
            return out
        out.append((status, headers, data[end + 4:end + 4 + n]))
        data = data[end + 4 + n:]


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class BadInputTest(ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="bad-input")
        cls.key_id = cls.server.client().create_key(Description="reference")["KeyMetadata"]["KeyId"]

    def assertStillServes(self):
        self.assertTrue(self.server.running, "server died\n" + self.server.log_tail())
        kms = self.server.client()
        self.assertEqual(self.key_id, kms.describe_key(KeyId=self.key_id)["KeyMetadata"]["KeyId"])
        self.assertIn("Keys", kms.list_keys(Limit=2))

    # -- ValidationException ----------------------------------------------------------

    def test_validation_empty_key_id_exact_message(self):
        r = signed_request(self.server, "DescribeKey", {"KeyId": ""})
        self.assertRawError(r, "ValidationException")
        self.assertEqual("1 validation error detected: Value '' at 'keyId' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1", r.message)
        self.assertStillServes()

    def test_validation_errors(self):
        cases = [
            ("DescribeKey", {}, "keyId"),                      # required member missing
            ("DescribeKey", {"KeyId": None}, "keyId"),         # null == absent
            ("DescribeKey", {"KeyId": "k" * 2049}, "keyId"),   # max 2048
            ("ListKeys", {"Limit": 0}, "limit"),
            ("ListKeys", {"Limit": -5}, "limit"),
            ("ListKeys", {"Limit": 1001}, "limit"),
            ("ListKeys", {"Marker": ""}, "marker"),
            ("ListKeys", {"Marker": "m" * 1025}, "marker"),
            ("CreateKey", {"KeySpec": "NOT_A_KEY_SPEC"}, "keySpec"),
            ("CreateKey", {"KeyUsage": "BOGUS_USAGE"}, "keyUsage"),
            ("CreateKey", {"Origin": "BOGUS_ORIGIN"}, "origin"),
            ("CreateKey", {"Description": "d" * 8193}, "description"),
        ]
        for op, body, member in cases:
            with self.subTest(op=op, body=json.dumps(body)[:80]):
                r = signed_request(self.server, op, body)
                self.assertRawError(r, "ValidationException", message_prefix="1 validation error detected: ")
                self.assertIn(f"at '{member}'", r.message)
                self.assertIn("failed to satisfy constraint", r.message)
        self.assertStillServes()

    def test_validation_enum_message_lists_values(self):
        r = signed_request(self.server, "CreateKey", {"KeyUsage": "BOGUS_USAGE"})
        self.assertRawError(r, "ValidationException")
        self.assertIn("Value 'BOGUS_USAGE' at 'keyUsage' failed to satisfy constraint: "
                      "Member must satisfy enum value set: [", r.message)
        self.assertIn("ENCRYPT_DECRYPT", r.message)

    def test_validation_two_errors(self):
        r = signed_request(self.server, "ListKeys", {"Limit": 0, "Marker": ""})
        self.assertRawError(r, "ValidationException", message_prefix="2 validation errors detected: ")
        self.assertStillServes()

    def test_max_length_values_accepted(self):
        # The boundaries themselves are valid.
        r = signed_request(self.server, "CreateKey", {"Description": "d" * 8192})
        self.assertEqual(200, r.status, str(r))
        r = signed_request(self.server, "ListKeys", {"Limit": 1000})
        self.assertEqual(200, r.status, str(r))

    def test_unknown_members_ignored(self):
        # Newer clients send members an older server does not know: they are ignored.
        r = signed_request(self.server, "ListKeys", {"Limit": 2, "SomeFutureMember": {"x": [1, 2]}})
        self.assertEqual(200, r.status, str(r))
        self.assertStillServes()

    # -- SerializationException -------------------------------------------------------

    def test_serialization_errors(self):
        cases = [
            ("ListKeys", b"{not json"),
            ("ListKeys", b'{"Limit": 3'),
            ("ListKeys", b"{} trailing"),
            ("ListKeys", b"[]"),
            ("ListKeys", b'"a string"'),
            ("ListKeys", b'{"Limit": "3"}'),
            ("ListKeys", b'{"Limit": true}'),
            ("ListKeys", b'{"Limit": {"n": 3}}'),
            ("DescribeKey", b'{"KeyId": 123}'),
            ("DescribeKey", b'{"KeyId": ["a"]}'),
            ("DescribeKey", b'{"KeyId": {"id": "x"}}'),
            ("CreateKey", b'{"MultiRegion": "yes"}'),
            ("CreateKey", b'{"Description": 5}'),
        ]
        for op, body in cases:
            with self.subTest(op=op, body=body):
                r = signed_request(self.server, op, body)
                self.assertRawError(r, "SerializationException")
        self.assertStillServes()

    def test_odd_bodies_do_not_break_the_server(self):
        # Not pinned to one error code; must be a 4xx (or success), never a 5xx or a crash.
        for op, body in [("ListKeys", b""), ("CreateKey", b'{"Description": "\xff\xfe"}'),
                         ("ListKeys", b"\x00\x01\x02"), ("ListKeys", b"{" * 10000 + b"}" * 10000),
                         ("ListKeys", b"[" * 100000)]:
            with self.subTest(op=op, body=body[:30]):
                r = signed_request(self.server, op, body)
                self.assertLess(r.status, 500, str(r))
                self.assertTrue(r.request_id, str(r))
        self.assertStillServes()

    # -- X-Amz-Target -----------------------------------------------------------------

    def test_unknown_target(self):
        for target in ("TrentService.NoSuchOperation", "TrentService.", "TrentService.listkeys",
                       "NotTrentService.ListKeys", "ListKeys"):
            with self.subTest(target=target):
                r = signed_request(self.server, None, {}, target=target)
                self.assertRawError(r, "UnknownOperationException")
        self.assertStillServes()

    def test_missing_target(self):
        r = signed_request(self.server, None, {}, target=None)
        self.assertRawError(r, None, status=None)
        self.assertEqual("UnknownOperationException", r.error_type,
                         "expected UnknownOperationException (generic AWS JSON behaviour)")
        self.assertStillServes()

    # -- body size --------------------------------------------------------------------

    def _big_body(self, size: int) -> bytes:
        body = json.dumps({"Description": "x" * size}).encode()
        return body

    def test_content_length_over_limit_rejected_before_body(self):
        body = self._big_body(2 * MiB)
        with connect(self.server) as s:
            s.sendall(raw_request_bytes(self.server, body))
            data, closed, elapsed = read_until_closed(s, timeout=5)
        status = parse_status(data)
        self.assertIsNotNone(status, f"no response to a 2 MiB Content-Length within 5 s "
                                     f"(closed={closed}, got {data[:200]!r})")
        self.assertTrue(400 <= status < 500, data[:300])
        self.assertEqual(413, status, "expected 413 Payload Too Large")
        self.assertTrue(closed, "connection should be closed after rejecting an oversized body")
        self.assertStillServes()

    def test_oversized_body_streamed(self):
        body = self._big_body(2 * MiB)
        s = connect(self.server)
        send_error = []

        def sender():
            try:
                s.sendall(raw_request_bytes(self.server, body) + body)
            except OSError as e:   # the server may close while we are still sending
                send_error.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        data, closed, _ = read_until_closed(s, timeout=15)
        t.join(15)
        s.close()
        status = parse_status(data)
        self.assertIsNotNone(status, f"no HTTP response to a 2 MiB body (closed={closed}, "
                                     f"send error={send_error}, got {data[:200]!r})")
        self.assertTrue(400 <= status < 500, f"status {status}: {data[:300]!r}")
        self.assertTrue(closed, "connection not closed after an oversized body")
        self.assertStillServes()

    def test_oversized_chunked_body(self):
        s = connect(self.server)
        head = raw_request_bytes(self.server, b"", content_length=False,
                                 extra_headers={"Transfer-Encoding": "chunked"})
        chunk = b"x" * 65536
        stop = threading.Event()

        def sender():
            try:
                prefix = b'{"Description": "'
                s.sendall(head + b"%x\r\n" % len(prefix) + prefix + b"\r\n")
                for _ in range(40):   # 2.5 MiB
                    if stop.is_set():
                        return
                    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                s.sendall(b'3\r\n"}\n\r\n0\r\n\r\n')
            except OSError:
                pass

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        data, closed, _ = read_until_closed(s, timeout=15)
        stop.set()
        t.join(15)
        s.close()
        status = parse_status(data)
        if status is not None:
            self.assertTrue(400 <= status < 500, f"an oversized chunked body got {data[:300]!r}")
        self.assertTrue(closed, "connection not closed after an oversized chunked body")
        self.assertStillServes()

    # -- HTTP-level robustness --------------------------------------------------------

    def test_http_garbage(self):
        payloads = http_garbage() + huge_header_requests()
        results: dict[int, bytes] = {}

        def probe(i: int, p: bytes) -> None:
            with connect(self.server) as s:
                try:
                    s.sendall(p)
                except OSError:
                    pass
                results[i], _, _ = read_until_closed(s, timeout=3)

        threads = [threading.Thread(target=probe, args=(i, p)) for i, p in enumerate(payloads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        for i, p in enumerate(payloads):
            with self.subTest(payload=p[:40]):
                status = parse_status(results.get(i, b""))
                if status is not None:
                    self.assertLess(status, 500, results[i][:300])
        self.assertTrue(self.server.running, "server died\n" + self.server.log_tail())
        self.assertStillServes()

    def test_keep_alive_and_pipelining(self):
        # Several requests on one connection, then two pipelined requests.
        import http.client
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            for _ in range(3):
                body = b'{"Limit": 1}'
                h = botocore_signed_headers(self.server.endpoint, body, target="TrentService.ListKeys")
                r = send_http(self.server, "POST", "/", body, h, conn=conn)
                self.assertEqual(200, r.status, str(r))
        finally:
            conn.close()
        b1, b2 = b'{"Limit": 1}', json.dumps({"KeyId": self.key_id}).encode()
        req1 = raw_request_bytes(self.server, b1, operation="ListKeys") + b1
        req2 = raw_request_bytes(self.server, b2, operation="DescribeKey") + b2
        with connect(self.server) as s:
            s.sendall(req1 + req2)
            data = b""
            deadline = time.monotonic() + 10
            while len(split_responses(data)) < 2 and time.monotonic() < deadline:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
        resps = split_responses(data)
        self.assertEqual(2, len(resps), f"pipelined responses: {data[:600]!r}")
        self.assertEqual([200, 200], [r[0] for r in resps])
        self.assertIn("Keys", json.loads(resps[0][2]))
        self.assertEqual(self.key_id, json.loads(resps[1][2])["KeyMetadata"]["KeyId"])

    def test_connection_burst(self):
        pid = self.server.proc.pid
        baseline = open_fds(pid)
        # 500 connections opened, then dropped (FIN).
        socks = [socket.create_connection((self.server.host, self.server.port), timeout=10)
                 for _ in range(500)]
        for s in socks:
            s.close()
        self.assertStillServes()
        # 500 connections aborted with RST.
        socks = [socket.create_connection((self.server.host, self.server.port), timeout=10)
                 for _ in range(500)]
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # 200 connections that send half a request, then vanish.
        for _ in range(200):
            s = socket.create_connection((self.server.host, self.server.port), timeout=10)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Li")
            s.close()
        self.assertStillServes()
        # No descriptor leak: the server's fd count comes back down.
        deadline = time.monotonic() + 10
        while open_fds(pid) > baseline + 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertLessEqual(open_fds(pid), baseline + 10,
                             f"fd count {open_fds(pid)} vs baseline {baseline} after the burst")


class SmallBodyLimitTest(ScytaleTestCase):
    LIMIT = 2048

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="small-body", args=["--max-body-bytes", str(cls.LIMIT)])

    def body_of_size(self, n: int) -> bytes:
        base = len(json.dumps({"Description": ""}).encode())
        body = json.dumps({"Description": "d" * (n - base)}).encode()
        self.assertEqual(n, len(body))
        return body

    def test_limit_is_inclusive(self):
        r = signed_request(self.server, "CreateKey", self.body_of_size(self.LIMIT))
        self.assertEqual(200, r.status, f"a body of exactly --max-body-bytes was refused: {r}")

    def test_over_limit_refused(self):
        r = signed_request(self.server, "CreateKey", self.body_of_size(self.LIMIT + 1))
        self.assertTrue(400 <= r.status < 500, str(r))
        self.assertEqual(413, r.status, str(r))
        r = signed_request(self.server, "CreateKey", self.body_of_size(6000))
        self.assertEqual(413, r.status, str(r))
        self.assertEqual(200, signed_request(self.server, "ListKeys").status)


class SlowClientTest(ScytaleTestCase):
    """A server with --header-timeout-seconds 2 --idle-timeout-seconds 2."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(
            name="slow-client", args=["--header-timeout-seconds", "2", "--idle-timeout-seconds", "2"])

    def assertStillServes(self):
        self.assertTrue(self.server.running, "server died\n" + self.server.log_tail())
        self.assertEqual(200, signed_request(self.server, "ListKeys").status)

    def test_unfinished_headers_closed_after_header_timeout(self):
        with connect(self.server) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.ListKeys\r\n")
            data, closed, elapsed = read_until_closed(s, timeout=8)
        self.assertTrue(closed, f"connection still open {elapsed:.1f}s after an unfinished header block")
        self.assertGreaterEqual(elapsed, 1.0, "closed before the 2 s header timeout")
        self.assertLessEqual(elapsed, 6.0)
        status = parse_status(data)
        if status is not None:
            self.assertEqual(408, status, data[:200])
        self.assertStillServes()

    def test_silent_connection_closed(self):
        with connect(self.server) as s:
            data, closed, elapsed = read_until_closed(s, timeout=8)
        self.assertTrue(closed, "a connection that never sends anything is never closed")
        self.assertLessEqual(elapsed, 6.0)
        self.assertStillServes()

    def test_slowloris_drip_feed(self):
        # One byte every 0.25 s: the header timeout bounds the whole header block, not each read.
        with connect(self.server) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            start = time.monotonic()
            closed = False
            while time.monotonic() - start < 10:
                try:
                    s.send(b"a")
                except OSError:
                    closed = True
                    break
                r, _, _ = select.select([s], [], [], 0.25)
                if r:
                    try:
                        if not s.recv(4096):
                            closed = True
                            break
                    except OSError:
                        closed = True
                        break
            elapsed = time.monotonic() - start
        self.assertTrue(closed, "a drip-fed header block kept the connection open for 10 s")
        self.assertLessEqual(elapsed, 6.0, f"closed only after {elapsed:.1f}s")
        self.assertStillServes()

    def test_idle_keep_alive_closed(self):
        import http.client
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            body = b"{}"
            h = botocore_signed_headers(self.server.endpoint, body, target="TrentService.ListKeys")
            r = send_http(self.server, "POST", "/", body, h, conn=conn)
            self.assertEqual(200, r.status, str(r))
            self.assertNotEqual("close", r.headers.get("connection", "").lower(),
                                "server does not keep connections alive")
            data, closed, elapsed = read_until_closed(conn.sock, timeout=8)
        finally:
            conn.close()
        self.assertTrue(closed, "idle keep-alive connection not closed by --idle-timeout-seconds 2")
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertEqual(b"", data)
        self.assertStillServes()

    def test_slow_clients_do_not_block_others(self):
        slow = []
        try:
            for _ in range(50):
                s = connect(self.server)
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            start = time.monotonic()
            r = signed_request(self.server, "ListKeys", timeout=10)
            elapsed = time.monotonic() - start
            self.assertEqual(200, r.status, str(r))
            self.assertLess(elapsed, 1.5, "a normal request waited on 50 slow clients")
        finally:
            for s in slow:
                s.close()
        self.assertStillServes()


if __name__ == "__main__":
    unittest.main()
