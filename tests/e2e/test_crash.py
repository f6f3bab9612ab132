"""Crash safety (issue 10 item 6): SIGKILL at random moments under a mixed write load, many
times, restarting on the same data directory each time.

Three client threads run CreateKey, RotateKeyOnDemand, EnableKeyRotation, CreateAlias,
UpdateAlias, CreateGrant, TagResource and Encrypt against one server; the main thread kills it
with SIGKILL after a random 50-400 ms, many times (SCYTALE_E2E_CRASH_KILLS, default 50). A call
that answered 200 is *acknowledged* and must survive; a call that got no answer may or may not
have taken effect, so its value is allowed but not required. Each thread owns its keys and
aliases, so "the last acknowledged value" is well defined.

While the server is down after each kill:
- `PRAGMA integrity_check` is "ok" on a copy of the SQLite file and its WAL, and that copy holds
  every acknowledged key, alias target, grant, tag and rotation (key versions);
- `scytale audit verify` accepts the audit log. A torn last record (a write cut off by the kill)
  must be reported by verify (and by the next start, which cuts it off), never fail it. Every
  tenth kill also appends a torn record by hand, as a kill in the middle of write(2) leaves one,
  because a real SIGKILL tears a line only rarely.
After each restart, through the API: the writes acknowledged since the last restart (aliases:
all of them) and a sample of the older ones, and after the last kill every acknowledged write:
keys are Enabled, aliases point where last acknowledged, grants are listed, tags read back,
ListKeyRotations counts at least the acknowledged rotations, rotation is enabled where that was
acknowledged, and every acknowledged ciphertext decrypts to its plaintext.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from typing import Optional

import botocore.exceptions

import harness
from harness import SCYTALE_BIN, ScytaleTestCase, kms_client

KILLS = int(os.environ.get("SCYTALE_E2E_CRASH_KILLS", "50"))
THREADS = 3
SEED = int(os.environ.get("SCYTALE_E2E_CRASH_SEED", str(random.randrange(1 << 30))))
GRANTEE = f"arn:aws:iam::{harness.DEFAULT_ACCOUNT}:root"
TAG_KEYS = ("team", "tier", "owner")
MAX_ROTATIONS = 20  # the server allows 25 on-demand rotations per key
# Errors a call may get while the server is up: anything else is a bug.
EXPECTED_CODES = {"LimitExceededException"}
TORN_RECORD = b'{"awsRegion":"us-east-1","eventCategory":"Management","eventID":"'


@dataclass
class Acked:
    """What the clients were told, and what they sent without an answer."""
    keys: set = field(default_factory=set)
    aliases: dict = field(default_factory=dict)        # name -> acknowledged target
    alias_pending: dict = field(default_factory=dict)  # name -> targets sent since, unanswered
    grants: dict = field(default_factory=dict)         # grant id -> key id
    tags: dict = field(default_factory=dict)           # (key, tag key) -> acknowledged value
    tag_pending: dict = field(default_factory=dict)    # (key, tag key) -> values sent since
    rotations: dict = field(default_factory=dict)      # key -> acknowledged on-demand rotations
    rotation_enabled: set = field(default_factory=set)
    ciphertexts: list = field(default_factory=list)    # (blob, plaintext, context)
    writes: int = 0
    unanswered: int = 0   # no answer: cut off by a kill, or a connection from before it
    refused: int = 0      # answered with an expected error (EXPECTED_CODES)
    unexpected: list = field(default_factory=list)
    # Acknowledged since the last API check.
    new_keys: set = field(default_factory=set)
    new_grants: set = field(default_factory=set)
    new_tag_keys: set = field(default_factory=set)
    new_rotation_keys: set = field(default_factory=set)
    new_enabled: set = field(default_factory=set)
    new_ciphertexts: list = field(default_factory=list)


class Gate:
    """Workers pass it before every call; the main thread closes it and waits until every
    worker is parked, so that no call is in flight while it checks."""

    def __init__(self, workers: int) -> None:
        self.cv = threading.Condition()
        self.open = False
        self.parked = 0
        self.workers = workers
        self.stopping = False

    def enter(self) -> bool:
        with self.cv:
            self.parked += 1
            self.cv.notify_all()
            while not self.open and not self.stopping:
                self.cv.wait(1)
            self.parked -= 1
            return not self.stopping

    def close_and_drain(self, timeout: float) -> bool:
        with self.cv:
            self.open = False
            return self.cv.wait_for(lambda: self.parked == self.workers, timeout)

    def reopen(self) -> None:
        with self.cv:
            self.open = True
            self.cv.notify_all()

    def stop(self) -> None:
        with self.cv:
            self.stopping = True
            self.cv.notify_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CrashTest(ScytaleTestCase):
    def test_acknowledged_writes_survive_repeated_sigkills(self):
        rnd = random.Random(SEED)
        sys.stderr.write(f"\ntest_crash: seed {SEED} (SCYTALE_E2E_CRASH_SEED), {KILLS} kills\n")
        self.server = self.start_server(
            name="crash", listen=f"127.0.0.1:{free_port()}", start=False,
            args=["--audit-digest-interval-seconds", "1", "--audit-max-file-bytes", "65536",
                  "--header-timeout-seconds", "5"])
        if self.server.store_url:
            self.skipTest("the crash suite checks the SQLite file; it runs on SQLite only")
        self.server.start()
        self.acked = Acked()
        self.lock = threading.Lock()
        self.gate = Gate(THREADS)
        self.torn_natural = self.torn_simulated = 0
        self.api_checks = 0
        workers = [threading.Thread(target=self.worker, args=(t, SEED + t), daemon=True)
                   for t in range(THREADS)]
        self.addCleanup(self.stop_workers, workers)
        for w in workers:
            w.start()
        started = time.monotonic()
        for kill in range(1, KILLS + 1):
            self.gate.reopen()
            time.sleep(rnd.uniform(0.05, 0.4))
            self.server.kill()
            self.assertTrue(self.gate.close_and_drain(30), "workers did not stop their calls")
            if kill % 10 == 0:
                self.tear_last_audit_record()
            self.check_while_down(kill)
            self.server.start()
            self.check_through_api(sample=10)
        self.stop_workers(workers)
        self.check_through_api(sample=None)  # everything ever acknowledged
        self.server.stop()

        a = self.acked
        warnings = self.server.log_text().count("the audit log ended in a torn record")
        self.assertEqual(self.torn_natural + self.torn_simulated, warnings,
                         "each torn tail verify saw must be cut (and said so) by the next start")
        self.assertEqual([], a.unexpected, "calls failed while the server was up")
        self.assertGreaterEqual(len(a.keys), 20, "too few acknowledged keys to mean anything")
        self.assertGreaterEqual(len(a.ciphertexts), 20)
        sys.stderr.write(
            f"test_crash: {KILLS} SIGKILLs in {time.monotonic() - started:.1f}s; "
            f"{a.writes} acknowledged writes ({len(a.keys)} keys, {len(a.aliases)} aliases, "
            f"{len(a.grants)} grants, {len(a.tags)} tags, {sum(a.rotations.values())} rotations, "
            f"{len(a.rotation_enabled)} rotation enablings, {len(a.ciphertexts)} ciphertexts), "
            f"{a.unanswered} calls unanswered, {a.refused} refused (quota); "
            f"{self.api_checks} API reads; torn audit tails: "
            f"{self.torn_natural} left by a kill, {self.torn_simulated} appended by hand\n")

    # -- the load ------------------------------------------------------------------------

    def worker(self, tid: int, seed: int) -> None:
        rnd = random.Random(seed)
        kms = kms_client(self.server.endpoint, connect_timeout=2, read_timeout=10)
        mine: list[str] = []
        aliases: list[str] = []
        n = 0
        while self.gate.enter():
            n += 1
            op = rnd.choice(["CreateKey", "Encrypt", "Encrypt", "TagResource", "CreateGrant",
                             "RotateKeyOnDemand", "EnableKeyRotation", "CreateAlias",
                             "UpdateAlias"] if mine else ["CreateKey"])
            key = rnd.choice(mine) if mine else None
            try:
                self.one_call(kms, rnd, tid, n, op, key, mine, aliases)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                code = e.response["Error"]["Code"] if isinstance(
                    e, botocore.exceptions.ClientError) else ""
                with self.lock:
                    if not code:
                        self.acked.unanswered += 1
                    elif code in EXPECTED_CODES:
                        self.acked.refused += 1
                    elif self.server.running:
                        self.acked.unexpected.append(f"{op}: {e}")

    def one_call(self, kms, rnd, tid, n, op, key, mine, aliases) -> None:
        a = self.acked
        if op == "CreateKey":
            key_id = kms.create_key(Description=f"crash t{tid} #{n}")["KeyMetadata"]["KeyId"]
            with self.lock:
                a.keys.add(key_id)
                a.new_keys.add(key_id)
                a.writes += 1
            mine.append(key_id)
        elif op == "Encrypt":
            plaintext = os.urandom(rnd.randint(1, 64))
            context = {"thread": str(tid), "n": str(n)}
            blob = kms.encrypt(KeyId=key, Plaintext=plaintext,
                               EncryptionContext=context)["CiphertextBlob"]
            with self.lock:
                a.ciphertexts.append((blob, plaintext, context))
                a.new_ciphertexts.append((blob, plaintext, context))
                a.writes += 1
        elif op == "TagResource":
            tag = (key, rnd.choice(TAG_KEYS))
            value = f"v{n}"
            with self.lock:
                a.tag_pending.setdefault(tag, set()).add(value)
            kms.tag_resource(KeyId=key, Tags=[{"TagKey": tag[1], "TagValue": value}])
            with self.lock:
                a.tags[tag] = value
                a.tag_pending[tag] = set()
                a.new_tag_keys.add(key)
                a.writes += 1
        elif op == "CreateGrant":
            grant_id = kms.create_grant(KeyId=key, GranteePrincipal=GRANTEE,
                                        Operations=["Encrypt", "Decrypt"])["GrantId"]
            with self.lock:
                a.grants[grant_id] = key
                a.new_grants.add(grant_id)
                a.writes += 1
        elif op == "RotateKeyOnDemand":
            with self.lock:
                if a.rotations.get(key, 0) >= MAX_ROTATIONS:
                    return
            kms.rotate_key_on_demand(KeyId=key)
            with self.lock:
                a.rotations[key] = a.rotations.get(key, 0) + 1
                a.new_rotation_keys.add(key)
                a.writes += 1
        elif op == "EnableKeyRotation":
            kms.enable_key_rotation(KeyId=key)
            with self.lock:
                a.rotation_enabled.add(key)
                a.new_enabled.add(key)
                a.writes += 1
        elif op == "CreateAlias" or not aliases:
            name = f"alias/crash-t{tid}-{n}"
            kms.create_alias(AliasName=name, TargetKeyId=key)
            with self.lock:
                a.aliases[name] = key
                a.alias_pending[name] = set()
                a.writes += 1
            aliases.append(name)  # updated only once its creation was acknowledged
        else:  # UpdateAlias of an alias this thread made
            name = rnd.choice(aliases)
            with self.lock:
                a.alias_pending.setdefault(name, set()).add(key)
            kms.update_alias(AliasName=name, TargetKeyId=key)
            with self.lock:
                a.aliases[name] = key
                a.alias_pending[name] = set()
                a.writes += 1

    def stop_workers(self, workers) -> None:
        self.gate.stop()
        for w in workers:
            w.join(30)

    # -- while the server is down ------------------------------------------------------------

    def tear_last_audit_record(self) -> None:
        """Appends the first bytes of a record to the newest audit file, as a kill in the middle
        of write(2) leaves them."""
        audit = os.path.join(self.server.data_dir, "audit")
        # The log's order (first sequence, then name), as verify and the server read it.
        files = sorted((f for f in os.listdir(audit)
                        if f.startswith("audit-") and f.endswith(".jsonl")
                        and os.path.getsize(os.path.join(audit, f))),
                       key=lambda f: (int(f.split("-")[1]), f))
        with open(os.path.join(audit, files[-1]), "ab") as f:
            f.write(TORN_RECORD)

    def check_while_down(self, kill: int) -> None:
        self.assertFalse(self.server.running)
        verify = subprocess.run([str(SCYTALE_BIN), "audit", "verify",
                                 os.path.join(self.server.data_dir, "audit")],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(0, verify.returncode,
                         f"kill {kill}: audit verify failed:\n{verify.stdout}{verify.stderr}")
        self.assertTrue(verify.stdout.startswith("OK: "), verify.stdout)
        if "torn tail" in verify.stdout:
            m = re.search(r"ends in (\d+) bytes", verify.stdout)
            if kill % 10 == 0:
                self.torn_simulated += 1
            else:
                self.torn_natural += 1
                sys.stderr.write(f"test_crash: kill {kill} tore an audit record: "
                                 f"{m.group(0) if m else verify.stdout}\n")
        else:
            self.assertNotEqual(0, kill % 10, f"the torn record appended by hand was not seen:"
                                              f" {verify.stdout}")

        tmp = tempfile.mkdtemp(prefix="scytale-e2e-crash-db-")
        try:
            for suffix in ("", "-wal"):
                src = os.path.join(self.server.data_dir, "scytale.db" + suffix)
                if os.path.exists(src):
                    shutil.copy2(src, os.path.join(tmp, "scytale.db" + suffix))
            db = sqlite3.connect(os.path.join(tmp, "scytale.db"), timeout=10)
            try:
                self.assertEqual([("ok",)], db.execute("PRAGMA integrity_check").fetchall(),
                                 f"kill {kill}: SQLite integrity_check")
                self.check_rows(db, kill)
            finally:
                db.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def check_rows(self, db: sqlite3.Connection, kill: int) -> None:
        with self.lock:
            a = self.acked
            keys = {r[0] for r in db.execute("SELECT key_id FROM keys")}
            self.assertEqual(set(), a.keys - keys, f"kill {kill}: acknowledged keys lost")
            targets = dict(db.execute("SELECT alias_name, target_key_id FROM aliases"))
            for name, target in a.aliases.items():
                allowed = {target} | a.alias_pending.get(name, set())
                self.assertIn(targets.get(name), allowed, f"kill {kill}: alias {name}")
            grants = {r[0] for r in db.execute("SELECT grant_id FROM grants")}
            self.assertEqual(set(), set(a.grants) - grants, f"kill {kill}: grants lost")
            tags = {(k, t): v for k, t, v in
                    db.execute("SELECT key_id, tag_key, tag_value FROM key_tags")}
            for tag, value in a.tags.items():
                allowed = {value} | a.tag_pending.get(tag, set())
                self.assertIn(tags.get(tag), allowed, f"kill {kill}: tag {tag}")
            versions = dict(db.execute("SELECT key_id, COUNT(*) FROM key_versions GROUP BY key_id"))
            for key, rotations in a.rotations.items():
                self.assertGreaterEqual(versions.get(key, 0) - 1, rotations,
                                        f"kill {kill}: rotations of {key}")

    # -- through the API, after a restart -------------------------------------------------------

    def check_through_api(self, sample: Optional[int]) -> None:
        """The writes acknowledged since the last check and `sample` older ones of each kind
        (None: all of them); aliases always all."""
        kms = self.server.client()
        with self.lock:
            a = self.acked
            pick = (lambda new, every: set(new) | set(random.sample(sorted(every),
                                                                    min(sample, len(every))))
                    ) if sample is not None else (lambda new, every: set(every))
            keys = pick(a.new_keys, a.keys)
            grants = pick(a.new_grants, a.grants)
            tag_keys = pick(a.new_tag_keys, {k for k, _ in a.tags})
            rotated = pick(a.new_rotation_keys, a.rotations)
            enabled = pick(a.new_enabled, a.rotation_enabled)
            ciphertexts = (a.new_ciphertexts + random.sample(a.ciphertexts,
                                                             min(sample, len(a.ciphertexts)))
                           if sample is not None else list(a.ciphertexts))
            aliases = {n: {t} | a.alias_pending.get(n, set()) for n, t in a.aliases.items()}
            tags = {tag: {v} | a.tag_pending.get(tag, set()) for tag, v in a.tags.items()}
            rotations = dict(a.rotations)
            grant_keys = dict(a.grants)
            for s in (a.new_keys, a.new_grants, a.new_tag_keys, a.new_rotation_keys,
                      a.new_enabled):
                s.clear()
            a.new_ciphertexts = []

        def call(fn, **kw):
            self.api_checks += 1
            return fn(**kw)

        for key in keys:
            state = call(kms.describe_key, KeyId=key)["KeyMetadata"]["KeyState"]
            self.assertEqual("Enabled", state, key)
        listed, marker = {}, None
        while True:
            page = call(kms.list_aliases, Limit=100, **({"Marker": marker} if marker else {}))
            listed.update({x["AliasName"]: x.get("TargetKeyId") for x in page["Aliases"]})
            if not page.get("Truncated"):
                break
            marker = page["NextMarker"]
        for name, allowed in aliases.items():
            self.assertIn(listed.get(name), allowed, f"alias {name}")
        by_key: dict[str, set] = {}
        for grant_id in grants:
            by_key.setdefault(grant_keys[grant_id], set()).add(grant_id)
        for key, ids in by_key.items():
            got = {g["GrantId"] for g in call(kms.list_grants, KeyId=key, Limit=100)["Grants"]}
            self.assertEqual(set(), ids - got, f"grants of {key}")
        for key in tag_keys:
            got = {t["TagKey"]: t["TagValue"]
                   for t in call(kms.list_resource_tags, KeyId=key, Limit=50)["Tags"]}
            for (k, tag_key), allowed in tags.items():
                if k == key:
                    self.assertIn(got.get(tag_key), allowed, f"tag {tag_key} of {key}")
        for key in rotated:
            got = call(kms.list_key_rotations, KeyId=key, Limit=100)["Rotations"]
            self.assertGreaterEqual(len(got), rotations[key], f"rotations of {key}")
        for key in enabled:
            self.assertTrue(call(kms.get_key_rotation_status, KeyId=key)["KeyRotationEnabled"],
                            f"rotation of {key}")
        for blob, plaintext, context in ciphertexts:
            got = call(kms.decrypt, CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
            self.assertEqual(plaintext, got)


if __name__ == "__main__":
    unittest.main()
