"""Shared harness for Scytale's end-to-end tests.

Every test class starts its own `scytale serve` process(es) on port 0 in a fresh
temporary data directory, so the test files are independent of each other and can be
run in parallel (e.g. one `python3 -m unittest tests/e2e/test_x.py` per process).

Environment:
  SCYTALE_BIN        path of the scytale binary (default <repo>/build/bin/scytale)
  SCYTALE_E2E_KEEP   if set, temporary data directories and logs are not removed
  CI                 if set, a missing AWS CLI v2 (/usr/bin/aws) fails instead of skipping
  SCYTALE_E2E_KEYSTORE=pkcs11   every server's root key in a SoftHSM2 token
  SCYTALE_E2E_STORE=postgres    every server's store in its own database of a private
                                PostgreSQL cluster this process starts (default: SQLite)

Only the Python standard library, boto3 and botocore are used (no pytest).
"""

from __future__ import annotations

import atexit
import configparser
import ctypes
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

REPO_ROOT = Path(__file__).resolve().parents[2]
SCYTALE_BIN = Path(os.environ.get("SCYTALE_BIN") or REPO_ROOT / "build" / "bin" / "scytale")

# Fixed admin credentials handed to the server through the environment.
ADMIN_ACCESS_KEY = "AKIAE2ETESTADMIN0001"
ADMIN_SECRET_KEY = "e2eTestSecretKey/K7MDENG/bPxRfiCYEXAMPLE1"
DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"

# The actions of the key administrators' and of the key users' statements in the default key
# policy that the AWS console writes.
KEY_ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                     "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                     "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                     "kms:CancelKeyDeletion"]
KEY_USER_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:DescribeKey"]

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."

START_TIMEOUT = 20.0   # seconds to wait for "listening on"
STOP_TIMEOUT = 15.0    # seconds to wait for exit after SIGTERM

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LISTENING_RE = re.compile(r"listening on (\S+):(\d+)\s*$")
CREDS_WRITTEN_RE = re.compile(r"admin credentials written to (.+?)\s*$")
CLI_ERROR_RE = re.compile(r"An error occurred \(([A-Za-z0-9_.#:]+)\)(?: \(.*?\))? when calling the (\w+) operation"
                          r"(?: \(reached max retries: \d+\))?: ?(.*)", re.S)

KEEP = bool(os.environ.get("SCYTALE_E2E_KEEP"))

# SCYTALE_E2E_KEYSTORE=pkcs11 runs every server of the process with its root key in a SoftHSM2
# token (one token in a temporary directory, a root key per server made by `scytale init`), so a
# whole suite can be run against the PKCS#11 keystore as it runs against the soft one.
E2E_KEYSTORE = os.environ.get("SCYTALE_E2E_KEYSTORE", "soft")
PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PKCS11_TOKEN = "ScytaleE2ESuite"
_pkcs11_pin_file: Optional[str] = None


def softhsm_token_dir(prefix: str) -> str:
    """A new temporary directory (the caller removes it) for SoftHSM2 tokens, made the only
    token store of this process and what it starts (softhsm2-util, pkcs11-tool, servers):
    SOFTHSM2_CONF points at its softhsm2.conf; the system's token store is never touched."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.makedirs(os.path.join(tmp, "tokens"))
    conf = os.path.join(tmp, "softhsm2.conf")
    with open(conf, "w", encoding="ascii") as f:
        f.write(f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\n"
                "log.level = ERROR\nslots.removable = false\n")
    os.environ["SOFTHSM2_CONF"] = conf
    return tmp


def init_softhsm_token(label: str, pin: str, so_pin: str) -> None:
    """A new token in the first free slot of the store softhsm_token_dir set up."""
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                    "--so-pin", so_pin], check=True, capture_output=True)


def pkcs11_pin_file() -> str:
    """Sets up this process's SoftHSM2 token once; returns the 0600 PIN file."""
    global _pkcs11_pin_file
    if _pkcs11_pin_file:
        return _pkcs11_pin_file
    if not os.path.exists(PKCS11_MODULE) or shutil.which("softhsm2-util") is None:
        raise AssertionError("SoftHSM2 missing: run scripts/install-deps.sh")
    tmp = softhsm_token_dir("scytale-e2e-softhsm-")
    if not KEEP:
        atexit.register(shutil.rmtree, tmp, True)
    pin = "e2e-suite-pin"
    init_softhsm_token(PKCS11_TOKEN, pin, "e2e-so-pin")
    path = os.path.join(tmp, "pin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, pin.encode())
    os.close(fd)
    _pkcs11_pin_file = path
    return path

# --------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------

E2E_STORE = os.environ.get("SCYTALE_E2E_STORE", "sqlite")
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
PG_SUPERUSER = "scytale"


def _pg_bindir() -> str:
    """The newest /usr/lib/postgresql/<version>/bin (Debian keeps server binaries off PATH)."""
    found = []
    for v in os.listdir("/usr/lib/postgresql") if os.path.isdir("/usr/lib/postgresql") else []:
        if v.isdigit() and os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb"):
            found.append(int(v))
    if not found:
        raise AssertionError("PostgreSQL server binaries missing under /usr/lib/postgresql: "
                             "run scripts/install-deps.sh")
    return f"/usr/lib/postgresql/{max(found)}/bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A private PostgreSQL server: initdb into a temporary directory, listening on
    127.0.0.1:<free port> and on a socket in that directory; trust authentication (a password
    in a URL is accepted and ignored). As root it runs as the unprivileged `postgres` user
    (initdb refuses root). The server gets SIGQUIT when this process dies."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="scytale-e2e-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen] = None
        self._demote_ids: Optional[tuple[int, int]] = None
        if os.geteuid() == 0:
            import pwd
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            self._demote_ids = (pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([f"{self.bindir}/initdb", "-D", self.data, "-U", PG_SUPERUSER, "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        self.start()
        if not KEEP:
            atexit.register(self.destroy)

    def _preexec(self) -> None:
        # In the child, after fork: drop to the unprivileged user, then ask for SIGQUIT
        # (PostgreSQL's immediate shutdown) when the parent dies (setuid clears that request).
        if self._demote_ids:
            os.setgroups([])
            os.setgid(self._demote_ids[1])
            os.setuid(self._demote_ids[0])
        _LIBC.prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG

    def _run(self, argv: list[str]) -> None:
        p = subprocess.run(argv, preexec_fn=self._preexec, capture_output=True, text=True,
                           timeout=120, cwd=self.dir)
        if p.returncode != 0:
            raise AssertionError(f"{argv[0]} failed: {p.stdout}{p.stderr}")

    def start(self, timeout: float = 60) -> None:
        assert self.proc is None or self.proc.poll() is not None
        log = open(self.log_path, "ab")
        if self._demote_ids:
            os.chown(self.log_path, *self._demote_ids)
        try:
            self.proc = subprocess.Popen(
                [f"{self.bindir}/postgres", "-D", self.data, "-k", self.dir, "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=300", "-c", "shared_buffers=32MB"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=self._preexec,
                cwd=self.dir)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise AssertionError("postgres exited at start:\n" + self.log_tail())
            if time.monotonic() > deadline:
                raise AssertionError("postgres not ready in time:\n" + self.log_tail())
            time.sleep(0.05)

    def ready(self) -> bool:
        p = subprocess.run([f"{self.bindir}/pg_isready", "-q", "-h", self.dir, "-p",
                            str(self.port), "-U", PG_SUPERUSER], capture_output=True)
        return p.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """fast: SIGINT (connections are cut, a clean shutdown); immediate: SIGQUIT."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
            self.proc.wait(60)

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        """Creates database `name`; returns its TCP URL (no password)."""
        p = subprocess.run([f"{self.bindir}/createdb", "-h", self.dir, "-p", str(self.port),
                            "-U", PG_SUPERUSER, name], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"createdb {name} failed: {p.stderr}")
        return self.url(name)

    def url(self, name: str, password: Optional[str] = None) -> str:
        auth = PG_SUPERUSER + (f":{urllib.parse.quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{name}"

    def psql(self, name: str, sql: str) -> str:
        p = subprocess.run([f"{self.bindir}/psql", "-h", self.dir, "-p", str(self.port), "-U",
                            PG_SUPERUSER, "-d", name, "-At", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"psql failed: {p.stderr}")
        return p.stdout

    def log_tail(self, lines: int = 60) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


_shared_pg: Optional[PostgresCluster] = None
_pg_lock = threading.Lock()
_pg_databases = 0
_pg_database_of_dir: dict[str, str] = {}


def shared_postgres() -> PostgresCluster:
    """This process's cluster, started on first use."""
    global _shared_pg
    with _pg_lock:
        if _shared_pg is None:
            _shared_pg = PostgresCluster()
        return _shared_pg


def new_postgres_database() -> str:
    """A fresh database in this process's cluster; returns its URL."""
    global _pg_databases
    cluster = shared_postgres()
    with _pg_lock:
        _pg_databases += 1
        name = f"e2e{_pg_databases}"
    return cluster.create_database(name)


# Keep the test process's own AWS configuration out of the way: no profiles, no config
# files, no instance metadata look-ups. Credentials are always passed explicitly.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/scytale-e2e/config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/scytale-e2e/credentials"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------------------

_ALL_SERVERS: list["ScytaleServer"] = []


def _kill_leftovers() -> None:
    for s in list(_ALL_SERVERS):
        if s.proc is not None and s.proc.poll() is None:
            try:
                s.proc.kill()
                s.proc.wait(5)
            except Exception:
                pass


atexit.register(_kill_leftovers)


class ServerStartError(AssertionError):
    pass


class ScytaleServer:
    """One `scytale serve` process.

    The data directory outlives restarts of the same object (start/stop/start), so
    persistence tests just call `stop()` / `kill()` and `start()` again.
    """

    def __init__(self, *, data_dir: Optional[str] = None, args: Iterable[str] = (),
                 env_creds: bool = True, access_key: str = ADMIN_ACCESS_KEY,
                 secret_key: str = ADMIN_SECRET_KEY, name: str = "scytale",
                 listen: str = "127.0.0.1:0", store_url: Optional[str] = None,
                 root_from: Optional["ScytaleServer"] = None, tls_ca: Optional[str] = None):
        """store_url: a postgres:// URL handed over in SCYTALE_STORE_URL (default: SQLite in
        the data directory, or a fresh database under SCYTALE_E2E_STORE=postgres).
        root_from: another server whose root key this one uses (nodes of one database must
        share it): its soft root key file is copied, or its PKCS#11 key label reused.
        tls_ca: for a server started with --tls-cert/--tls-key (in args), the CA bundle that
        verifies its certificate: it is then reached over HTTPS (None: plain HTTP)."""
        if not SCYTALE_BIN.exists():
            raise ServerStartError(
                f"scytale binary not found at {SCYTALE_BIN}; build it or set SCYTALE_BIN")
        self.name = name
        self._tmp = tempfile.mkdtemp(prefix=f"scytale-e2e-{name}-")
        self.data_dir = data_dir or os.path.join(self._tmp, "data")
        self.log_path = os.path.join(self._tmp, "server.log")
        self.args = list(args)
        self.env_creds = env_creds
        self.access_key = access_key
        self.secret_key = secret_key
        self.listen = listen
        self.tls_ca = tls_ca
        self.proc: Optional[subprocess.Popen] = None
        self.host: Optional[str] = None
        self.port: Optional[int] = None
        self.stdout_lines: list[str] = []
        self.creds_written_path: Optional[str] = None
        self.starts = 0
        self._reader: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._log_lock = threading.Lock()
        if store_url is None and E2E_STORE == "postgres":
            # Servers made on one data directory (a restart with other flags) share a database.
            with _pg_lock:
                store_url = _pg_database_of_dir.get(self.data_dir)
            if store_url is None:
                store_url = new_postgres_database()
                with _pg_lock:
                    _pg_database_of_dir[self.data_dir] = store_url
        self.store_url = store_url
        self.pkcs11_args: list[str] = []
        if root_from is not None:
            self.pkcs11_args = list(root_from.pkcs11_args)
            if not self.pkcs11_args:
                os.makedirs(self.data_dir, exist_ok=True)
                shutil.copy2(os.path.join(root_from.data_dir, "root.key"),
                             os.path.join(self.data_dir, "root.key"))
        elif E2E_KEYSTORE == "pkcs11":
            label = f"root-{name}-{os.path.basename(self._tmp)}"
            self.pkcs11_args = ["--keystore", "pkcs11", "--pkcs11-module", PKCS11_MODULE,
                                "--pkcs11-token", PKCS11_TOKEN, "--pkcs11-key-label", label,
                                "--pkcs11-pin-file", pkcs11_pin_file()]
            done = subprocess.run([str(SCYTALE_BIN), "init", *self.pkcs11_args],
                                  capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise ServerStartError(f"scytale init --keystore pkcs11 failed: {done.stderr}")
        _ALL_SERVERS.append(self)

    # -- lifecycle -------------------------------------------------------------------

    def command(self) -> list[str]:
        return [str(SCYTALE_BIN), "serve", "--listen", self.listen, "--data-dir", self.data_dir,
                *self.pkcs11_args, *self.args]

    def start(self, timeout: float = START_TIMEOUT) -> "ScytaleServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        os.makedirs(self.data_dir, exist_ok=True)
        env = dict(os.environ)
        env.pop("SCYTALE_ADMIN_ACCESS_KEY_ID", None)
        env.pop("SCYTALE_ADMIN_SECRET_ACCESS_KEY", None)
        if self.env_creds:
            env["SCYTALE_ADMIN_ACCESS_KEY_ID"] = self.access_key
            env["SCYTALE_ADMIN_SECRET_ACCESS_KEY"] = self.secret_key
        env.pop("SCYTALE_STORE_URL", None)
        if self.store_url:
            env["SCYTALE_STORE_URL"] = self.store_url  # not on the command line: `ps` shows it
        self.starts += 1
        self.stdout_lines = []
        self.creds_written_path = None
        self.host = self.port = None
        self._ready = threading.Event()
        cmd = self.command()
        self._log(f"=== start #{self.starts}: {' '.join(cmd)} (env creds: {self.env_creds})\n")
        log_fd = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log_fd, env=env, start_new_session=True)
        finally:
            log_fd.close()
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()

        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise ServerStartError(
                    f"{self.name}: exited with code {self.proc.returncode} before listening\n"
                    + self.log_tail())
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    f"{self.name}: no 'listening on' line within {timeout}s\n" + self.log_tail())
        # The listening line is printed once ready; /healthz must answer 200.
        status = None
        for _ in range(50):
            try:
                status, _, _ = self.healthz()
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if status != 200:
            self.kill()
            raise ServerStartError(f"{self.name}: GET /healthz answered {status}\n" + self.log_tail())
        return self

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self._log(f"[stdout] {line}\n")
            m = CREDS_WRITTEN_RE.search(line)
            if m:
                self.creds_written_path = m.group(1)
            m = LISTENING_RE.search(line)
            if m and not self._ready.is_set():
                self.host, self.port = m.group(1), int(m.group(2))
                self._ready.set()

    def _log(self, text: str) -> None:
        with self._log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT, expect_code: int = 0) -> int:
        """SIGTERM, wait, and assert a clean exit (code 0 unless told otherwise)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"{self.name}: did not exit within {timeout}s of SIGTERM\n" + self.log_tail())
        self._close_stdout()
        rc = self.proc.returncode
        self._log(f"=== exited with code {rc}\n")
        if rc != expect_code:
            raise AssertionError(f"{self.name}: exit code after SIGTERM was {rc}, "
                                 f"expected {expect_code}\n" + self.log_tail())
        return rc

    def kill(self) -> None:
        """SIGKILL (simulated crash / cleanup after failure)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            self._log("=== killed with SIGKILL\n")
        self._close_stdout()

    def _close_stdout(self) -> None:
        if self._reader:
            self._reader.join(2)
        if self.proc is not None and self.proc.stdout and not self._reader.is_alive():
            self.proc.stdout.close()

    def cleanup(self) -> None:
        self.kill()
        if not KEEP:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if self in _ALL_SERVERS:
            _ALL_SERVERS.remove(self)

    def query_store(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of `sql` (with ? placeholders) read straight from this server's store: its
        SQLite file, or its PostgreSQL database (values come back as text)."""
        if not self.store_url:
            import sqlite3
            db = sqlite3.connect(f"file:{os.path.join(self.data_dir, 'scytale.db')}?mode=ro",
                                 uri=True)
            try:
                return db.execute(sql, params).fetchall()
            finally:
                db.close()
        cluster = shared_postgres()
        name = self.store_url.rsplit("/", 1)[1].split("?")[0]
        for p in params:
            sql = sql.replace("?", "'" + str(p).replace("'", "''") + "'", 1)
        out = cluster.psql(name, sql)
        return [tuple(line.split("|")) for line in out.splitlines()]

    # -- logs ------------------------------------------------------------------------

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines: int = 150) -> str:
        text = self.log_text().splitlines()
        return (f"----- {self.name} log ({self.log_path}), last {lines} lines -----\n"
                + "\n".join(text[-lines:]) + "\n----- end of log -----")

    # -- addressing ------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.port is not None, "server not started"
        return f"{'https' if self.tls_ca else 'http'}://{self.host}:{self.port}"

    def healthz(self, timeout: float = 5):
        """(status, headers, body) of GET /healthz, over HTTPS when tls_ca is set; a server
        listening on every address is asked on 127.0.0.1."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        if not self.tls_ca:
            return http_get(host, self.port, "/healthz", timeout=timeout)
        import ssl
        conn = http.client.HTTPSConnection(host, self.port, timeout=timeout,
                                           context=ssl.create_default_context(cafile=self.tls_ca))
        try:
            conn.request("GET", "/healthz")
            r = _to_raw(conn.getresponse())
            return r.status, r.headers, r.body
        finally:
            conn.close()

    def client(self, region: str = DEFAULT_REGION, access_key: Optional[str] = None,
               secret_key: Optional[str] = None, **config: Any):
        return kms_client(self.endpoint, region,
                          access_key or self.access_key, secret_key or self.secret_key,
                          verify=self.tls_ca, **config)


# --------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------

def kms_client(endpoint: str, region: str = DEFAULT_REGION, access_key: str = ADMIN_ACCESS_KEY,
               secret_key: str = ADMIN_SECRET_KEY, session_token: Optional[str] = None,
               verify: Optional[str] = None, **config: Any):
    """A boto3 KMS client pointed at `endpoint` with retries disabled; `verify`: the CA bundle
    of an https endpoint.

    (`retries={'max_attempts': 1}` in botocore means *one retry*; `total_max_attempts: 1`
    is the setting that really disables retries.)"""
    cfg = dict(retries={"total_max_attempts": 1, "mode": "standard"},
               connect_timeout=5, read_timeout=30)
    cfg.update(config)
    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                    aws_session_token=session_token, region_name=region)
    return session.client("kms", endpoint_url=endpoint, verify=verify,
                          config=botocore.config.Config(**cfg))


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


# --------------------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------------------

@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]           # lower-case names
    body: bytes
    json: Any = None

    @property
    def error_type(self) -> Optional[str]:
        if isinstance(self.json, dict):
            t = self.json.get("__type")
            if isinstance(t, str):
                # Same normalisation as botocore: cut after ':' and before the last '#'.
                return t.split(":")[0].split("#")[-1]
        return None

    @property
    def message(self) -> Optional[str]:
        if isinstance(self.json, dict):
            return self.json.get("message", self.json.get("Message"))
        return None

    @property
    def request_id(self) -> Optional[str]:
        return self.headers.get("x-amzn-requestid")

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.reason} headers={self.headers} body={self.body[:500]!r}"


def _to_raw(resp: http.client.HTTPResponse) -> RawResponse:
    body = resp.read()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    parsed = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    return RawResponse(resp.status, resp.reason, headers, body, parsed)


def http_get(host: str, port: int, path: str, timeout: float = 10):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = _to_raw(conn.getresponse())
        return r.status, r.headers, r.body
    finally:
        conn.close()


def send_http(server_or_endpoint, method: str, path: str, body: bytes,
              headers: Mapping[str, str], timeout: float = 15,
              conn: Optional[http.client.HTTPConnection] = None) -> RawResponse:
    """Send one request with http.client (Host and Content-Length added by http.client)."""
    own = conn is None
    if own:
        host, port = _host_port(server_or_endpoint)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers))
        return _to_raw(conn.getresponse())
    finally:
        if own:
            conn.close()


def _host_port(server_or_endpoint) -> tuple[str, int]:
    if isinstance(server_or_endpoint, ScytaleServer):
        return server_or_endpoint.host, server_or_endpoint.port
    u = urllib.parse.urlsplit(server_or_endpoint)
    return u.hostname, u.port


def _endpoint(server_or_endpoint) -> str:
    if isinstance(server_or_endpoint, ScytaleServer):
        return server_or_endpoint.endpoint
    return server_or_endpoint


def encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def botocore_signed_headers(endpoint: str, body: bytes, *, target: Optional[str],
                            region: str = DEFAULT_REGION, access_key: str = ADMIN_ACCESS_KEY,
                            secret_key: str = ADMIN_SECRET_KEY, service: str = "kms",
                            session_token: Optional[str] = None,
                            extra_headers: Optional[Mapping[str, str]] = None,
                            content_type: Optional[str] = JSON_CONTENT_TYPE) -> dict[str, str]:
    """Headers of a request signed exactly the way botocore signs KMS calls."""
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if target is not None:
        headers["X-Amz-Target"] = target
    if extra_headers:
        headers.update(extra_headers)
    req = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    creds = botocore.credentials.Credentials(access_key, secret_key, session_token)
    botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return dict(req.headers.items())


def signed_request(server_or_endpoint, operation: Optional[str], body: Any = None, *,
                   region: str = DEFAULT_REGION, access_key: Optional[str] = None,
                   secret_key: Optional[str] = None, target: Optional[str] = "",
                   service: str = "kms", extra_headers: Optional[Mapping[str, str]] = None,
                   send_body: Optional[bytes] = None, header_overrides: Optional[Mapping[str, Optional[str]]] = None,
                   content_type: Optional[str] = JSON_CONTENT_TYPE, timeout: float = 15) -> RawResponse:
    """POST / with a botocore-SigV4-signed AWS JSON 1.1 request.

    operation: e.g. "ListKeys" → X-Amz-Target TrentService.ListKeys. Pass target=None to
    omit X-Amz-Target, or target="Foo.Bar" for an arbitrary value.
    body: dict (JSON-encoded), str/bytes (sent verbatim) or None ("{}" for an operation).
    send_body: if given, these bytes are sent instead of the signed body (tampering).
    header_overrides: applied after signing (value None removes the header).
    """
    if isinstance(server_or_endpoint, ScytaleServer):
        access_key = access_key or server_or_endpoint.access_key
        secret_key = secret_key or server_or_endpoint.secret_key
    access_key = access_key or ADMIN_ACCESS_KEY
    secret_key = secret_key or ADMIN_SECRET_KEY
    if target == "":
        target = TARGET_PREFIX + operation if operation else None
    data = encode_body({} if body is None and operation else body)
    headers = botocore_signed_headers(_endpoint(server_or_endpoint), data, target=target,
                                      region=region, access_key=access_key, secret_key=secret_key,
                                      service=service, extra_headers=extra_headers,
                                      content_type=content_type)
    for k, v in (header_overrides or {}).items():
        for existing in [h for h in headers if h.lower() == k.lower()]:
            del headers[existing]
        if v is not None:
            headers[k] = v
    return send_http(server_or_endpoint, "POST", "/", data if send_body is None else send_body,
                     headers, timeout=timeout)


def unsigned_request(server_or_endpoint, operation: Optional[str], body: Any = None,
                     headers: Optional[Mapping[str, str]] = None, timeout: float = 15) -> RawResponse:
    h = {"Content-Type": JSON_CONTENT_TYPE}
    if operation:
        h["X-Amz-Target"] = TARGET_PREFIX + operation
    h.update(headers or {})
    return send_http(server_or_endpoint, "POST", "/", encode_body({} if body is None else body), h,
                     timeout=timeout)


# -- an independent SigV4 implementation, for requests botocore will not produce -------

def amz_date(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sigv4_headers(host_header: str, body: bytes, headers: Mapping[str, str], *,
                  access_key: str, secret_key: str, region: str = DEFAULT_REGION,
                  service: str = "kms", x_amz_date: Optional[str] = None,
                  scope_date: Optional[str] = None, signed: Optional[Iterable[str]] = None,
                  payload_hash: Optional[str] = None) -> dict[str, str]:
    """Sign a POST / request by hand.

    headers: the request headers besides Host/X-Amz-Date/Authorization.
    signed: lower-case header names to sign (default: host, x-amz-date and all of `headers`).
    scope_date: the date in the credential scope (default: the date of x_amz_date).
    payload_hash: the hash used in the canonical request (default: sha256 of body).
    Returns all headers to send, including Host, X-Amz-Date and Authorization.
    """
    x_amz_date = x_amz_date or amz_date(datetime.datetime.now(datetime.timezone.utc))
    scope_date = scope_date or x_amz_date[:8]
    all_headers = {"Host": host_header, "X-Amz-Date": x_amz_date, **headers}
    lower = {k.lower(): " ".join(str(v).strip().split()) for k, v in all_headers.items()}
    names = sorted(signed) if signed is not None else sorted(lower)
    canonical_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
    signed_headers = ";".join(names)
    payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers, payload_hash])
    scope = f"{scope_date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", x_amz_date, scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])

    def _h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = _h(("AWS4" + secret_key).encode(), scope_date)
    k = _h(k, region)
    k = _h(k, service)
    k = _h(k, "aws4_request")
    signature = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                    f"SignedHeaders={signed_headers}, Signature={signature}")
    return all_headers


def manual_signed_request(server: "ScytaleServer", operation: str, body: Any = None, *,
                          extra_headers: Optional[Mapping[str, str]] = None,
                          send_body: Optional[bytes] = None, **sign_kwargs: Any) -> RawResponse:
    data = encode_body({} if body is None else body)
    headers = {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
    headers.update(extra_headers or {})
    sign_kwargs.setdefault("access_key", server.access_key)
    sign_kwargs.setdefault("secret_key", server.secret_key)
    all_headers = sigv4_headers(f"{server.host}:{server.port}", data, headers, **sign_kwargs)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=15)
    try:
        # skip_host: our Host header is the one that was signed.
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        payload = data if send_body is None else send_body
        for k, v in all_headers.items():
            conn.putheader(k, v)
        if not any(k.lower() == "content-length" for k in all_headers):
            conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)
        return _to_raw(conn.getresponse())
    finally:
        conn.close()


# -- raw sockets -----------------------------------------------------------------------

def connect(server: ScytaleServer, timeout: float = 10) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool, float]:
    """Read until the peer closes or `timeout` passes.

    Returns (data, closed, elapsed); closed is True for EOF or a reset."""
    start = time.monotonic()
    data = b""
    deadline = start + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, False, time.monotonic() - start
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False, time.monotonic() - start
        except (ConnectionResetError, BrokenPipeError):
            return data, True, time.monotonic() - start
        if not chunk:
            return data, True, time.monotonic() - start
        data += chunk


def parse_status(data: bytes) -> Optional[int]:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def http_garbage() -> list[bytes]:
    """Bytes that are no well-formed request (the random ones made afresh on each call): the
    server must answer each with a status under 500 or close (test_bad_input, bench/soak.py)."""
    return [
        b"HELLO\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /other/path HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        b"POST / HTTP/1.1\r\nHost: x\r\nthis header has no colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200),   # a TLS ClientHello
        os.urandom(4096),
    ]


def huge_header_requests() -> list[bytes]:
    """A header block over the server's limit: one 100 kB header, or 2,000 small ones."""
    return [b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"\r\n"]


# --------------------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------------------

def aws_cli_v1_path() -> Optional[str]:
    """`aws` next to the python running the tests (pyenv's CLI v1), else `aws` on PATH."""
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    return shutil.which("aws")


AWS_CLI_V2 = "/usr/bin/aws"


def aws_cli_v2_path() -> Optional[str]:
    return AWS_CLI_V2 if os.path.exists(AWS_CLI_V2) else None


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    json: Any = None
    error_code: Optional[str] = None
    error_message: Optional[str] = None

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.returncode}\n"
                f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}")


_CLI_HOME = tempfile.mkdtemp(prefix="scytale-e2e-clihome-")
atexit.register(lambda: shutil.rmtree(_CLI_HOME, ignore_errors=True))


def run_aws(cli: str, server_or_endpoint, args: Iterable[str], *, region: str = DEFAULT_REGION,
            access_key: str = ADMIN_ACCESS_KEY, secret_key: str = ADMIN_SECRET_KEY,
            service: str = "kms", timeout: float = 60, max_attempts: int = 1,
            output: str = "json") -> CliResult:
    """Run `<cli> kms <args> --endpoint-url ... --region ... --output json` (retries off
    unless max_attempts > 1; `output`: another --output, whose text is not parsed)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": _CLI_HOME,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.path.join(_CLI_HOME, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(_CLI_HOME, "no-credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": str(max_attempts),
        "AWS_RETRY_MODE": "standard",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    argv = [cli, service, *args, "--endpoint-url", _endpoint(server_or_endpoint),
            "--region", region, "--output", output]
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    res = CliResult(argv, p.returncode, p.stdout, p.stderr)
    if output == "json" and p.returncode == 0 and p.stdout.strip():
        try:
            res.json = json.loads(p.stdout)
        except ValueError:
            pass
    m = CLI_ERROR_RE.search(p.stderr)
    if m:
        res.error_code = m.group(1).split(":")[0].split("#")[-1]
        res.error_message = m.group(3).strip()
    return res


def cli_version(cli: str) -> str:
    p = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60,
                       env={"PATH": os.environ.get("PATH", ""), "HOME": _CLI_HOME, "AWS_PAGER": ""})
    return (p.stdout + p.stderr).strip()


def find_aws_cli(major: str) -> str:
    """The AWS CLI of that major version: "1", the test python's (missing: a failure), or "2",
    Debian's /usr/bin/aws (missing: the class is skipped, or fails when CI is set)."""
    if major == "1":
        path = aws_cli_v1_path()
        if not path:
            raise AssertionError("AWS CLI v1 (`aws` of the test python) not found")
        return path
    path = aws_cli_v2_path()
    if not path:
        if os.environ.get("CI"):
            raise AssertionError(f"AWS CLI v2 missing at {AWS_CLI_V2} (CI is set)")
        raise unittest.SkipTest(f"AWS CLI v2 not installed at {AWS_CLI_V2}")
    return path


class AwsCliMixin:
    """For a suite run once with each AWS CLI: a ScytaleTestCase subclass sets expect_major
    ("1" or "2") and cls.server; setUpClass finds that CLI (find_aws_cli) and checks its version
    before any server starts, and aws/ok/err run it against cls.server."""

    cli: str = ""
    expect_major = ""
    ok_wants_object = False   # ok() also asserts that the CLI printed a JSON object

    @classmethod
    def setUpClass(cls) -> None:
        cls.cli = find_aws_cli(cls.expect_major)
        version = cli_version(cls.cli)
        assert version.startswith(f"aws-cli/{cls.expect_major}."), f"{cls.cli}: {version}"
        super().setUpClass()

    def aws(self, *args: str, **kw: Any) -> CliResult:
        """run_aws(self.cli, self.server, args, **kw)."""
        return run_aws(self.cli, self.server, list(args), **kw)

    def run_ok(self, *args: str, **kw: Any) -> CliResult:
        """The CLI's result, asserting that it exited 0."""
        r = self.aws(*args, **kw)
        self.assertEqual(0, r.returncode, str(r))
        return r

    def ok(self, *args: str, **kw: Any) -> Any:
        """The JSON the CLI printed, asserting that it exited 0."""
        r = self.run_ok(*args, **kw)
        if self.ok_wants_object:
            self.assertIsInstance(r.json, dict, str(r))
        return r.json

    def err(self, code: str, *args: str, **kw: Any) -> CliResult:
        """The CLI's result, asserting that it failed with error `code`."""
        r = self.aws(*args, **kw)
        self.assertNotEqual(0, r.returncode, str(r))
        self.assertEqual(code, r.error_code, str(r))
        return r


# --------------------------------------------------------------------------------------
# unittest base class
# --------------------------------------------------------------------------------------

class ScytaleTestCase(unittest.TestCase):
    """Base class: starts servers per class/test and prints their logs when a test fails."""

    maxDiff = None
    _class_servers: list[ScytaleServer] = []

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._class_servers = []

    @classmethod
    def start_class_server(cls, **kwargs: Any) -> ScytaleServer:
        s = ScytaleServer(**kwargs)
        cls._class_servers.append(s)
        try:
            s.start()
        except BaseException:
            s.kill()
            raise
        return s

    @classmethod
    def tearDownClass(cls) -> None:
        errors = []
        for s in cls._class_servers:
            try:
                if s.running:
                    s.stop()
            except AssertionError as e:
                errors.append(str(e))
                s.kill()
            else:
                s.cleanup()
        cls._class_servers = []
        super().tearDownClass()
        if errors:
            raise AssertionError("\n".join(errors))

    def setUp(self) -> None:
        super().setUp()
        self._test_servers: list[ScytaleServer] = []

    def start_server(self, start: bool = True, **kwargs: Any) -> ScytaleServer:
        """A server that belongs to this test only (killed and removed at the end)."""
        s = ScytaleServer(**kwargs)
        self._test_servers.append(s)
        self.addCleanup(s.cleanup)
        if start:
            s.start()
        return s

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            servers = list(type(self)._class_servers) + list(getattr(self, "_test_servers", []))
            for s in servers:
                sys.stderr.write(f"\n[{self.id()}] failed; server log follows\n{s.log_tail()}\n")
        return out

    # -- assertions ------------------------------------------------------------------

    def assertClientError(self, code: str, fn, *args: Any, status: Optional[int] = 400,
                          message_prefix: Optional[str] = None, **kwargs: Any):
        """Call fn(*args, **kwargs) and assert it raises a botocore ClientError `code`."""
        try:
            fn(*args, **kwargs)
        except botocore.exceptions.ClientError as e:
            meta = e.response.get("ResponseMetadata", {})
            got = error_code(e)
            self.assertEqual(code, got, f"wrong error code; full error response: {e.response}")
            if status is not None:
                self.assertEqual(status, meta.get("HTTPStatusCode"), f"wrong status: {e.response}")
            self.assertTrue(meta.get("RequestId"), f"no x-amzn-RequestId on error: {e.response}")
            if message_prefix is not None:
                msg = e.response.get("Error", {}).get("Message", "")
                self.assertTrue(msg.startswith(message_prefix),
                                f"message {msg!r} does not start with {message_prefix!r}")
            return e
        self.fail(f"expected {code}, but the call succeeded")

    def assertRawError(self, resp: RawResponse, code: Optional[str], status: Optional[int] = 400,
                       message_prefix: Optional[str] = None):
        if status is not None:
            self.assertEqual(status, resp.status, f"wrong status: {resp}")
        else:
            self.assertTrue(400 <= resp.status < 500, f"expected a 4xx status: {resp}")
        self.assertIsInstance(resp.json, dict, f"error body is not a JSON object: {resp}")
        self.assertIsInstance(resp.json.get("__type"), str, f"no __type: {resp}")
        if code is not None:
            self.assertEqual(code, resp.error_type, f"wrong __type: {resp}")
        self.assertIsInstance(resp.message, str, f"no message: {resp}")
        self.assertTrue(resp.request_id, f"no x-amzn-RequestId on error: {resp}")
        if message_prefix is not None:
            self.assertTrue(resp.message.startswith(message_prefix),
                            f"message {resp.message!r} does not start with {message_prefix!r}")
        return resp

    def assertServerHealthy(self, server: ScytaleServer, region: str = DEFAULT_REGION) -> None:
        """The server still answers: /healthz, a signed ListKeys and a boto3 DescribeKey."""
        self.assertTrue(server.running, "server process died\n" + server.log_tail())
        status, _, _ = http_get(server.host, server.port, "/healthz")
        self.assertEqual(200, status)
        r = signed_request(server, "ListKeys", {"Limit": 1}, region=region)
        self.assertEqual(200, r.status, f"ListKeys failed: {r}")
        self.assertIn("Keys", r.json)
        c = server.client(region)
        key = c.create_key(Description="health probe")["KeyMetadata"]
        self.assertEqual(key["KeyId"], c.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"])


def list_all_keys(client, limit: Optional[int] = None) -> list[dict]:
    out, marker = [], None
    while True:
        kw = {}
        if limit:
            kw["Limit"] = limit
        if marker:
            kw["Marker"] = marker
        page = client.list_keys(**kw)
        out.extend(page["Keys"])
        if not page.get("Truncated"):
            return out
        marker = page["NextMarker"]


def read_ini_credentials(path: str) -> tuple[str, str]:
    cp = configparser.ConfigParser()
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    sec = cp["default"]
    return sec["aws_access_key_id"].strip(), sec["aws_secret_access_key"].strip()


class PostgresTestCase(ScytaleTestCase):
    """A ScytaleTestCase with a private PostgreSQL cluster for the class (cls.pg), destroyed
    after the class's servers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg = PostgresCluster()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.pg.destroy()


def assert_within(test: unittest.TestCase, check: Callable[[], Any], want: Any,
                  bound: float = 1.0) -> float:
    """Polls check() until it returns `want` (for up to 3 x bound) and asserts that it did within
    `bound` seconds; returns the seconds it took."""
    started = time.monotonic()
    got = check()
    while got != want and time.monotonic() - started < 3 * bound:
        time.sleep(0.01)
        got = check()
    test.assertEqual(want, got)
    took = time.monotonic() - started
    test.assertLess(took, bound)
    return took
