"""Three `scytale serve` nodes on one PostgreSQL database (issue 9, the multi-node checks):
a race of CreateAlias of one name across the nodes, a storm of on-demand rotations of one key
from every node while every node encrypts with it, a node killed with SIGKILL in the middle of
a mixed write load (no acknowledged write may be lost, the others keep serving), and PostgreSQL
restarted in the middle of a load (only AWS-shaped 500s meanwhile, within a bound; every node
serves again by itself afterwards).

Every boto3 client here has a connect and a read timeout and no retries, so a hang or a failed
call is seen by the test rather than hidden by botocore."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
import unittest
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import botocore.exceptions

from harness import DEFAULT_ACCOUNT, PostgresTestCase, ScytaleServer, error_code, http_get

NODES = 3
ROOT_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
# AWS allows 25 on-demand rotations per key (a fixed quota); src/kms/rotation.cc keeps it.
ON_DEMAND_ROTATION_QUOTA = 25
# What a caller may get from a node whose database is down (README, "Several nodes on one
# PostgreSQL"): both are 500s with the AWS JSON error shape.
DATABASE_DOWN_ERRORS = ("KMSInternalException", "DependencyTimeoutException")
# A call waits at most 10 s for a free database connection (README, --store-pool-size); with the
# database down a call must end within that plus a margin, never hang.
CALL_BOUND = 12.0
# Once PostgreSQL is back, every node must serve again within this, by itself.
RECOVERY_BOUND = 20.0
CLIENT_CONFIG = dict(connect_timeout=2, read_timeout=20, max_pool_connections=64)


def is_connection_failure(exc: BaseException) -> bool:
    """What botocore raises when the node is not there: refused, or the connection closed
    under the request. A read timeout is not one of them: a dead process's sockets are closed by
    the kernel at once, so a timeout would mean a hang."""
    return (isinstance(exc, (botocore.exceptions.EndpointConnectionError,
                             botocore.exceptions.ConnectionClosedError))
            or type(exc) is botocore.exceptions.HTTPClientError)


def describe_exception(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        meta = exc.response.get("ResponseMetadata", {})
        return (f"{error_code(exc)} (HTTP {meta.get('HTTPStatusCode')}, request id "
                f"{meta.get('RequestId')!r}): {exc.response.get('Error', {}).get('Message')!r}")
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Acknowledged:
    """Writes whose call returned 200: each must be found afterwards on every node."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys: set = field(default_factory=set)
    aliases: dict = field(default_factory=dict)      # alias name -> target key id
    grants: set = field(default_factory=set)         # (key id, grant id)
    tags: set = field(default_factory=set)           # (key id, tag key, tag value)
    ciphertexts: list = field(default_factory=list)  # (blob, plaintext, context, key id)

    def add(self, kind: str, value: Any) -> None:
        with self.lock:
            if kind == "alias":
                self.aliases[value[0]] = value[1]
            elif kind == "ciphertext":
                self.ciphertexts.append(value)
            else:
                getattr(self, kind).add(value)

    def summary(self) -> str:
        return (f"{len(self.keys)} keys, {len(self.aliases)} aliases, {len(self.grants)} grants, "
                f"{len(self.tags)} tags, {len(self.ciphertexts)} ciphertexts")


def all_aliases(kms) -> dict[str, Optional[str]]:
    out: dict[str, Optional[str]] = {}
    for page in kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 100}):
        for a in page["Aliases"]:
            out[a["AliasName"]] = a.get("TargetKeyId")
    return out


def all_rotations(kms, key_id: str, include: str) -> list[tuple]:
    out, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial=include, Limit=7, **kw)
        out.extend((r.get("KeyMaterialId"), r.get("RotationType"), r.get("KeyMaterialState"),
                    r["RotationDate"]) for r in page["Rotations"])
        if not page.get("Truncated"):
            return out
        marker = page["NextMarker"]


class ClusterTest(PostgresTestCase):

    def start_cluster(self, database: str) -> list[ScytaleServer]:
        """Three nodes on a fresh database, sharing the first node's root key. They belong to
        this test: they are killed and removed at its end, pass or fail."""
        url = self.pg.create_database(database)
        first = self.start_server(store_url=url, name=f"{database}-n0")
        return [first] + [self.start_server(store_url=url, name=f"{database}-n{i}",
                                            root_from=first) for i in range(1, NODES)]

    @staticmethod
    def client(node: ScytaleServer):
        return node.client(**CLIENT_CONFIG)

    def assert_acknowledged_present(self, kms, acked: Acknowledged, where: str) -> None:
        """Every acknowledged key, alias, grant and tag is there through `kms`, and every
        acknowledged ciphertext decrypts to its plaintext under its key."""
        aliases = all_aliases(kms)
        problems = [f"alias {name} -> {target} is {aliases.get(name, 'missing')}"
                    for name, target in sorted(acked.aliases.items())
                    if aliases.get(name, "missing") != target]

        def check_key(key_id: str) -> list[str]:
            problems = []
            try:
                state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
                if state != "Enabled":
                    problems.append(f"key {key_id} is {state}")
                grant_ids = {g["GrantId"] for page in kms.get_paginator("list_grants").paginate(
                    KeyId=key_id) for g in page["Grants"]}
                for k, grant_id in acked.grants:
                    if k == key_id and grant_id not in grant_ids:
                        problems.append(f"grant {grant_id} of key {key_id} is missing")
                tags = {(t["TagKey"], t["TagValue"])
                        for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
                for k, tk, tv in acked.tags:
                    if k == key_id and (tk, tv) not in tags:
                        problems.append(f"tag {tk}={tv} of key {key_id} is missing")
            except botocore.exceptions.ClientError as e:
                problems.append(f"key {key_id}: {describe_exception(e)}")
            return problems

        def check_blob(entry: tuple) -> list[str]:
            blob, plaintext, context, key_id = entry
            try:
                out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            except botocore.exceptions.ClientError as e:
                return [f"ciphertext of {key_id} {context}: {describe_exception(e)}"]
            if out["Plaintext"] != plaintext or not out["KeyId"].endswith(key_id):
                return [f"ciphertext of {key_id} {context} decrypted to {out['Plaintext']!r} "
                        f"under {out['KeyId']}"]
            return []

        keys = acked.keys | {k for k, _ in acked.grants} | {t[0] for t in acked.tags}
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            problems += [p for ps in pool.map(check_key, sorted(keys)) for p in ps]
            problems += [p for ps in pool.map(check_blob, acked.ciphertexts) for p in ps]
        self.assertEqual(problems, [], f"{where}: acknowledged writes lost ({acked.summary()})")

    # ----------------------------------------------------------------------------------

    def test_concurrent_create_alias_of_one_name_across_three_nodes_lets_exactly_one_win(self):
        nodes = self.start_cluster("alias_race")
        clients = [self.client(n) for n in nodes]
        keys = [clients[i % NODES].create_key()["KeyMetadata"]["KeyId"] for i in range(5)]
        attempts = 50

        for round_ in range(3):
            name = f"alias/race-{round_}"
            start = threading.Barrier(attempts)

            def attempt(i: int) -> tuple[str, str]:
                target = keys[i % len(keys)]
                start.wait(10)
                try:
                    clients[i % NODES].create_alias(AliasName=name, TargetKeyId=target)
                    return "ok", target
                except botocore.exceptions.ClientError as e:
                    return error_code(e), target
                except botocore.exceptions.BotoCoreError as e:
                    return describe_exception(e), target

            with concurrent.futures.ThreadPoolExecutor(max_workers=attempts) as pool:
                outcomes = list(pool.map(attempt, range(attempts)))
            codes = [c for c, _ in outcomes]
            self.assertEqual(codes.count("ok"), 1, f"round {round_}: {codes}")
            self.assertEqual(codes.count("AlreadyExistsException"), attempts - 1,
                             f"round {round_}: {codes}")
            winner = next(t for c, t in outcomes if c == "ok")
            for i, kms in enumerate(clients):
                self.assertEqual(kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"], winner,
                                 f"round {round_}: node {i} resolves {name} elsewhere")
                listed = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == name]
                self.assertEqual([a.get("TargetKeyId") for a in listed], [winner],
                                 f"round {round_}: node {i} lists {listed}")

    def test_on_demand_rotations_from_every_node_keep_the_quota_and_every_ciphertext(self):
        nodes = self.start_cluster("rotation_storm")
        clients = [self.client(n) for n in nodes]
        key_id = clients[0].create_key(Description="rotated from every node")["KeyMetadata"][
            "KeyId"]
        # More rotations than the quota allows, 12 from each node at once: some must be refused.
        rotations_per_node = 12
        rotate_calls = rotations_per_node * NODES
        storm_over = threading.Event()
        start = threading.Barrier(rotate_calls + 2 * NODES)
        encrypted: list[tuple[int, bytes, bytes, dict]] = []
        encrypt_failures: list[str] = []
        lock = threading.Lock()

        def rotate(i: int) -> str:
            start.wait(10)
            try:
                clients[i % NODES].rotate_key_on_demand(KeyId=key_id)
                return "ok"
            except botocore.exceptions.ClientError as e:
                return error_code(e)
            except botocore.exceptions.BotoCoreError as e:
                return describe_exception(e)

        def encrypt_loop(worker: int) -> None:
            node = worker % NODES
            start.wait(10)
            n = 0
            # At least a few encryptions per worker even if the storm is over at once.
            while not storm_over.is_set() or n < 5:
                plaintext = os.urandom(24)
                context = {"worker": str(worker), "n": str(n)}
                try:
                    blob = clients[node].encrypt(KeyId=key_id, Plaintext=plaintext,
                                                 EncryptionContext=context)["CiphertextBlob"]
                    with lock:
                        encrypted.append((node, blob, plaintext, context))
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                    with lock:
                        encrypt_failures.append(f"Encrypt on node {node}: {describe_exception(e)}")
                n += 1

        with concurrent.futures.ThreadPoolExecutor(max_workers=rotate_calls + 2 * NODES) as pool:
            encrypters = [pool.submit(encrypt_loop, w) for w in range(2 * NODES)]
            outcomes = list(pool.map(rotate, range(rotate_calls)))
            storm_over.set()
            for f in encrypters:
                f.result(60)

        # The quota is AWS's LimitExceededException; ConflictException is AWS's answer while
        # another rotation of the key is in progress. Nothing else is acceptable.
        unexpected = [o for o in outcomes
                      if o not in ("ok", "LimitExceededException", "ConflictException")]
        self.assertEqual(unexpected, [], f"rotation outcomes: {outcomes}")
        succeeded = outcomes.count("ok")
        self.assertGreater(succeeded, 0, f"no rotation succeeded: {outcomes}")
        self.assertLessEqual(succeeded, ON_DEMAND_ROTATION_QUOTA, f"outcomes: {outcomes}")
        if succeeded < ON_DEMAND_ROTATION_QUOTA:
            # Every refusal must then be a conflict, not the quota.
            self.assertEqual(outcomes.count("LimitExceededException"), 0,
                             f"quota reported after {succeeded} rotations: {outcomes}")
        self.assertEqual(encrypt_failures, [])

        # Fill the quota one call at a time from alternating nodes; then every node refuses.
        for i in range(ON_DEMAND_ROTATION_QUOTA - succeeded):
            clients[i % NODES].rotate_key_on_demand(KeyId=key_id)
            succeeded += 1
        for i, kms in enumerate(clients):
            with self.assertRaises(botocore.exceptions.ClientError, msg=f"node {i}") as cm:
                kms.rotate_key_on_demand(KeyId=key_id)
            self.assertEqual(error_code(cm.exception), "LimitExceededException",
                             describe_exception(cm.exception))

        # Every node lists the same rotations: exactly the successful ones, all ON_DEMAND, over
        # the key's first material; the database holds one backing version per entry.
        listed = [all_rotations(kms, key_id, "ALL_KEY_MATERIAL") for kms in clients]
        for i in range(1, NODES):
            self.assertEqual(listed[i], listed[0], f"node {i} lists other rotations than node 0")
        rotations = all_rotations(clients[1], key_id, "ROTATIONS_ONLY")
        self.assertEqual(len(rotations), ON_DEMAND_ROTATION_QUOTA)
        self.assertEqual(len(listed[0]), ON_DEMAND_ROTATION_QUOTA + 1)
        self.assertEqual([r[1] for r in rotations], ["ON_DEMAND"] * ON_DEMAND_ROTATION_QUOTA)
        self.assertEqual([r[2] for r in listed[0]].count("CURRENT"), 1, listed[0])
        self.assertEqual(listed[0][-1][2], "CURRENT", listed[0])
        material_ids = [r[0] for r in listed[0]]
        self.assertEqual(len(set(material_ids)), len(material_ids), material_ids)
        self.assertEqual(self.pg.psql("rotation_storm", "SELECT COUNT(*) FROM key_versions "
                                                        f"WHERE key_id = '{key_id}'").strip(),
                         str(ON_DEMAND_ROTATION_QUOTA + 1))

        # Every ciphertext made during the storm decrypts on every node, to the same material.
        self.assertGreaterEqual(len(encrypted), 5 * 2 * NODES)
        problems = []

        def decrypt_everywhere(entry):
            made_on, blob, plaintext, context = entry
            seen = set()
            for i, kms in enumerate(clients):
                try:
                    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                except botocore.exceptions.ClientError as e:
                    problems.append(f"made on node {made_on}, decrypt on node {i}: "
                                    f"{describe_exception(e)}")
                    continue
                if out["Plaintext"] != plaintext:
                    problems.append(f"made on node {made_on}, node {i} decrypted a wrong text")
                seen.add(out.get("KeyMaterialId"))
            if len(seen) > 1 or not seen <= set(material_ids):
                problems.append(f"made on node {made_on}: KeyMaterialId {seen} not one of the "
                                "key's materials")

        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(decrypt_everywhere, encrypted))
        self.assertEqual(problems, [], f"{len(encrypted)} ciphertexts")


    # ----------------------------------------------------------------------------------

    @staticmethod
    def run_mixed_writes(worker: int, acked: Acknowledged, stop: threading.Event,
                         call: Callable) -> None:
        """One worker of the mixed load: a key, its alias, a grant, a tag and a ciphertext per
        round, each call made through `call(worker, operation, **params)`, which returns the
        response or None when the call was not acknowledged."""
        n = 0
        while not stop.is_set():
            tag = f"w{worker}-{n}"
            n += 1
            created = call(worker, "create_key", Description=tag)
            if created is None:
                continue
            key_id = created["KeyMetadata"]["KeyId"]
            acked.add("keys", key_id)
            alias = f"alias/load/{tag}"
            if call(worker, "create_alias", AliasName=alias, TargetKeyId=key_id) is not None:
                acked.add("alias", (alias, key_id))
            grant = call(worker, "create_grant", KeyId=key_id, GranteePrincipal=ROOT_ARN,
                         Operations=["Encrypt", "Decrypt"], Name=tag)
            if grant is not None:
                acked.add("grants", (key_id, grant["GrantId"]))
            if call(worker, "tag_resource", KeyId=key_id,
                    Tags=[{"TagKey": "worker", "TagValue": tag}]) is not None:
                acked.add("tags", (key_id, "worker", tag))
            plaintext, context = os.urandom(32), {"round": tag}
            out = call(worker, "encrypt", KeyId=key_id, Plaintext=plaintext,
                       EncryptionContext=context)
            if out is not None:
                acked.add("ciphertext", (out["CiphertextBlob"], plaintext, context, key_id))

    def test_sigkill_of_one_node_under_load_loses_no_acknowledged_write(self):
        nodes = self.start_cluster("kill9")
        victim_index = 1
        victim = nodes[victim_index]
        clients = [self.client(n) for n in nodes]
        acked = Acknowledged()
        stop = threading.Event()
        killing = threading.Event()  # set just before SIGKILL: from then on victim may fail
        lock = threading.Lock()
        failures: list[str] = []            # calls that must not have failed
        refused: list[tuple[str, float]] = []  # (error, seconds) of calls to the killed node
        successes_after_kill = [0] * NODES
        failed_over = [0]
        killed_at: list[Optional[float]] = [None]  # when SIGKILL had taken effect

        def call(worker: int, operation: str, **params) -> Optional[dict]:
            home = worker % NODES
            order = [home] + [i for i in range(NODES) if i != home]
            interrupted = False  # the killed node may have applied the call before dying
            for i in order:
                began = time.monotonic()
                try:
                    out = getattr(clients[i], operation)(**params)
                except botocore.exceptions.ClientError as e:
                    if interrupted and operation == "create_alias" and \
                            error_code(e) == "AlreadyExistsException":
                        return None  # the dead node's write may have landed: not acknowledged
                    with lock:
                        failures.append(f"{operation} on node {i}: {describe_exception(e)}")
                    return None
                except botocore.exceptions.BotoCoreError as e:
                    with lock:
                        if i == victim_index and killing.is_set() and is_connection_failure(e):
                            refused.append((describe_exception(e), time.monotonic() - began))
                            interrupted |= isinstance(
                                e, botocore.exceptions.ConnectionClosedError)
                            continue  # sent elsewhere
                        failures.append(f"{operation} on node {i}: {describe_exception(e)}")
                    return None
                with lock:
                    if killed_at[0] is not None and began > killed_at[0]:
                        successes_after_kill[i] += 1
                        failed_over[0] += i != home
                return out
            with lock:
                failures.append(f"{operation}: no node answered")
            return None

        workers = 2 * NODES
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        try:
            running = [pool.submit(self.run_mixed_writes, w, acked, stop, call)
                       for w in range(workers)]
            time.sleep(1.5)
            before_kill = acked.summary()
            killing.set()
            victim.kill()
            killed_at[0] = time.monotonic()
            time.sleep(2.0)
        finally:
            stop.set()
            pool.shutdown(wait=True)
        for f in running:
            f.result()  # a worker that raised fails the test here

        self.assertEqual(failures, [], f"calls that failed ({acked.summary()})")
        survivors = [i for i in range(NODES) if i != victim_index]
        for i in survivors:
            self.assertGreater(successes_after_kill[i], 10,
                               f"node {i} served little after the kill: {successes_after_kill}")
        self.assertEqual(successes_after_kill[victim_index], 0)
        self.assertGreater(len(refused), 0, "no call reached the killed node after the kill")
        self.assertGreater(failed_over[0], 0)
        slowest = max(seconds for _, seconds in refused)
        self.assertLess(slowest, 3.0, f"a call to the killed node took {slowest:.1f}s")
        self.assertGreater(len(acked.keys), 20, f"too little load: {acked.summary()}")
        note = f"before the kill: {before_kill}; in all: {acked.summary()}"

        for i in survivors:
            self.assert_acknowledged_present(clients[i], acked, f"node {i} ({note})")

        # The killed node starts again on the same database and serves the same.
        victim.start()
        restarted = self.client(victim)
        self.assert_acknowledged_present(restarted, acked, f"restarted node {victim_index}")
        key_id = restarted.create_key()["KeyMetadata"]["KeyId"]
        for i in survivors:
            self.assertEqual(clients[i].describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"], key_id)

    def test_restart_of_postgres_under_load_gives_only_aws_errors_and_every_node_recovers(self):
        nodes = self.start_cluster("pg_restart")
        clients = [self.client(n) for n in nodes]
        pids = [n.proc.pid for n in nodes]
        fixed_key = clients[0].create_key()["KeyMetadata"]["KeyId"]
        fixed_blob = clients[1].encrypt(KeyId=fixed_key, Plaintext=b"before the restart",
                                        EncryptionContext={"fixed": "1"})["CiphertextBlob"]
        acked = Acknowledged()
        acked.add("keys", fixed_key)
        acked.add("ciphertext", (fixed_blob, b"before the restart", {"fixed": "1"}, fixed_key))
        stop = threading.Event()
        lock = threading.Lock()
        outage: dict[str, Optional[float]] = {"began": None, "ended": None}
        failures: list[str] = []           # wrong answers, wrong errors, hangs
        down_errors = [0] * NODES           # AWS-shaped 500s while the database was away
        recovered_at: list[Optional[float]] = [None] * NODES
        slowest = [0.0]

        def checked(node: int, operation: str, **params) -> Optional[dict]:
            began = time.monotonic()
            try:
                out = getattr(clients[node], operation)(**params)
                outcome = None
            except botocore.exceptions.ClientError as e:
                out, outcome = None, e
            except botocore.exceptions.BotoCoreError as e:  # no HTTP answer: a hang or a reset
                out, outcome = None, e
            ended = time.monotonic()
            with lock:
                slowest[0] = max(slowest[0], ended - began)
                what = f"{operation} on node {node} at {began - t0:.2f}-{ended - t0:.2f}s " \
                       f"(outage {outage['began'] and outage['began'] - t0}-" \
                       f"{outage['ended'] and outage['ended'] - t0})"
                if ended - began > CALL_BOUND:
                    failures.append(f"{what}: took {ended - began:.1f}s")
                if outcome is None:
                    if outage["ended"] is not None and began > outage["ended"] and \
                            recovered_at[node] is None:
                        recovered_at[node] = ended
                    return out
                in_outage = outage["began"] is not None and ended >= outage["began"] and (
                    recovered_at[node] is None or began < recovered_at[node])
                meta = getattr(outcome, "response", {}).get("ResponseMetadata", {})
                aws_shaped = (isinstance(outcome, botocore.exceptions.ClientError)
                              and error_code(outcome) in DATABASE_DOWN_ERRORS
                              and meta.get("HTTPStatusCode") == 500
                              and bool(meta.get("RequestId"))
                              and bool(outcome.response.get("Error", {}).get("Message")))
                if in_outage and aws_shaped:
                    down_errors[node] += 1
                else:
                    failures.append(f"{what}: {describe_exception(outcome)}")
            return None

        def worker(w: int) -> None:
            n = 0
            while not stop.is_set():
                node = (w + n) % NODES
                tag = f"w{w}-{n}"
                n += 1
                created = checked(node, "create_key", Description=tag)
                if created is not None:
                    key_id = created["KeyMetadata"]["KeyId"]
                    acked.add("keys", key_id)
                    if checked(node, "create_alias", AliasName=f"alias/pg/{tag}",
                               TargetKeyId=key_id) is not None:
                        acked.add("alias", (f"alias/pg/{tag}", key_id))
                    grant = checked((node + 2) % NODES, "create_grant", KeyId=key_id,
                                    GranteePrincipal=ROOT_ARN, Operations=["Decrypt"], Name=tag)
                    if grant is not None:
                        acked.add("grants", (key_id, grant["GrantId"]))
                    if checked((node + 1) % NODES, "tag_resource", KeyId=key_id,
                               Tags=[{"TagKey": "round", "TagValue": tag}]) is not None:
                        acked.add("tags", (key_id, "round", tag))
                plaintext = os.urandom(16)
                out = checked(node, "encrypt", KeyId=fixed_key, Plaintext=plaintext,
                              EncryptionContext={"round": tag})
                if out is not None:
                    acked.add("ciphertext", (out["CiphertextBlob"], plaintext, {"round": tag},
                                             fixed_key))
                out = checked(node, "decrypt", CiphertextBlob=fixed_blob,
                              EncryptionContext={"fixed": "1"})
                if out is not None and out["Plaintext"] != b"before the restart":
                    with lock:
                        failures.append(f"decrypt on node {node} answered {out['Plaintext']!r}")
                out = checked(node, "describe_key", KeyId=fixed_key)
                if out is not None and out["KeyMetadata"]["KeyId"] != fixed_key:
                    with lock:
                        failures.append(f"describe_key on node {node} answered {out}")

        t0 = time.monotonic()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2 * NODES)
        try:
            running = [pool.submit(worker, w) for w in range(2 * NODES)]
            time.sleep(1.0)
            outage["began"] = time.monotonic()
            self.pg.stop()  # fast shutdown: every connection of every node is cut
            time.sleep(3.0)
            self.pg.start()
            outage["ended"] = time.monotonic()
            deadline = outage["ended"] + RECOVERY_BOUND
            while None in recovered_at and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # the load goes on a while after every node is back
        finally:
            stop.set()
            pool.shutdown(wait=True)
            if self.pg.proc is None or self.pg.proc.poll() is not None:
                self.pg.start()  # the class's later tests need it
        for f in running:
            f.result()

        self.assertEqual(failures, [], f"slowest call {slowest[0]:.1f}s; {acked.summary()}")
        self.assertLess(slowest[0], CALL_BOUND)
        for i in range(NODES):
            self.assertGreater(down_errors[i], 0, f"node {i} never saw the outage")
            self.assertIsNotNone(recovered_at[i], f"node {i} did not serve again within "
                                                  f"{RECOVERY_BOUND}s of PostgreSQL's return")
            self.assertEqual(nodes[i].proc.pid, pids[i])
            self.assertTrue(nodes[i].running, nodes[i].log_tail())
            status, _, body = http_get(nodes[i].host, nodes[i].port, "/healthz", timeout=5)
            self.assertEqual(status, 200, body)
        for i in range(NODES):
            self.assert_acknowledged_present(clients[i], acked, f"node {i}")


if __name__ == "__main__":
    unittest.main()
