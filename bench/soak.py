#!/usr/bin/env python3
"""Soak test (issue 10, last check): legitimate load at full speed and hostile input at the same
time, with the server's memory, descriptors and threads sampled every second.

One `scytale serve` (SQLite, auditing on as always, started by tests/e2e/harness.py's
ScytaleServer on a free port in a temporary data directory) gets, for --duration seconds:

  * scytale-loadgen --verify: --connections keep-alive connections from 127.0.0.1 sending a mix
    of Encrypt, Decrypt, GenerateDataKey(WithoutPlaintext), ReEncrypt, Sign, GenerateMac,
    DescribeKey and CreateKey back to back; every 200 is checked (plaintexts, keys, signatures,
    MACs) and a sample of ciphertexts and created keys is decrypted or described afterwards;
  * twice a second, an Encrypt and a Decrypt of its answer on a new connection from 127.0.0.4:
    legitimate clients that have to be accepted while the floods below go on;
  * hostile input from 127.0.0.2 (and floods from 127.0.0.3), on several threads: bodies over the
    limit (by Content-Length, streamed, chunked), HTTP garbage, truncated requests, huge headers,
    invalid JSON and wrong types, bad, tampered, replayed and expired signatures, pipelined
    requests, slowloris headers and bodies, and connection floods past --max-connections-per-ip.
    Each answer is classified and must be the expected 4xx or a close, never a 5xx.

The verdict (exit status 0 only if all hold):
  1. legitimate requests (the load generator's and those on new connections): every one
     answered 200, or ThrottlingException with --request-quotas aws; no transport error or
     timeout (10 s); no wrong answer; every sample checks out afterwards;
  2. hostile requests: every answer the expected one for its kind (no 5xx, no connection left
     open past the server's timeouts);
  3. memory: VmRSS is bounded. After the warm-up (--warmup, default min(10 s, duration/3)) the
     rest of the run is cut into two halves of equal length; the peak of the second may exceed
     the peak of the first by at most max(16 MiB, 10 %). A server whose RSS has reached its
     plateau (allocator arenas grown, bounded caches full) passes with room to spare; one that
     leaks a constant amount per request grows linearly, and the second peak exceeds the first
     by rate x half-length (with 60 s and 64 connections at ~3,000 rps, 16 MiB over 25 s is a
     leak of ~200 bytes per request). The peak must also stay under --rss-limit-mib;
  4. descriptors: back to the count before the load (+2) within 20 s of its end;
  5. afterwards the server still answers (healthz, Encrypt and Decrypt, GenerateDataKey and
     Decrypt through boto3), its request log holds no 5xx or error line, and it stops cleanly on
     SIGTERM.

A Markdown report goes to --report (default bench/results/soak-<date>.md; "-" prints it only).

Usage: bench/soak.py [--duration S] [--warmup S] [--connections N] [--mix M] [--keys N]
                     [--hostile-threads N] [--slow-connections N] [--request-quotas off|aws]
                     [--max-connections-per-ip N] [--rss-limit-mib M] [--bin-dir DIR]
                     [--server-bin PATH]
                     [--report PATH|-] [--server-args "..."]
bench/soak.sh builds the binaries first and passes its arguments on.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import random
import re
import select
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import harness  # noqa: E402  (tests/e2e: starts servers, signs requests)

MiB = 1024 * 1024
HOSTILE_IP = "127.0.0.2"
FLOOD_IP = "127.0.0.3"
FRESH_IP = "127.0.0.4"
DEFAULT_MIX = ("Encrypt=3,Decrypt=3,GenerateDataKey=2,GenerateDataKeyWithoutPlaintext=1,"
               "ReEncrypt=1,Sign=1,GenerateMac=1,DescribeKey=2,CreateKey=1")


# ------------------------------------------------------------------------------------------
# Sampling the server process

def proc_sample(pid: int) -> dict:
    status = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            status[k] = v.strip()
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "rss_kib": int(status["VmRSS"].split()[0]),
        "hwm_kib": int(status["VmHWM"].split()[0]),
        "threads": int(status["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": (int(fields[11]) + int(fields[12])) / ticks,  # utime + stime
    }


class Sampler(threading.Thread):
    def __init__(self, pid: int, t0: float):
        super().__init__(daemon=True)
        self.pid, self.t0 = pid, t0
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            try:
                s = proc_sample(self.pid)
            except (OSError, ValueError, KeyError):
                return  # the process is gone; the verdict notices
            s["t"] = time.monotonic() - self.t0
            self.samples.append(s)
            next_at += 1.0
            self.stop.wait(max(0.0, next_at - time.monotonic()))


# ------------------------------------------------------------------------------------------
# Raw HTTP for hostile input

def read_response(sock: socket.socket, deadline: float, data: bytes = b"") -> tuple[str, bytes]:
    """Reads one Content-Length-framed response. Returns (outcome, rest): outcome is
    "<status> <__type>", "closed" (EOF before any byte), "reset", "timeout" (still open at the
    deadline) or "truncated answer"."""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").split("\r\n")
            m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
            if not m:
                return "not HTTP", b""
            length = 0
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if len(data) >= end + 4 + length:
                body = data[end + 4:end + 4 + length]
                return f"{m.group(1)} {error_type(body)}", data[end + 4 + length:]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return ("timeout" if not data else "truncated answer"), b""
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return ("timeout" if not data else "truncated answer"), b""
        except (ConnectionResetError, BrokenPipeError):
            return ("reset" if not data else "truncated answer"), b""
        if not chunk:
            return ("closed" if not data else "truncated answer"), b""
        data += chunk


def error_type(body: bytes) -> str:
    try:
        t = json.loads(body).get("__type", "")
    except (ValueError, AttributeError):
        return "-"
    return t.split("#")[-1] if t else "-"


def wait_closed(sock: socket.socket, deadline: float) -> bool:
    """True once the peer closes (EOF or reset) before the deadline."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


class Hostile:
    """The hostile-input driver: kinds of bad input, each with the answers it may get."""

    def __init__(self, server: harness.ScytaleServer, key_id: str, per_ip_limit: int,
                 header_timeout: float, end_at: float, threads: int, slow_connections: int,
                 throttling: bool):
        self.host, self.port = server.host, server.port
        self.host_header = f"{server.host}:{server.port}"
        self.access_key, self.secret_key = server.access_key, server.secret_key
        self.key_id = key_id
        self.per_ip_limit = per_ip_limit
        self.header_timeout = header_timeout
        self.end_at = end_at
        self.n_threads = threads
        self.slow_connections = slow_connections
        # With request quotas, a well-signed request of the account may be throttled before it
        # is validated (CreateKey's 5 a second are the load generator's too).
        self.throttling = throttling
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.unexpected: dict[str, Counter] = defaultdict(Counter)
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []

    # -- bookkeeping --

    def record(self, kind: str, outcome: str, ok: bool) -> None:
        with self.lock:
            self.outcomes[kind][outcome] += 1
            if not ok:
                self.unexpected[kind][outcome] += 1

    def expect(self, kind: str, outcome: str, allowed) -> None:
        """allowed: a set of outcomes, or a predicate. A 5xx never is."""
        ok = outcome[:1] != "5" and (allowed(outcome) if callable(allowed) else outcome in allowed)
        ok = ok or (self.throttling and outcome == "400 ThrottlingException")
        self.record(kind, outcome, ok)

    def connect(self, source: str = HOSTILE_IP, timeout: float = 10) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout,
                                        source_address=(source, 0))

    def signed(self, operation: str, body: bytes, *, secret_key: str | None = None,
               access_key: str | None = None, x_amz_date: str | None = None,
               target: str | None = None, content_length: int | None = None,
               extra: dict | None = None) -> bytes:
        headers = {"Content-Type": harness.JSON_CONTENT_TYPE,
                   "X-Amz-Target": target or harness.TARGET_PREFIX + operation}
        all_headers = harness.sigv4_headers(
            self.host_header, body, headers, access_key=access_key or self.access_key,
            secret_key=secret_key or self.secret_key, x_amz_date=x_amz_date)
        all_headers.update(extra or {})
        if content_length is not None or "Transfer-Encoding" not in all_headers:
            all_headers["Content-Length"] = str(len(body) if content_length is None
                                                else content_length)
        lines = ["POST / HTTP/1.1"] + [f"{k}: {v}" for k, v in all_headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def exchange(self, data: bytes, timeout: float = 10, shut_write: bool = False) -> str:
        with self.connect() as s:
            try:
                s.sendall(data)
                if shut_write:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before all was sent
            outcome, _ = read_response(s, time.monotonic() + timeout)
            return outcome

    # -- quick kinds: one connection, one answer --

    def probe_invalid_json(self) -> None:
        body = random.choice([b"{not json", b'{"KeyId": "x"', b"{} trailing", b"[]", b'"str"',
                              b"\x00\x01\x02", b"{" * 5000 + b"}" * 5000, b"[" * 100000])
        op = random.choice(["Encrypt", "Decrypt", "DescribeKey", "ListKeys"])
        outcome = self.exchange(self.signed(op, body) + body)
        self.expect("invalid JSON", outcome, {"400 SerializationException",
                                              "400 ValidationException"})

    def probe_wrong_types(self) -> None:
        op, doc = random.choice([
            ("DescribeKey", {"KeyId": 123}), ("DescribeKey", {"KeyId": ["a"]}),
            ("Encrypt", {"KeyId": self.key_id, "Plaintext": 5}),
            ("Encrypt", {"KeyId": self.key_id, "Plaintext": "not base64!"}),
            ("Decrypt", {"CiphertextBlob": {"x": 1}}), ("ListKeys", {"Limit": "3"}),
            ("CreateKey", {"MultiRegion": "yes"}), ("DescribeKey", {"KeyId": ""}),
            ("Encrypt", {"KeyId": self.key_id, "Plaintext": base64.b64encode(
                b"x" * 4097).decode()}),
            ("GenerateDataKey", {"KeyId": self.key_id, "NumberOfBytes": 99999})])
        body = json.dumps(doc).encode()
        outcome = self.exchange(self.signed(op, body) + body)
        self.expect("wrong types and values", outcome, {"400 SerializationException",
                                                        "400 ValidationException"})

    def probe_unknown_operation(self) -> None:
        body = b"{}"
        target = random.choice(["TrentService.NoSuchOperation", "TrentService.", "ListKeys",
                                "NotTrentService.ListKeys"])
        outcome = self.exchange(self.signed("", body, target=target) + body)
        self.expect("unknown operation", outcome, {"400 UnknownOperationException"})

    def probe_bad_signature(self) -> None:
        body = json.dumps({"KeyId": self.key_id, "Plaintext": "aGVsbG8="}).encode()
        variant = random.randrange(3)
        if variant == 0:  # wrong secret
            data = self.signed("Encrypt", body, secret_key="x" * 40) + body
        elif variant == 1:  # unknown access key
            data = self.signed("Encrypt", body, access_key="AKIANOSUCHKEY0000000") + body
        else:  # no Authorization at all
            data = (f"POST / HTTP/1.1\r\nHost: {self.host_header}\r\n"
                    f"Content-Type: {harness.JSON_CONTENT_TYPE}\r\n"
                    f"X-Amz-Target: TrentService.Encrypt\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
        outcome = self.exchange(data)
        self.expect("bad signature", outcome, {"400 InvalidSignatureException",
                                               "400 UnrecognizedClientException",
                                               "400 MissingAuthenticationTokenException"})

    def probe_replayed_signature(self) -> None:
        # A valid signature replayed onto another body of the same length, or another target:
        # both are signed, so both are refused. (The same request replayed as it is stays
        # valid for the 5 minutes of allowed clock skew, as in AWS; the load generator does
        # exactly that.)
        body = json.dumps({"KeyId": self.key_id, "Plaintext": "aGVsbG8="}).encode()
        head = self.signed("Encrypt", body)
        if random.randrange(2):
            tampered = body.replace(b"aGVsbG8=", b"aGVsbG9=")
            data = head + tampered
        else:
            data = head.replace(b"TrentService.Encrypt", b"TrentService.Decrypt") + body
        outcome = self.exchange(data)
        self.expect("replayed signature", outcome, {"400 InvalidSignatureException"})

    def probe_expired_signature(self) -> None:
        minutes = random.choice([-20, -60 * 24, 20])
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
        body = b"{}"
        data = self.signed("ListKeys", body, x_amz_date=harness.amz_date(when)) + body
        outcome = self.exchange(data)
        self.expect("expired or future signature", outcome, {"400 InvalidSignatureException"})

    def probe_garbage(self) -> None:
        data = random.choice(harness.http_garbage() + [b"POST / HTTP/9.9\r\nHost: x\r\n\r\n"])
        outcome = self.exchange(data, timeout=self.header_timeout + 5)
        # Anything under 500, or a close; never an answer left pending.
        self.expect("HTTP garbage", outcome,
                    lambda o: o in ("closed", "reset") or o[:1] in ("2", "3", "4"))

    def probe_huge_headers(self) -> None:
        outcome = self.exchange(random.choice(harness.huge_header_requests()))
        self.expect("huge headers", outcome, {"431 RequestHeaderFieldsTooLarge", "closed",
                                              "reset"})

    def probe_truncated(self) -> None:
        body = json.dumps({"KeyId": self.key_id, "Plaintext": "aGVsbG8="}).encode()
        head = self.signed("Encrypt", body)
        if random.randrange(2):
            data = head + body[: len(body) // 2]  # half the body, then end of stream
        else:
            data = head[: len(head) // 2]  # half the header block
        outcome = self.exchange(data, shut_write=True)
        self.expect("truncated request", outcome, {"closed", "reset",
                                                   "400 SerializationException"})

    def probe_pipelined(self) -> None:
        # Two legitimate requests and garbage in one write: two 200s, then a 400 (or a close).
        b1 = json.dumps({"KeyId": self.key_id}).encode()
        b2 = json.dumps({"KeyId": self.key_id, "Plaintext": "aGVsbG8="}).encode()
        data = (self.signed("DescribeKey", b1) + b1 + self.signed("Encrypt", b2) + b2
                + b"BOGUS / HTTP/1.1\r\n\r\n")
        outcomes = []
        with self.connect() as s:
            s.sendall(data)
            rest = b""
            deadline = time.monotonic() + 10
            for _ in range(3):
                outcome, rest = read_response(s, deadline, rest)
                outcomes.append(outcome)
                if not outcome[:1].isdigit():
                    break
        outcome = " + ".join(outcomes)
        # The third is an unknown method, which HTTP allows: a 4xx for it, or a close.
        self.expect("pipelined (2 valid, then garbage)", outcome,
                    lambda o: o.startswith("200 - + 200 - + ")
                    and (o.endswith(("closed", "reset")) or o.split(" + ")[2][:1] == "4"))

    # -- bodies over the limit --

    def stream(self, head: bytes, chunks, timeout: float = 15) -> str:
        """Sends head and then chunks while watching for an answer; stops sending once the
        server answers or closes."""
        with self.connect() as s:
            s.sendall(head)
            s.setblocking(False)
            deadline = time.monotonic() + timeout
            pending = b""
            it = iter(chunks)
            while time.monotonic() < deadline:
                if not pending:
                    pending = next(it, b"")
                r, w, _ = select.select([s], [s] if pending else [], [], 0.5)
                if r:
                    s.setblocking(True)
                    outcome, _ = read_response(s, deadline)
                    return outcome
                if w:
                    try:
                        pending = pending[s.send(pending):]
                    except BlockingIOError:
                        pass
                    except OSError:
                        s.setblocking(True)
                        outcome, _ = read_response(s, deadline)
                        return outcome
            return "timeout"

    def probe_oversized_content_length(self) -> None:
        body = b"{}"
        head = self.signed("Encrypt", body, content_length=2 * MiB)
        outcome = self.exchange(head)
        self.expect("oversized Content-Length (2 MiB, no body)", outcome,
                    {"413 RequestEntityTooLargeException"})

    def probe_oversized_streamed(self) -> None:
        body = json.dumps({"KeyId": self.key_id, "Plaintext": "A" * (2 * MiB)}).encode()
        head = self.signed("Encrypt", body)
        outcome = self.stream(head, (body[i:i + 65536] for i in range(0, len(body), 65536)))
        self.expect("oversized body, streamed (2 MiB)", outcome,
                    {"413 RequestEntityTooLargeException", "closed", "reset"})

    def probe_oversized_chunked(self) -> None:
        head = self.signed("Encrypt", b"", extra={"Transfer-Encoding": "chunked"})
        chunk = b"x" * 65536

        def chunks():
            yield b"11\r\n{\"Plaintext\": \"AA\r\n"
            for _ in range(40):  # 2.5 MiB
                yield b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            yield b'3\r\n"}\n\r\n0\r\n\r\n'

        outcome = self.stream(head, chunks())
        self.expect("oversized body, chunked (2.5 MiB)", outcome,
                    {"413 RequestEntityTooLargeException", "closed", "reset"})

    # -- loops --

    def loop(self, probes) -> None:
        i = random.randrange(len(probes))
        while not self.stop.is_set():
            probe = probes[i % len(probes)]
            i += 1
            try:
                probe()
            except Exception as e:  # a bug of the driver, or a refused connect: counted
                self.record(probe.__name__.replace("probe_", ""), f"driver error: {e!r}"[:120],
                            False)
                with self.lock:
                    self.errors.append(f"{probe.__name__}: {e!r}")
                time.sleep(0.05)

    def slow_loop(self) -> None:
        """Slowloris: up to --slow-connections at once, each dripping a byte every 0.5 s of its
        header block or of its body; each must be cut by the server's header timeout."""
        conns: list[dict] = []
        budget = self.header_timeout + 4
        kinds = ["slowloris headers", "slowloris body"]
        n = 0
        while not self.stop.is_set():
            now = time.monotonic()
            while len(conns) < self.slow_connections and self.end_at - now > budget:
                kind = kinds[n % 2]
                n += 1
                s = self.connect()
                if kind == "slowloris headers":
                    s.sendall(f"POST / HTTP/1.1\r\nHost: {self.host_header}\r\nX-Slow: ".encode())
                else:
                    body = json.dumps({"KeyId": self.key_id, "Plaintext": "aGVsbG8="}).encode()
                    s.sendall(self.signed("Encrypt", body, content_length=len(body) + 200))
                s.setblocking(False)
                conns.append({"sock": s, "kind": kind, "start": now, "next": now + 0.5})
            if not conns:
                self.stop.wait(0.5)
                continue
            readable, _, _ = select.select([c["sock"] for c in conns], [], [], 0.1)
            now = time.monotonic()
            done = []
            for c in conns:
                s = c["sock"]
                closed_by_server = None
                if s in readable:
                    try:
                        data = s.recv(65536)
                        closed_by_server = ("closed" if not data
                                            else read_response_from_bytes(data))
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed_by_server = "reset"
                elif now >= c["next"]:
                    try:
                        s.send(b"a")
                        c["next"] = now + 0.5
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed_by_server = "reset"
                elapsed = now - c["start"]
                if closed_by_server is not None:
                    outcome = f"{closed_by_server} after {round(elapsed)} s"
                    ok = (closed_by_server in ("closed", "reset")
                          or closed_by_server.startswith("408")) and \
                        self.header_timeout - 1 <= elapsed <= self.header_timeout + 3
                    self.record(c["kind"], outcome, ok)
                    done.append(c)
                elif elapsed > budget:
                    self.record(c["kind"], f"still open after {round(elapsed)} s", False)
                    done.append(c)
            for c in done:
                c["sock"].close()
                conns.remove(c)
        for c in conns:  # started before the end, cut short by it: not counted
            c["sock"].close()

    def flood_loop(self) -> None:
        """Rounds of per_ip_limit + 64 connections opened at once from FLOOD_IP: the server may
        hold at most per_ip_limit and must close the others at once. Held ones are then closed,
        half with a reset. Between rounds, 100 connections from HOSTILE_IP opened and dropped."""
        n = self.per_ip_limit + 64
        while not self.stop.is_set() and self.end_at - time.monotonic() > 5:
            socks = []
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((FLOOD_IP, 0))
                s.setblocking(False)
                s.connect_ex((self.host, self.port))
                socks.append(s)
            deadline = time.monotonic() + 5
            closed: set = set()
            while time.monotonic() < deadline and len(closed) < n - self.per_ip_limit:
                r, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.2)
                for s in r:
                    try:
                        if not s.recv(1):
                            closed.add(s)
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed.add(s)
            self.stop.wait(0.3)  # any further closes would be over the limit too
            for s in socks:
                if s not in closed:
                    try:
                        if s.recv(1) == b"":
                            closed.add(s)
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed.add(s)
            held = n - len(closed)
            ok = held <= self.per_ip_limit and len(closed) >= n - self.per_ip_limit
            self.record(f"connection flood ({n} at once, limit {self.per_ip_limit})",
                        "at most the limit held, the rest closed at once" if ok
                        else f"{held} held, {len(closed)} closed at once", ok)
            with self.lock:
                self.outcomes["connection flood: connections"]["held by the server"] += held
                self.outcomes["connection flood: connections"]["closed at once"] += len(closed)
            for i, s in enumerate(socks):
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            for i in range(100):
                try:
                    s = self.connect(timeout=5)
                except OSError as e:
                    self.record("connect and drop", f"connect failed: {e!r}"[:80], False)
                    continue
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                self.record("connect and drop", "dropped", True)
            self.stop.wait(2)

    def start(self) -> None:
        quick = [self.probe_invalid_json, self.probe_wrong_types, self.probe_unknown_operation,
                 self.probe_bad_signature, self.probe_replayed_signature,
                 self.probe_expired_signature, self.probe_garbage, self.probe_huge_headers,
                 self.probe_truncated, self.probe_pipelined]
        big = [self.probe_oversized_content_length, self.probe_oversized_streamed,
               self.probe_oversized_chunked]
        targets = [lambda: self.loop(big), self.slow_loop, self.flood_loop]
        for _ in range(max(1, self.n_threads - len(targets))):
            targets.append(lambda: self.loop(quick))
        for t in targets:
            th = threading.Thread(target=self.guard(t), daemon=True)
            th.start()
            self.threads.append(th)

    def guard(self, fn):
        def run():
            try:
                fn()
            except Exception as e:
                with self.lock:
                    self.errors.append(f"thread died: {e!r}")
                    self.unexpected["driver"][f"thread died: {e!r}"[:120]] += 1
        return run

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


class FreshConnections(threading.Thread):
    """Legitimate requests on new connections, from FRESH_IP, twice a second: an Encrypt of a
    random plaintext and a Decrypt of its answer on the same connection. The load generator
    keeps its connections open, so it does not see how long a new client waits to be accepted
    (behind floods, say); these do. Latency is from connect() to the Encrypt's answer; 10 s
    without an answer (the load generator's timeout) is a failure."""

    def __init__(self, hostile: "Hostile"):
        super().__init__(daemon=True)
        self.h = hostile
        self.latencies: list[float] = []
        self.failures: Counter = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.once()
            except Exception as e:
                self.failures[f"{e!r}"[:100]] += 1

    def once(self) -> None:
        plaintext = os.urandom(32)
        body = json.dumps({"KeyId": self.h.key_id,
                           "Plaintext": base64.b64encode(plaintext).decode()}).encode()
        start = time.monotonic()
        with socket.create_connection((self.h.host, self.h.port), timeout=10,
                                      source_address=(FRESH_IP, 0)) as s:
            s.sendall(self.h.signed("Encrypt", body) + body)
            status, answer, rest = read_json_response(s, start + 10)
            self.latencies.append(time.monotonic() - start)
            if status != 200 or "CiphertextBlob" not in answer:
                self.failures[f"Encrypt answered {status} {answer.get('__type', '')}"] += 1
                return
            body = json.dumps({"CiphertextBlob": answer["CiphertextBlob"]}).encode()
            s.sendall(self.h.signed("Decrypt", body) + body)
            status, answer, _ = read_json_response(s, time.monotonic() + 10, rest)
            if status != 200 or base64.b64decode(answer.get("Plaintext", "")) != plaintext:
                self.failures[f"Decrypt answered {status} {answer.get('__type', '')}"
                              + (" with another plaintext" if status == 200 else "")] += 1


def read_json_response(sock: socket.socket, deadline: float,
                       data: bytes = b"") -> tuple[int, dict, bytes]:
    """(status, JSON body, bytes after the response) of one response; status 0 when the
    connection ended or the deadline passed first."""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").split("\r\n")
            length = next((int(line.split(":", 1)[1]) for line in head[1:]
                           if line.lower().startswith("content-length:")), 0)
            if len(data) >= end + 4 + length:
                try:
                    answer = json.loads(data[end + 4:end + 4 + length])
                except ValueError:
                    answer = {}
                return int(head[0].split()[1]), answer, data[end + 4 + length:]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return 0, {"__type": "(timeout)"}, b""
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except OSError as e:
            return 0, {"__type": f"({e.__class__.__name__})"}, b""
        if not chunk:
            return 0, {"__type": "(closed)"}, b""
        data += chunk


def read_response_from_bytes(data: bytes) -> str:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return m.group(1).decode() if m else "bytes"


# ------------------------------------------------------------------------------------------
# Checks after the load

def server_log_counts(path: str, t0_wall: float) -> tuple[Counter, Counter, int, Counter]:
    """From the JSON request log: statuses of legitimate (127.0.0.1) and hostile requests, the
    number of lines at level error, and legitimate requests by second since t0_wall."""
    status_re = re.compile(rb'"status":(\d{3})')
    addr_re = re.compile(rb'"remoteAddress":"([^"]*)"')
    time_re = re.compile(rb'"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')
    legit, hostile, per_second = Counter(), Counter(), Counter()
    epoch_of: dict[bytes, float] = {}
    errors = 0
    with open(path, "rb") as f:
        for line in f:
            if b'"level":"error"' in line:
                errors += 1
            if b'"msg":"request"' not in line:
                continue
            m = status_re.search(line)
            a = addr_re.search(line)
            if not m:
                continue
            is_legit = a is not None and a.group(1) == b"127.0.0.1"
            (legit if is_legit else hostile)[m.group(1).decode()] += 1
            tm = time_re.search(line)
            if is_legit and tm:
                second = tm.group(1)
                if second not in epoch_of:
                    epoch_of[second] = datetime.datetime.strptime(
                        second.decode(), "%Y-%m-%dT%H:%M:%S").replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                per_second[int(epoch_of[second] - t0_wall)] += 1
    return legit, hostile, errors, per_second


def still_answers(server: harness.ScytaleServer, key_id: str) -> list[str]:
    problems = []
    try:
        status, _, _ = server.healthz()
        if status != 200:
            problems.append(f"/healthz answered {status}")
        kms = server.client()
        plaintext = os.urandom(64)
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        if kms.decrypt(CiphertextBlob=blob)["Plaintext"] != plaintext:
            problems.append("Encrypt then Decrypt gave another plaintext")
        dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        if kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] != dk["Plaintext"]:
            problems.append("GenerateDataKey's ciphertext decrypts to another key")
        if kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "Enabled":
            problems.append("the reference key is no longer Enabled")
    except Exception as e:  # boto3 errors, refused connections
        problems.append(f"after the load: {e!r}")
    return problems


# ------------------------------------------------------------------------------------------
# Verdict and report

def rss_verdict(samples: list[dict], warmup: float, end: float, limit_mib: float) -> dict:
    post = [s for s in samples if warmup <= s["t"] <= end]
    mid = warmup + (end - warmup) / 2
    first = [s["rss_kib"] for s in post if s["t"] <= mid]
    second = [s["rss_kib"] for s in post if s["t"] > mid]
    out = {"warmup": warmup, "mid": mid, "end": end}
    if not first or not second:
        out.update(ok=False, why="too few samples after the warm-up")
        return out
    peak1, peak2 = max(first), max(second)
    allowed = max(16 * 1024, peak1 // 10)
    # Least-squares slope over the samples after the warm-up, for the report.
    ts = [s["t"] for s in post]
    rs = [s["rss_kib"] for s in post]
    tm, rm = sum(ts) / len(ts), sum(rs) / len(rs)
    var = sum((t - tm) ** 2 for t in ts)
    slope = sum((t - tm) * (r - rm) for t, r in zip(ts, rs)) / var if var else 0.0
    peak = max(s["rss_kib"] for s in samples)
    out.update(peak1_kib=peak1, peak2_kib=peak2, allowed_kib=allowed, slope_kib_s=slope,
               peak_kib=peak, ok=peak2 <= peak1 + allowed and peak <= limit_mib * 1024)
    return out


def at(samples: list[dict], t: float) -> dict | None:
    """The sample nearest to t."""
    return min(samples, key=lambda s: abs(s["t"] - t)) if samples else None


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def write_report(path: str, ctx: dict) -> str:
    a, lg, rss = ctx["args"], ctx["loadgen"], ctx["rss"]
    samples = ctx["samples"]
    lines = []
    w = lines.append
    w(f"# Scytale soak: {a.duration:g} s of load and hostile input at once")
    w("")
    w(f"{ctx['date']}, commit {ctx['commit']}, {platform.machine()} with {os.cpu_count()} cores "
      f"({platform.platform()}); server `{ctx['server_cmd']}` ({ctx['build_type']} build, "
      f"SQLite, auditing on, request log at info). Load average before/after: "
      f"{ctx['load_before']} / {ctx['load_after']}. Run by `bench/soak.py "
      f"{' '.join(shlex.quote(x) for x in sys.argv[1:])}` in {ctx['wall']:.0f} s wall time.")
    w("")
    w(f"**Verdict: {'PASS' if ctx['ok'] else 'FAIL'}**")
    w("")
    for name, ok, detail in ctx["checks"]:
        w(f"- {'pass' if ok else '**FAIL**'}: {name}: {detail}")
    w("")
    w("## Legitimate load (scytale-loadgen --verify)")
    w("")
    w(f"{a.connections} keep-alive connections from 127.0.0.1, one client thread, mix "
      f"`{a.mix}`, {a.keys} key(s) of each kind; every 200 checked, and a sample of ciphertexts "
      f"and created keys decrypted or described after the load.")
    w("")
    if lg:
        w("| operation | ok | rps | p50 ms | p99 ms | max ms | errors |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for name, s in list(lg["ops"].items()) + [("**total**", lg["total"])]:
            w(f"| {name} | {s['ok']} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
              f"{s['max_ms']:.1f} | {s['errors']} |")
        w("")
        errs = {f"{op}: {t}": n for op, s in lg["ops"].items()
                for t, n in s["errors_by_type"].items()}
        errs.update({f"(connect): {t}": n for t, n in lg["total"]["connect_errors"].items()})
        if errs:
            w("Errors: " + "; ".join(f"{k} x{n}" for k, n in sorted(errs.items())))
            w("")
        v = lg.get("verify", {})
        w(f"Wrong 200 answers: {v.get('wrong_answers', '?')}. Samples checked after the load: "
          + ", ".join(f"{op} {s['checked']} ({s['failed']} failed)"
                      for op, s in v.get("samples", {}).items()) + ".")
        w("")
    w("## Server process")
    w("")
    w(f"VmRSS, open descriptors and threads of the server, sampled every second from "
      f"`/proc/PID/status` (t = 0 when the load generator started; its set-up takes the first "
      f"second or so).")
    w("")
    per_second = ctx["log"][3]

    def rps_before(t: float) -> float:  # legitimate answers a second over the 5 s before t
        seconds = [per_second.get(i, 0) for i in range(max(0, int(t) - 5), int(t))]
        return sum(seconds) / len(seconds) if seconds else 0.0

    w("| t (s) | VmRSS MiB | fds | threads | server CPU s/s | legitimate rps (5 s before) |")
    w("|---:|---:|---:|---:|---:|---:|")
    marks = sorted(set([0.0, 5.0, a.warmup] + [float(t) for t in range(10, int(a.duration) + 1, 10)]
                       + [rss["mid"], a.duration]))
    prev = None
    for t in marks:
        s = at(samples, t)
        if s is None or s is prev:
            continue
        before = at(samples, s["t"] - 1)
        cpu = (s["cpu_s"] - before["cpu_s"]) / (s["t"] - before["t"]) if before is not s else 0
        w(f"| {s['t']:.0f} | {mib(s['rss_kib'])} | {s['fds']} | {s['threads']} | {cpu:.2f} | "
          f"{rps_before(s['t']):.0f} |")
        prev = s
    w("")
    if "peak1_kib" in rss:
        w(f"Before the load: VmRSS {mib(ctx['before']['rss_kib'])} MiB, {ctx['before']['fds']} "
          f"fds, {ctx['before']['threads']} threads. Peak VmRSS {mib(rss['peak_kib'])} MiB "
          f"(VmHWM at the end {mib(samples[-1]['hwm_kib'])} MiB). After the warm-up "
          f"({rss['warmup']:.0f} s): peak {mib(rss['peak1_kib'])} MiB in "
          f"[{rss['warmup']:.0f}, {rss['mid']:.1f}] s, {mib(rss['peak2_kib'])} MiB in "
          f"({rss['mid']:.1f}, {rss['end']:.0f}] s (allowed growth {mib(rss['allowed_kib'])} "
          f"MiB); least-squares slope {rss['slope_kib_s']:+.1f} KiB/s"
          + (f", {rss['slope_kib_s'] * 1024 / lg['total']['rps']:+.1f} bytes per legitimate "
             f"request" if lg and lg["total"]["rps"] else "") + ".")
        w("")
    w("VmRSS (MiB) second by second: "
      + " ".join(f"{s['rss_kib'] / 1024:.0f}" for s in samples) + ".")
    w("")
    w("Legitimate answers a second, from the server's request log: "
      + " ".join(str(per_second.get(i, 0)) for i in range(0, int(a.duration) + 2)) + ".")
    w("")
    w(f"After the load: {ctx['after']['fds']} fds after {ctx['fd_wait']:.1f} s, VmRSS "
      f"{mib(ctx['after']['rss_kib'])} MiB, {ctx['after']['threads']} threads.")
    w("")
    w("## Hostile input")
    w("")
    h = ctx["hostile"]
    total = sum(sum(c.values()) for k, c in h.outcomes.items()
                if not k.startswith("connection flood: "))
    w(f"{a.hostile_threads} threads from {HOSTILE_IP} (floods from {FLOOD_IP}), {total} probes "
      f"in all ({total / max(ctx['hostile_s'], 1):.0f}/s); "
      f"{sum(sum(c.values()) for c in h.unexpected.values())} unexpected. Answers are "
      f"`<status> <__type>` (`-`: no JSON body), `closed` (end of stream without an answer) or "
      f"`reset`; slowloris connections are listed by when the server cut them.")
    w("")
    w("| kind | answers (count) | unexpected |")
    w("|---|---|---:|")
    for kind in sorted(h.outcomes):
        answers = ", ".join(f"`{o}` {n}" for o, n in h.outcomes[kind].most_common())
        w(f"| {kind} | {answers} | {sum(h.unexpected[kind].values())} |")
    for kind in sorted(set(h.unexpected) - set(h.outcomes)):
        w(f"| {kind} | {dict(h.unexpected[kind])} | {sum(h.unexpected[kind].values())} |")
    w("")
    legit, hostile, error_lines, _ = ctx["log"]
    w("## Server request log")
    w("")
    w(f"Statuses logged for 127.0.0.1 (load generator and checks): "
      + ", ".join(f"{k}: {v}" for k, v in sorted(legit.items()))
      + f". For the other addresses (hostile input, and the pairs on new connections): "
      + ", ".join(f"{k}: {v}" for k, v in sorted(hostile.items()))
      + f" (connections closed before a request was read are not logged). Lines at level "
        f"error: {error_lines}.")
    w("")
    text = "\n".join(lines)
    if path != "-":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


# ------------------------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds not judged for RSS growth (default min(10, duration/3))")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--mix", default=DEFAULT_MIX)
    p.add_argument("--keys", type=int, default=4)
    p.add_argument("--hostile-threads", type=int, default=5,
                   help="oversized bodies, slowloris, floods, and the rest for quick kinds")
    p.add_argument("--slow-connections", type=int, default=16)
    p.add_argument("--request-quotas", choices=["off", "aws"], default="off")
    p.add_argument("--max-connections-per-ip", type=int, default=256)
    p.add_argument("--header-timeout-seconds", type=int, default=10)
    p.add_argument("--rss-limit-mib", type=float, default=512)
    p.add_argument("--bin-dir", default=str(REPO / "build" / "bin"),
                   help="where scytale and scytale-loadgen are")
    p.add_argument("--server-bin", default=None,
                   help="another scytale to soak, e.g. one built with -DSCY_SANITIZE=address")
    p.add_argument("--report", default=None,
                   help="Markdown report path (default bench/results/soak-<date>.md; - = stdout)")
    p.add_argument("--server-args", default="", help="more flags for scytale serve")
    a = p.parse_args()
    if a.warmup is None:
        a.warmup = min(10.0, a.duration / 3)
    date = datetime.date.today().isoformat()
    report = a.report or str(REPO / "bench" / "results" / f"soak-{date}.md")
    wall0 = time.monotonic()

    harness.SCYTALE_BIN = Path(a.server_bin or Path(a.bin_dir) / "scytale")
    loadgen_bin = Path(a.bin_dir) / "scytale-loadgen"
    server_args = ["--request-quotas", a.request_quotas,
                   "--max-connections-per-ip", str(a.max_connections_per_ip),
                   "--header-timeout-seconds", str(a.header_timeout_seconds),
                   *shlex.split(a.server_args)]
    server = harness.ScytaleServer(args=server_args, name="soak")
    server.start()
    tmp = tempfile.mkdtemp(prefix="scytale-soak-")
    try:
        pid = server.proc.pid
        key_id = server.client().create_key(Description="soak reference")["KeyMetadata"]["KeyId"]
        load_before = " ".join(open("/proc/loadavg").read().split()[:3])
        time.sleep(0.5)
        before = proc_sample(pid)

        lg_json = os.path.join(tmp, "loadgen.json")
        cmd = [str(loadgen_bin), "--endpoint", server.endpoint,
               "--access-key-id", server.access_key, "--secret-access-key", server.secret_key,
               "--connections", str(a.connections), "--duration", str(a.duration),
               "--warmup", "0", "--mix", a.mix, "--keys", str(a.keys), "--timeout-seconds", "10",
               "--verify", "--json", lg_json, "--label", "soak"]
        t0 = time.monotonic()
        t0_wall = time.time()
        sampler = Sampler(pid, t0)
        sampler.start()
        hostile = Hostile(server, key_id, a.max_connections_per_ip, a.header_timeout_seconds,
                          end_at=t0 + a.duration, threads=a.hostile_threads,
                          slow_connections=a.slow_connections,
                          throttling=a.request_quotas != "off")
        hostile.start()
        fresh = FreshConnections(hostile)
        fresh.start()
        print(f"soak: {a.duration:g} s of load and hostile input against {server.endpoint} "
              f"(pid {pid}); server log {server.log_path}", flush=True)
        lg_proc = subprocess.run(cmd, capture_output=True, text=True,
                                 timeout=a.duration + 180)
        hostile_s = time.monotonic() - t0
        hostile.finish()
        fresh.stop.set()
        fresh.join(40)
        print(lg_proc.stdout, end="", flush=True)
        if lg_proc.stderr:
            print(lg_proc.stderr, end="", file=sys.stderr)
        loadgen = None
        if os.path.exists(lg_json):
            with open(lg_json, encoding="utf-8") as f:
                loadgen = json.load(f)

        # Descriptors back to where they were (the server closes what the clients closed).
        fd_start = time.monotonic()
        after = proc_sample(pid) if server.running else before
        while server.running and after["fds"] > before["fds"] + 2 and \
                time.monotonic() - fd_start < 20:
            time.sleep(0.25)
            after = proc_sample(pid)
        fd_wait = time.monotonic() - fd_start
        time.sleep(max(0.0, 2 - fd_wait))  # two more samples of the quiet server
        sampler.stop.set()
        sampler.join(5)
        samples = sampler.samples
        running = server.running
        problems = still_answers(server, key_id) if running else ["the server died"]
        load_after = " ".join(open("/proc/loadavg").read().split()[:3])
        stop_error = ""
        if running:
            try:
                server.stop()
            except AssertionError as e:
                stop_error = str(e).splitlines()[0]
        log_counts = server_log_counts(server.log_path, t0_wall)

        # -- the verdict --
        checks = []
        allowed_errors = {"400 ThrottlingException"} if a.request_quotas != "off" else set()
        if loadgen is None:
            checks.append(("legitimate requests", False,
                           f"scytale-loadgen exited {lg_proc.returncode} without a report"))
        else:
            bad = {f"{op} {t}": n for op, s in loadgen["ops"].items()
                   for t, n in s["errors_by_type"].items() if t not in allowed_errors}
            bad.update({f"(connect) {t}": n
                        for t, n in loadgen["total"]["connect_errors"].items()})
            throttled = sum(n for s in loadgen["ops"].values()
                            for t, n in s["errors_by_type"].items() if t in allowed_errors)
            v = loadgen.get("verify", {})
            checks.append(("legitimate requests answered 200" + (" or throttled"
                                                                   if allowed_errors else ""),
                           not bad and lg_proc.returncode == 0,
                           f"{loadgen['total']['ok']} ok ({loadgen['total']['rps']:.0f} rps), "
                           f"{throttled} throttled, other errors: {bad or 'none'}; "
                           f"exit {lg_proc.returncode}"))
            checks.append(("legitimate answers correct", v.get("wrong_answers") == 0
                           and v.get("samples_failed") == 0,
                           f"{v.get('wrong_answers')} wrong 200s; "
                           f"{sum(s['checked'] for s in v.get('samples', {}).values())} samples "
                           f"checked after the load, {v.get('samples_failed')} failed"))
        lat = sorted(fresh.latencies)
        fresh_summary = (f"{len(lat)} Encrypt+Decrypt pairs, first answer p50 "
                         f"{1000 * lat[len(lat) // 2]:.0f} ms, p99 "
                         f"{1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.0f} ms, max "
                         f"{1000 * lat[-1]:.0f} ms" if lat else "none")
        checks.append(("legitimate requests on new connections (from " + FRESH_IP + ")",
                       bool(lat) and not fresh.failures,
                       f"{fresh_summary}; failures: {dict(fresh.failures) or 'none'}"))
        unexpected = {f"{k}: {o}": n for k, c in hostile.unexpected.items() for o, n in c.items()}
        n_hostile = sum(sum(c.values()) for k, c in hostile.outcomes.items()
                        if not k.startswith("connection flood: "))
        checks.append(("hostile input answered as expected (4xx or close, never 5xx)",
                       not unexpected and n_hostile > 0,
                       f"{n_hostile} probes; unexpected: {unexpected or 'none'}"))
        rss = rss_verdict(samples, a.warmup, a.duration, a.rss_limit_mib)
        if "peak1_kib" in rss:
            checks.append(("RSS bounded", rss["ok"],
                           f"peak after warm-up {mib(rss['peak1_kib'])} MiB, then "
                           f"{mib(rss['peak2_kib'])} MiB (at most +{mib(rss['allowed_kib'])}); "
                           f"peak {mib(rss['peak_kib'])} MiB (limit {a.rss_limit_mib:g})"))
        else:
            checks.append(("RSS bounded", False, rss.get("why", "")))
        checks.append(("descriptors back to baseline", after["fds"] <= before["fds"] + 2,
                       f"{before['fds']} before, {after['fds']} {fd_wait:.1f} s after the load"))
        legit, hostile_log, error_lines, _ = log_counts
        fives = sum(n for k, n in list(legit.items()) + list(hostile_log.items())
                    if k.startswith("5"))
        checks.append(("server alive and correct afterwards, no 5xx logged, clean stop",
                       running and not problems and fives == 0 and error_lines == 0
                       and not stop_error,
                       f"{'running' if running else 'DEAD'}; "
                       f"{'; '.join(problems) or 'Encrypt/Decrypt/GenerateDataKey ok'}; "
                       f"{fives} 5xx and {error_lines} error lines in the log; "
                       f"{stop_error or 'exit 0 on SIGTERM'}"))
        ok = all(c[1] for c in checks)
        ctx = dict(args=a, date=date, loadgen=loadgen, rss=rss, samples=samples, before=before,
                   after=after, fd_wait=fd_wait, hostile=hostile, hostile_s=hostile_s,
                   log=log_counts, checks=checks, ok=ok, load_before=load_before,
                   load_after=load_after, wall=time.monotonic() - wall0,
                   server_cmd=" ".join(["scytale serve", *server_args]),
                   commit=commit_of(REPO), build_type=build_type_of(harness.SCYTALE_BIN))
        text = write_report(report, ctx)
        print(text)
        if report != "-":
            print(f"wrote {report}")
        for e in hostile.errors[:10]:
            print(f"soak: driver error: {e}", file=sys.stderr)
        print(f"soak: {'PASS' if ok else 'FAIL'} in {time.monotonic() - wall0:.0f} s")
        return 0 if ok else 1
    finally:
        server.cleanup()
        subprocess.run(["rm", "-rf", tmp], check=False)


def build_type_of(binary: Path) -> str:
    """CMAKE_BUILD_TYPE (and sanitizers) of the tree that built binary, from its CMakeCache."""
    try:
        cache = (Path(binary).resolve().parents[1] / "CMakeCache.txt").read_text()
    except OSError:
        return "unknown"
    kind = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", cache, re.M)
    sanitize = re.search(r"^SCY_SANITIZE:STRING=(.+)$", cache, re.M)
    return ((kind.group(1) if kind else "unknown")
            + (f", -fsanitize={sanitize.group(1)}" if sanitize else ""))


def commit_of(repo: Path) -> str:
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", ".",
                                ":!bench/results"], capture_output=True, text=True).stdout
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
