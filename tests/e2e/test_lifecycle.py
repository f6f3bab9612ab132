"""Key lifecycle end to end: key states and their transitions, deletion, tags, descriptions,
aliases and rotation, through boto3 1.43 (which knows RotateKeyOnDemand, ListKeyRotations and
RotationPeriodInDays), the AWS CLI v1 and the AWS CLI v2.

What is covered:
- every operation family against a key in each state (Enabled, Disabled, PendingDeletion),
  with the exact AWS error code and message of the key state table;
- the transitions Enabled <-> Disabled -> PendingDeletion -> (cancel) Disabled;
- ScheduleKeyDeletion windows (7..30, default 30), CancelKeyDeletion, UpdateKeyDescription,
  TagResource / UntagResource / ListResourceTags (reserved prefix, 50-tag limit, paging);
- ListKeys / ListAliases / ListResourceTags / ListKeyRotations paging: no duplicates, nothing
  missing;
- aliases: create/use/update/delete, duplicates, reserved and malformed names, per-key limit,
  per-region separation, aliases refused by management operations;
- rotation: settings, on-demand rotation with old and new ciphertexts, the 25-rotation quota;
- with `--testing-clock-file`: a scheduled deletion carried out (key, aliases and ciphertexts
  gone) and automatic rotation (new material, old ciphertexts still decrypt, disabled keys
  wait until re-enabled);
- the AWS CLI v1 and v2 for aliases, enable/disable, schedule/cancel deletion and rotation.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import os
import re
import shutil
import tempfile
import time
import unittest
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

import botocore.exceptions

import harness
from harness import DEFAULT_ACCOUNT, AwsCliMixin, ScytaleTestCase, list_all_keys, signed_request

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
DAY = 86400
OK, DIS, PD, NPD = "ok", "DisabledException", "PendingDeletion", "NotPendingDeletion"
STATES = ("Enabled", "Disabled", "PendingDeletion")


def key_arn(key_id: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(name: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def unique(prefix: str = "alias/t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def expected_state_error(kind: str, arn: str) -> tuple[str, str]:
    """(error code, exact message) of the key state table's entries."""
    return {
        DIS: ("DisabledException", f"{arn} is disabled."),
        PD: ("KMSInvalidStateException", f"{arn} is pending deletion."),
        NPD: ("KMSInvalidStateException", f"{arn} is not pending deletion."),
    }[kind]


def set_clock(path: str, offset_seconds: int) -> None:
    """Atomically writes the offset the server's key clock adds to the real time."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{int(offset_seconds)}\n")
    os.replace(tmp, path)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.2):
    """Polls predicate() until it returns something truthy; returns it (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def error_of(fn: Callable[[], Any]) -> Optional[str]:
    """The AWS error code fn() raises, or None if it succeeds."""
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return harness.error_code(e)
    return None


def list_all(fn: Callable[..., dict], items: str, marker_in: str = "Marker",
             max_page: Optional[int] = None, test: Optional[unittest.TestCase] = None,
             **kwargs: Any) -> list:
    """Walks every page of a KMS list operation, checking the paging fields on the way."""
    out, marker, pages = [], None, 0
    while True:
        kw = dict(kwargs)
        if marker:
            kw[marker_in] = marker
        page = fn(**kw)
        pages += 1
        if test is not None:
            if max_page is not None:
                test.assertLessEqual(len(page[items]), max_page, f"page too long: {page}")
            if page.get("Truncated"):
                test.assertTrue(page.get("NextMarker"), f"Truncated without NextMarker: {page}")
            else:
                test.assertNotIn("NextMarker", page, f"NextMarker on the last page: {page}")
        out.extend(page[items])
        if not page.get("Truncated"):
            return out
        assert pages < 1000, "paging does not end"
        marker = page["NextMarker"]


def start_clocked_server(test: ScytaleTestCase, name: str) -> tuple[harness.ScytaleServer, str]:
    """A server of this test only whose key clock follows a file (offset 0 to begin with),
    with a maintenance pass every second."""
    clock_dir = tempfile.mkdtemp(prefix="scytale-e2e-clock-")
    test.addCleanup(shutil.rmtree, clock_dir, True)
    clock = os.path.join(clock_dir, "clock")
    set_clock(clock, 0)
    server = test.start_server(name=name, args=["--testing-clock-file", clock,
                                                "--maintenance-interval-seconds", "1"])
    return server, clock


class LifecycleAssertions:
    def assertStateError(self, kind: str, arn: str, fn: Callable[..., Any], *args: Any, **kw: Any):
        code, message = expected_state_error(kind, arn)
        e = self.assertClientError(code, fn, *args, **kw)
        self.assertEqual(message, e.response["Error"].get("Message"), f"{e.response}")
        return e

    def state_of(self, kms, key_id: str) -> str:
        return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]

    def assertNear(self, expected: datetime.datetime, got: datetime.datetime,
                   slack: float = 120.0, msg: str = ""):
        self.assertIsInstance(got, datetime.datetime, msg)
        delta = abs((got - expected).total_seconds())
        self.assertLessEqual(delta, slack, f"{msg}: {got} is not within {slack}s of {expected}")


# --------------------------------------------------------------------------------------
# The key state table
# --------------------------------------------------------------------------------------

@dataclass
class Fixture:
    key_id: str
    arn: str
    ct: bytes          # made by this key while it was Enabled
    alias: str         # points at this key
    material: str      # CurrentKeyMaterialId when the fixture was made


Op = Callable[[Any, Fixture, "StateMatrixTest"], Any]


class StateMatrixTest(LifecycleAssertions, ScytaleTestCase):
    """Each operation against a key in each state, with the key state table's answer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="lifecycle-states")
        kms = cls.server.client()
        cls.other = kms.create_key(Description="matrix: always enabled")["KeyMetadata"]["KeyId"]
        cls.other_ct = kms.encrypt(KeyId=cls.other, Plaintext=b"other")["CiphertextBlob"]

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()

    def fixture(self, state: str) -> Fixture:
        kms = self.kms
        md = kms.create_key(Description=f"matrix {state}")["KeyMetadata"]
        key_id = md["KeyId"]
        ct = kms.encrypt(KeyId=key_id, Plaintext=b"matrix")["CiphertextBlob"]
        alias = unique("alias/matrix")
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "T", "TagValue": "v"}])
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
        if state == "Disabled":
            kms.disable_key(KeyId=key_id)
        elif state == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(state, self.state_of(kms, key_id))
        return Fixture(key_id, md["Arn"], ct, alias, md["CurrentKeyMaterialId"])

    def run_matrix(self, ops: list[tuple[str, Op, tuple[str, str, str], Optional[Callable]]]):
        for name, call, expectations, check in ops:
            for state, expected in zip(STATES, expectations):
                with self.subTest(op=name, state=state):
                    f = self.fixture(state)
                    if expected == OK:
                        try:
                            resp = call(self.kms, f, self)
                        except botocore.exceptions.ClientError as e:
                            self.fail(f"{name} on a {state} key: expected success, got {e.response}")
                        if check is not None:
                            check(self, f, state, resp)
                    else:
                        self.assertStateError(expected, f.arn, call, self.kms, f, self)
                        # A refused operation leaves the key as it was.
                        self.assertEqual(state, self.state_of(self.kms, f.key_id))

    def test_cryptographic_operations(self):
        def decrypted(t, f, state, resp):
            t.assertEqual(b"matrix", resp["Plaintext"])

        def made_by(t, f, state, resp):
            t.assertEqual(f.arn, resp["KeyId"])

        self.run_matrix([
            ("Encrypt", lambda k, f, t: k.encrypt(KeyId=f.key_id, Plaintext=b"p"),
             (OK, DIS, PD), made_by),
            ("Encrypt (key ARN)", lambda k, f, t: k.encrypt(KeyId=f.arn, Plaintext=b"p"),
             (OK, DIS, PD), made_by),
            ("Encrypt (alias name)", lambda k, f, t: k.encrypt(KeyId=f.alias, Plaintext=b"p"),
             (OK, DIS, PD), made_by),
            ("Encrypt (alias ARN)",
             lambda k, f, t: k.encrypt(KeyId=alias_arn(f.alias), Plaintext=b"p"),
             (OK, DIS, PD), made_by),
            ("Decrypt", lambda k, f, t: k.decrypt(CiphertextBlob=f.ct), (OK, DIS, PD), decrypted),
            ("Decrypt (KeyId given)",
             lambda k, f, t: k.decrypt(CiphertextBlob=f.ct, KeyId=f.key_id), (OK, DIS, PD),
             decrypted),
            ("ReEncrypt (source key)",
             lambda k, f, t: k.re_encrypt(CiphertextBlob=f.ct, DestinationKeyId=t.other),
             (OK, DIS, PD), None),
            ("ReEncrypt (destination key)",
             lambda k, f, t: k.re_encrypt(CiphertextBlob=t.other_ct, DestinationKeyId=f.key_id),
             (OK, DIS, PD), made_by),
            ("GenerateDataKey",
             lambda k, f, t: k.generate_data_key(KeyId=f.key_id, KeySpec="AES_256"),
             (OK, DIS, PD), made_by),
            ("GenerateDataKeyWithoutPlaintext",
             lambda k, f, t: k.generate_data_key_without_plaintext(KeyId=f.key_id, NumberOfBytes=16),
             (OK, DIS, PD), made_by),
        ])

    def test_administrative_operations(self):
        def state_is(want):
            def check(t, f, state, resp):
                t.assertEqual(want, t.state_of(t.kms, f.key_id))
            return check

        def tags_are(want):
            def check(t, f, state, resp):
                got = {x["TagKey"]: x["TagValue"] for x in t.kms.list_resource_tags(KeyId=f.key_id)["Tags"]}
                t.assertEqual(want, got)
            return check

        def description_is(t, f, state, resp):
            md = t.kms.describe_key(KeyId=f.key_id)["KeyMetadata"]
            t.assertEqual("changed", md["Description"])
            t.assertEqual(state, md["KeyState"])

        def alias_targets(alias_fn):
            def check(t, f, state, resp):
                name, target = alias_fn(t, f)
                got = {a["AliasName"]: a.get("TargetKeyId") for a in
                       t.kms.list_aliases(KeyId=target)["Aliases"]}
                t.assertEqual(target, got.get(name), f"ListAliases(KeyId={target}): {got}")
            return check

        def rotation_is(enabled):
            def check(t, f, state, resp):
                st = t.kms.get_key_rotation_status(KeyId=f.key_id)
                t.assertEqual(enabled, st["KeyRotationEnabled"], st)
            return check

        def rotated(t, f, state, resp):
            t.assertTrue(resp["KeyId"].endswith(f.key_id), resp)
            md = t.kms.describe_key(KeyId=f.key_id)["KeyMetadata"]
            t.assertNotEqual(f.material, md["CurrentKeyMaterialId"])

        def scheduled(t, f, state, resp):
            t.assertEqual(f.arn, resp["KeyId"])
            t.assertEqual("PendingDeletion", resp["KeyState"])
            t.assertEqual("PendingDeletion", t.state_of(t.kms, f.key_id))

        def cancelled(t, f, state, resp):
            t.assertEqual(f.arn, resp["KeyId"])
            t.assertEqual("Disabled", t.state_of(t.kms, f.key_id))

        def update_alias_to_key(k, f, t):
            name = unique("alias/matrix-to")
            k.create_alias(AliasName=name, TargetKeyId=t.other)
            t._last_alias = name
            return k.update_alias(AliasName=name, TargetKeyId=f.key_id)

        self.run_matrix([
            ("EnableKey", lambda k, f, t: k.enable_key(KeyId=f.key_id), (OK, OK, PD),
             state_is("Enabled")),
            ("DisableKey", lambda k, f, t: k.disable_key(KeyId=f.key_id), (OK, OK, PD),
             state_is("Disabled")),
            ("EnableKey (key ARN)", lambda k, f, t: k.enable_key(KeyId=f.arn), (OK, OK, PD),
             state_is("Enabled")),
            ("TagResource",
             lambda k, f, t: k.tag_resource(KeyId=f.key_id, Tags=[{"TagKey": "U", "TagValue": "w"}]),
             (OK, OK, PD), tags_are({"T": "v", "U": "w"})),
            ("UntagResource", lambda k, f, t: k.untag_resource(KeyId=f.key_id, TagKeys=["T"]),
             (OK, OK, PD), tags_are({})),
            ("UpdateKeyDescription",
             lambda k, f, t: k.update_key_description(KeyId=f.key_id, Description="changed"),
             (OK, OK, PD), description_is),
            ("CreateAlias",
             lambda k, f, t: k.create_alias(AliasName=f.alias + "-2", TargetKeyId=f.key_id),
             (OK, OK, PD), alias_targets(lambda t, f: (f.alias + "-2", f.key_id))),
            ("UpdateAlias (to this key)", update_alias_to_key, (OK, OK, PD),
             alias_targets(lambda t, f: (t._last_alias, f.key_id))),
            ("UpdateAlias (away from this key)",
             lambda k, f, t: k.update_alias(AliasName=f.alias, TargetKeyId=t.other),
             (OK, OK, OK), alias_targets(lambda t, f: (f.alias, t.other))),
            ("DeleteAlias", lambda k, f, t: k.delete_alias(AliasName=f.alias), (OK, OK, OK),
             lambda t, f, s, r: t.assertEqual([], t.kms.list_aliases(KeyId=f.key_id)["Aliases"])),
            ("EnableKeyRotation", lambda k, f, t: k.enable_key_rotation(KeyId=f.key_id),
             (OK, DIS, PD), rotation_is(True)),
            ("EnableKeyRotation (period 90)",
             lambda k, f, t: k.enable_key_rotation(KeyId=f.key_id, RotationPeriodInDays=90),
             (OK, DIS, PD), rotation_is(True)),
            ("DisableKeyRotation", lambda k, f, t: k.disable_key_rotation(KeyId=f.key_id),
             (OK, DIS, PD), rotation_is(False)),
            ("RotateKeyOnDemand", lambda k, f, t: k.rotate_key_on_demand(KeyId=f.key_id),
             (OK, DIS, PD), rotated),
            ("ScheduleKeyDeletion",
             lambda k, f, t: k.schedule_key_deletion(KeyId=f.key_id, PendingWindowInDays=7),
             (OK, OK, PD), scheduled),
            ("CancelKeyDeletion", lambda k, f, t: k.cancel_key_deletion(KeyId=f.key_id),
             (NPD, NPD, OK), cancelled),
        ])

    def test_read_operations(self):
        def described(t, f, state, resp):
            md = resp["KeyMetadata"]
            t.assertEqual(f.key_id, md["KeyId"])
            t.assertEqual(state, md["KeyState"])
            t.assertEqual(state == "Enabled", md["Enabled"])
            t.assertEqual(state == "PendingDeletion", "DeletionDate" in md, md)

        def tags_listed(t, f, state, resp):
            t.assertEqual([{"TagKey": "T", "TagValue": "v"}], resp["Tags"])
            t.assertFalse(resp["Truncated"])

        def rotation_status(t, f, state, resp):
            # Rotation was enabled (180 days) before the state change; a key pending deletion
            # reads as not rotating.
            t.assertEqual(f.arn, resp["KeyId"])
            t.assertEqual(state != "PendingDeletion", resp["KeyRotationEnabled"], resp)
            if state != "PendingDeletion":
                t.assertEqual(180, resp.get("RotationPeriodInDays"), resp)
                t.assertIn("NextRotationDate", resp)

        def no_rotations(t, f, state, resp):
            t.assertEqual([], resp["Rotations"])
            t.assertFalse(resp["Truncated"])

        def aliases_listed(t, f, state, resp):
            t.assertEqual([f.alias], [a["AliasName"] for a in resp["Aliases"]])

        self.run_matrix([
            ("DescribeKey", lambda k, f, t: k.describe_key(KeyId=f.key_id), (OK, OK, OK), described),
            ("DescribeKey (alias)", lambda k, f, t: k.describe_key(KeyId=f.alias), (OK, OK, OK),
             described),
            ("ListResourceTags", lambda k, f, t: k.list_resource_tags(KeyId=f.key_id),
             (OK, OK, OK), tags_listed),
            ("GetKeyRotationStatus", lambda k, f, t: k.get_key_rotation_status(KeyId=f.key_id),
             (OK, OK, OK), rotation_status),
            ("ListKeyRotations", lambda k, f, t: k.list_key_rotations(KeyId=f.key_id),
             (OK, OK, OK), no_rotations),
            ("ListAliases (KeyId)", lambda k, f, t: k.list_aliases(KeyId=f.key_id), (OK, OK, OK),
             aliases_listed),
        ])

    def test_cancelled_deletion_restores_rotation_setting(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=120)
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertFalse(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
        kms.cancel_key_deletion(KeyId=key)
        status = kms.get_key_rotation_status(KeyId=key)
        self.assertTrue(status["KeyRotationEnabled"], status)
        self.assertEqual(120, status["RotationPeriodInDays"])


# --------------------------------------------------------------------------------------
# Transitions and the management operations' own errors
# --------------------------------------------------------------------------------------

class KeyManagementTest(LifecycleAssertions, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="lifecycle-mgmt")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()

    def test_state_transitions(self):
        kms = self.kms
        md = kms.create_key()["KeyMetadata"]
        key, arn = md["KeyId"], md["Arn"]

        def check(state: str, deletion: bool = False):
            md = kms.describe_key(KeyId=key)["KeyMetadata"]
            self.assertEqual(state, md["KeyState"], md)
            self.assertEqual(state == "Enabled", md["Enabled"], md)
            self.assertEqual(deletion, "DeletionDate" in md, md)
            return md

        check("Enabled")
        self.assertEqual(200, kms.enable_key(KeyId=key)["ResponseMetadata"]["HTTPStatusCode"])
        check("Enabled")                       # EnableKey on an enabled key: no change
        kms.disable_key(KeyId=key)
        check("Disabled")
        kms.disable_key(KeyId=key)             # idempotent
        check("Disabled")
        kms.enable_key(KeyId=key)
        check("Enabled")

        # Enabled -> PendingDeletion -> (cancel) Disabled, not back to Enabled.
        before = utcnow()
        resp = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(arn, resp["KeyId"])
        self.assertEqual("PendingDeletion", resp["KeyState"])
        self.assertEqual(7, resp["PendingWindowInDays"])
        self.assertNear(before + datetime.timedelta(days=7), resp["DeletionDate"], msg="DeletionDate")
        md = check("PendingDeletion", deletion=True)
        self.assertEqual(resp["DeletionDate"], md["DeletionDate"])
        resp = kms.cancel_key_deletion(KeyId=key)
        self.assertEqual({"KeyId": arn}, {k: v for k, v in resp.items() if k != "ResponseMetadata"})
        check("Disabled")
        self.assertStateError(DIS, arn, kms.encrypt, KeyId=key, Plaintext=b"x")
        kms.enable_key(KeyId=key)
        check("Enabled")
        self.assertEqual(b"x", kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key, Plaintext=b"x")
                                           ["CiphertextBlob"])["Plaintext"])

        # Disabled -> PendingDeletion -> Disabled.
        kms.disable_key(KeyId=key)
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=30)
        check("PendingDeletion", deletion=True)
        self.assertStateError(PD, arn, kms.schedule_key_deletion, KeyId=key, PendingWindowInDays=7)
        self.assertStateError(PD, arn, kms.enable_key, KeyId=key)
        kms.cancel_key_deletion(KeyId=key)
        check("Disabled")
        self.assertStateError(NPD, arn, kms.cancel_key_deletion, KeyId=key)

    def test_schedule_key_deletion_window(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        before = utcnow()
        resp = kms.schedule_key_deletion(KeyId=key)      # default: 30 days
        self.assertEqual(30, resp["PendingWindowInDays"])
        self.assertNear(before + datetime.timedelta(days=30), resp["DeletionDate"], msg="default window")
        kms.cancel_key_deletion(KeyId=key)
        for days in (7, 30):
            resp = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
            self.assertEqual(days, resp["PendingWindowInDays"])
            self.assertNear(utcnow() + datetime.timedelta(days=days), resp["DeletionDate"],
                            msg=f"{days} days")
            kms.cancel_key_deletion(KeyId=key)
        for days in (1, 6, 31, 365, 366):
            with self.subTest(days=days):
                self.assertClientError("ValidationException", kms.schedule_key_deletion,
                                       KeyId=key, PendingWindowInDays=days)
                self.assertEqual("Disabled", self.state_of(kms, key))
        for days in (0, -7):    # botocore refuses these itself
            with self.subTest(days=days):
                r = signed_request(self.server, "ScheduleKeyDeletion",
                                   {"KeyId": key, "PendingWindowInDays": days})
                self.assertRawError(r, "ValidationException")

    def test_unknown_keys_and_aliases_in_management_operations(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        alias = unique()
        kms.create_alias(AliasName=alias, TargetKeyId=key)
        missing = str(uuid.uuid4())
        ops = {
            "EnableKey": lambda k: kms.enable_key(KeyId=k),
            "DisableKey": lambda k: kms.disable_key(KeyId=k),
            "ScheduleKeyDeletion": lambda k: kms.schedule_key_deletion(KeyId=k, PendingWindowInDays=7),
            "CancelKeyDeletion": lambda k: kms.cancel_key_deletion(KeyId=k),
            "UpdateKeyDescription": lambda k: kms.update_key_description(KeyId=k, Description="d"),
            "TagResource": lambda k: kms.tag_resource(KeyId=k, Tags=[{"TagKey": "a", "TagValue": "b"}]),
            "UntagResource": lambda k: kms.untag_resource(KeyId=k, TagKeys=["a"]),
            "ListResourceTags": lambda k: kms.list_resource_tags(KeyId=k),
            "EnableKeyRotation": lambda k: kms.enable_key_rotation(KeyId=k),
            "DisableKeyRotation": lambda k: kms.disable_key_rotation(KeyId=k),
            "GetKeyRotationStatus": lambda k: kms.get_key_rotation_status(KeyId=k),
            "RotateKeyOnDemand": lambda k: kms.rotate_key_on_demand(KeyId=k),
            "ListKeyRotations": lambda k: kms.list_key_rotations(KeyId=k),
            "CreateAlias(TargetKeyId)": lambda k: kms.create_alias(AliasName=unique(), TargetKeyId=k),
            "ListAliases(KeyId)": lambda k: kms.list_aliases(KeyId=k),
        }
        for name, op in ops.items():
            for what, ref in (("unknown key id", missing), ("unknown key ARN", key_arn(missing)),
                              ("alias name", alias), ("alias ARN", alias_arn(alias))):
                if name == "ListAliases(KeyId)" and what.startswith("alias"):
                    continue   # not specified for ListAliases' filter
                with self.subTest(op=name, key=what):
                    self.assertClientError("NotFoundException", op, ref)
        # Nothing happened to the key behind the alias.
        md = kms.describe_key(KeyId=key)["KeyMetadata"]
        self.assertEqual("Enabled", md["KeyState"])
        self.assertEqual("", md["Description"])
        self.assertEqual([], kms.list_resource_tags(KeyId=key)["Tags"])
        self.assertFalse(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])

    def test_update_key_description(self):
        kms = self.kms
        key = kms.create_key(Description="first")["KeyMetadata"]["KeyId"]
        for desc in ("second", "ünïcødé ✓ \"q\" \\ /", "", "x" * 8192):
            with self.subTest(desc=desc[:20]):
                resp = kms.update_key_description(KeyId=key, Description=desc)
                self.assertEqual({"ResponseMetadata"}, set(resp))
                self.assertEqual(desc, kms.describe_key(KeyId=key)["KeyMetadata"]["Description"])
        kms.disable_key(KeyId=key)
        kms.update_key_description(KeyId=key, Description="while disabled")
        self.assertEqual("while disabled", kms.describe_key(KeyId=key)["KeyMetadata"]["Description"])

    def test_tags(self):
        kms = self.kms
        key = kms.create_key(Tags=[{"TagKey": "created", "TagValue": "with key"}])["KeyMetadata"]["KeyId"]

        def tags():
            resp = kms.list_resource_tags(KeyId=key)
            keys = [t["TagKey"] for t in resp["Tags"]]
            self.assertEqual(len(keys), len(set(keys)), f"duplicate tag keys: {resp}")
            return {t["TagKey"]: t["TagValue"] for t in resp["Tags"]}

        self.assertEqual({"created": "with key"}, tags())
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "test"},
                                          {"TagKey": "Env", "TagValue": "case-sensitive"},
                                          {"TagKey": "empty", "TagValue": ""}])
        self.assertEqual({"created": "with key", "env": "test", "Env": "case-sensitive",
                          "empty": ""}, tags())
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])   # replaces
        self.assertEqual("prod", tags()["env"])
        kms.untag_resource(KeyId=key, TagKeys=["env", "not-there"])   # unknown keys: no error
        self.assertEqual({"created": "with key", "Env": "case-sensitive", "empty": ""}, tags())
        self.assertClientError("TagException", kms.tag_resource, KeyId=key,
                               Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
        self.assertNotIn("aws:reserved", tags())

        # 50 tags per key: the 51st distinct key is refused, replacing a value still works.
        kms.untag_resource(KeyId=key, TagKeys=list(tags()))
        self.assertEqual({}, tags())
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": f"k{i:02d}", "TagValue": str(i)} for i in range(50)])
        self.assertEqual(50, len(tags()))
        self.assertClientError("LimitExceededException", kms.tag_resource, KeyId=key,
                               Tags=[{"TagKey": "one-too-many", "TagValue": "x"}])
        self.assertEqual(50, len(tags()))
        self.assertNotIn("one-too-many", tags())
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "k00", "TagValue": "replaced"}])
        self.assertEqual("replaced", tags()["k00"])

    def test_list_resource_tags_paging(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        want = {f"tag-{i:02d}": f"value {i}" for i in range(50)}
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": k, "TagValue": v} for k, v in want.items()])
        for limit in (1, 7, 49, 50):
            with self.subTest(limit=limit):
                got = list_all(kms.list_resource_tags, "Tags", max_page=limit, test=self,
                               KeyId=key, Limit=limit)
                keys = [t["TagKey"] for t in got]
                self.assertEqual(len(keys), len(set(keys)), "duplicates across pages")
                self.assertEqual(want, {t["TagKey"]: t["TagValue"] for t in got})
        first = kms.list_resource_tags(KeyId=key, Limit=7)
        self.assertEqual(7, len(first["Tags"]))
        self.assertTrue(first["Truncated"])
        # Default page size: at most 50.
        got = list_all(kms.list_resource_tags, "Tags", max_page=50, test=self, KeyId=key)
        self.assertEqual(want, {t["TagKey"]: t["TagValue"] for t in got})
        self.assertClientError("InvalidMarkerException", kms.list_resource_tags, KeyId=key,
                               Marker="not-a-marker")

    def test_limits_hold_under_concurrency(self):
        """Quota checks are not racy: parallel calls never get past a limit."""
        clients = [self.server.client("ap-south-1") for _ in range(12)]
        kms = clients[0]

        def codes(calls: list[Callable[[Any], Any]]) -> dict[str, int]:
            def one(i):
                return error_of(lambda: calls[i](clients[i % len(clients)])) or "ok"
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(clients)) as pool:
                results = list(pool.map(one, range(len(calls))))
            return {c: results.count(c) for c in set(results)}

        key = kms.create_key()["KeyMetadata"]["KeyId"]
        got = codes([lambda c: c.rotate_key_on_demand(KeyId=key)] * 32)
        self.assertEqual({"ok": 25, "LimitExceededException": 7}, got, "RotateKeyOnDemand x32")
        self.assertEqual(25, len(kms.list_key_rotations(KeyId=key, Limit=1000)["Rotations"]))

        key = kms.create_key()["KeyMetadata"]["KeyId"]
        got = codes([lambda c, i=i: c.create_alias(AliasName=f"alias/race-{i:02d}", TargetKeyId=key)
                     for i in range(60)])
        self.assertEqual({"ok": 50, "LimitExceededException": 10}, got, "CreateAlias x60 on one key")
        self.assertEqual(50, len(list_all(kms.list_aliases, "Aliases", KeyId=key)))

        keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(12)]
        got = codes([lambda c, k=k: c.create_alias(AliasName="alias/race-same", TargetKeyId=k) for k in keys])
        self.assertEqual({"ok": 1, "AlreadyExistsException": 11}, got, "CreateAlias of one name x12")

        key = kms.create_key()["KeyMetadata"]["KeyId"]
        got = codes([lambda c, i=i: c.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i:02d}", "TagValue": "v"}])
                     for i in range(60)])
        self.assertEqual({"ok": 50, "LimitExceededException": 10}, got, "TagResource x60 on one key")
        self.assertEqual(50, len(list_all(kms.list_resource_tags, "Tags", KeyId=key)))

        # Opposite state changes racing on one key end in one of the states, never in between.
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        got = codes([(lambda c: c.disable_key(KeyId=key)) if i % 2 else (lambda c: c.enable_key(KeyId=key))
                     for i in range(24)])
        self.assertEqual({"ok": 24}, got)
        self.assertIn(self.state_of(kms, key), ("Enabled", "Disabled"))
        got = codes([lambda c: c.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)] * 12)
        self.assertEqual({"ok": 1, "KMSInvalidStateException": 11}, got, "ScheduleKeyDeletion x12")
        got = codes([lambda c: c.cancel_key_deletion(KeyId=key)] * 12)
        self.assertEqual({"ok": 1, "KMSInvalidStateException": 11}, got, "CancelKeyDeletion x12")
        self.assertEqual("Disabled", self.state_of(kms, key))

    def test_list_limits(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        # The shapes allow Limit 1..1000 (botocore checks only the minimum).
        self.assertClientError("ValidationException", kms.list_keys, Limit=1001)
        self.assertClientError("ValidationException", kms.list_key_rotations, KeyId=key, Limit=1001)
        for op, body in (("ListKeys", {"Limit": 0}), ("ListAliases", {"Limit": 0}),
                         ("ListResourceTags", {"KeyId": key, "Limit": 0}),
                         ("ListKeyRotations", {"KeyId": key, "Limit": 0})):
            with self.subTest(op=op):
                self.assertRawError(signed_request(self.server, op, body), "ValidationException")
        self.assertRawError(signed_request(self.server, "ListKeyRotations",
                                           {"KeyId": key, "IncludeKeyMaterial": "SOME"}),
                            "ValidationException")

    def test_lifecycle_state_survives_restart(self):
        server, clock = start_clocked_server(self, "lifecycle-restart")
        kms = server.client()
        disabled = kms.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=disabled)
        doomed = kms.create_key()["KeyMetadata"]["KeyId"]
        doomed_ct = kms.encrypt(KeyId=doomed, Plaintext=b"doomed")["CiphertextBlob"]
        kms.create_alias(AliasName="alias/doomed", TargetKeyId=doomed)
        deletion = kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)["DeletionDate"]
        rot = kms.create_key(Description="rotating")["KeyMetadata"]["KeyId"]
        ct0 = kms.encrypt(KeyId=rot, Plaintext=b"v0")["CiphertextBlob"]
        kms.enable_key_rotation(KeyId=rot, RotationPeriodInDays=90)
        kms.rotate_key_on_demand(KeyId=rot)
        ct1 = kms.encrypt(KeyId=rot, Plaintext=b"v1")["CiphertextBlob"]
        kms.tag_resource(KeyId=rot, Tags=[{"TagKey": "k", "TagValue": "v"}])
        kms.create_alias(AliasName="alias/rot", TargetKeyId=rot)
        status = kms.get_key_rotation_status(KeyId=rot)
        rotations = kms.list_key_rotations(KeyId=rot)["Rotations"]
        server.stop()
        server.start()
        kms = server.client()
        self.assertEqual("Disabled", self.state_of(kms, disabled))
        md = kms.describe_key(KeyId="alias/doomed")["KeyMetadata"]
        self.assertEqual(("PendingDeletion", deletion), (md["KeyState"], md.get("DeletionDate")))
        after = kms.get_key_rotation_status(KeyId=rot)
        for field in ("KeyRotationEnabled", "RotationPeriodInDays", "NextRotationDate"):
            self.assertEqual(status.get(field), after.get(field), field)
        self.assertEqual(rotations, kms.list_key_rotations(KeyId=rot)["Rotations"])
        self.assertEqual([{"TagKey": "k", "TagValue": "v"}], kms.list_resource_tags(KeyId=rot)["Tags"])
        self.assertEqual(b"v0", kms.decrypt(CiphertextBlob=ct0)["Plaintext"])
        self.assertEqual(b"v1", kms.decrypt(CiphertextBlob=ct1)["Plaintext"])
        # The schedules kept across the restart are carried out.
        m1 = kms.describe_key(KeyId=rot)["KeyMetadata"]["CurrentKeyMaterialId"]
        set_clock(clock, 91 * DAY)
        self.assertTrue(wait_until(lambda: error_of(lambda: kms.describe_key(KeyId=doomed))
                                   == "NotFoundException"), "the deletion was not carried out")
        self.assertTrue(wait_until(lambda: kms.describe_key(KeyId=rot)["KeyMetadata"]
                                   ["CurrentKeyMaterialId"] != m1), "the rotation was not carried out")
        self.assertClientError("AccessDeniedException", kms.decrypt, CiphertextBlob=doomed_ct)
        self.assertClientError("NotFoundException", kms.describe_key, KeyId="alias/doomed")
        for ct, want in ((ct0, b"v0"), (ct1, b"v1")):
            self.assertEqual(want, kms.decrypt(CiphertextBlob=ct)["Plaintext"])
        self.assertEqual("Disabled", self.state_of(kms, disabled))
        server.stop()


    def test_list_keys_paging(self):
        region = "ap-northeast-2"
        kms = self.server.client(region)
        created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(23)}
        # A key pending deletion and a disabled key are still listed.
        some = sorted(created)
        kms.schedule_key_deletion(KeyId=some[0], PendingWindowInDays=7)
        kms.disable_key(KeyId=some[1])
        for limit in (1, 5, 22, 23, 1000):
            with self.subTest(limit=limit):
                got = list_all(kms.list_keys, "Keys", max_page=limit, test=self, Limit=limit)
                ids = [k["KeyId"] for k in got]
                self.assertEqual(len(ids), len(set(ids)), "duplicates across pages")
                self.assertEqual(created, set(ids))
                for k in got:
                    self.assertEqual(key_arn(k["KeyId"], region), k["KeyArn"])
        self.assertEqual(created, {k["KeyId"] for k in list_all_keys(kms)})
        # Keys created between pages appear on a later page; none is repeated.
        page = kms.list_keys(Limit=10)
        extra = kms.create_key()["KeyMetadata"]["KeyId"]
        rest = list_all(kms.list_keys, "Keys", test=self, Limit=10, Marker=page["NextMarker"])
        ids = [k["KeyId"] for k in page["Keys"]] + [k["KeyId"] for k in rest]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(created, set(ids) - {extra})


# --------------------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------------------

class AliasTest(LifecycleAssertions, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="lifecycle-aliases")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()

    def aliases(self, kms=None, **kw) -> dict[str, dict]:
        got = list_all((kms or self.kms).list_aliases, "Aliases", test=self, **kw)
        names = [a["AliasName"] for a in got]
        self.assertEqual(len(names), len(set(names)), f"duplicate aliases: {names}")
        return {a["AliasName"]: a for a in got}

    def test_create_use_update_delete(self):
        kms = self.kms
        k1 = kms.create_key(Description="k1")["KeyMetadata"]
        k2 = kms.create_key(Description="k2")["KeyMetadata"]
        name = unique("alias/app")
        before = utcnow()
        resp = kms.create_alias(AliasName=name, TargetKeyId=k1["KeyId"])
        self.assertEqual({"ResponseMetadata"}, set(resp))
        entry = self.aliases()[name]
        self.assertEqual(alias_arn(name), entry["AliasArn"])
        self.assertEqual(k1["KeyId"], entry["TargetKeyId"])
        self.assertNear(before, entry["CreationDate"], msg="CreationDate")
        self.assertNear(before, entry["LastUpdatedDate"], msg="LastUpdatedDate")
        self.assertEqual([name], [a["AliasName"] for a in kms.list_aliases(KeyId=k1["KeyId"])["Aliases"]])
        self.assertEqual([name], [a["AliasName"] for a in kms.list_aliases(KeyId=k1["Arn"])["Aliases"]])
        self.assertEqual([], kms.list_aliases(KeyId=k2["KeyId"])["Aliases"])

        # Aliases work as KeyId in crypto operations and DescribeKey (name and ARN).
        for ref in (name, alias_arn(name)):
            with self.subTest(ref=ref):
                self.assertEqual(k1, kms.describe_key(KeyId=ref)["KeyMetadata"])
                enc = kms.encrypt(KeyId=ref, Plaintext=b"via alias")
                self.assertEqual(k1["Arn"], enc["KeyId"])
                dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=ref)
                self.assertEqual(b"via alias", dec["Plaintext"])
                self.assertEqual(k1["Arn"], kms.generate_data_key(KeyId=ref, KeySpec="AES_128")["KeyId"])
        old_ct = kms.encrypt(KeyId=name, Plaintext=b"old target")["CiphertextBlob"]

        # UpdateAlias re-points it; old ciphertexts still decrypt under the first key.
        time.sleep(1.1)   # so that LastUpdatedDate can move (whole seconds)
        resp = kms.update_alias(AliasName=name, TargetKeyId=k2["Arn"])
        self.assertEqual({"ResponseMetadata"}, set(resp))
        entry2 = self.aliases()[name]
        self.assertEqual(k2["KeyId"], entry2["TargetKeyId"])
        self.assertEqual(entry["CreationDate"], entry2["CreationDate"])
        self.assertGreater(entry2["LastUpdatedDate"], entry["LastUpdatedDate"])
        self.assertEqual(k2["KeyId"], kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        self.assertEqual(k2["Arn"], kms.encrypt(KeyId=name, Plaintext=b"n")["KeyId"])
        dec = kms.decrypt(CiphertextBlob=old_ct)
        self.assertEqual((b"old target", k1["Arn"]), (dec["Plaintext"], dec["KeyId"]))
        # Decrypt with the alias (now k2) as KeyId does not match the ciphertext's key.
        self.assertClientError("IncorrectKeyException", kms.decrypt, CiphertextBlob=old_ct, KeyId=name)
        self.assertEqual([], kms.list_aliases(KeyId=k1["KeyId"])["Aliases"])

        # DeleteAlias: gone, the key stays.
        resp = kms.delete_alias(AliasName=name)
        self.assertEqual({"ResponseMetadata"}, set(resp))
        self.assertNotIn(name, self.aliases())
        self.assertClientError("NotFoundException", kms.describe_key, KeyId=name)
        self.assertClientError("NotFoundException", kms.encrypt, KeyId=name, Plaintext=b"x")
        self.assertClientError("NotFoundException", kms.delete_alias, AliasName=name)
        self.assertClientError("NotFoundException", kms.update_alias, AliasName=name,
                               TargetKeyId=k1["KeyId"])
        self.assertEqual("Enabled", self.state_of(kms, k2["KeyId"]))
        # The name can be used again.
        kms.create_alias(AliasName=name, TargetKeyId=k1["KeyId"])
        self.assertEqual(k1["KeyId"], self.aliases()[name]["TargetKeyId"])

    def test_create_alias_errors(self):
        kms = self.kms
        k1 = kms.create_key()["KeyMetadata"]["KeyId"]
        k2 = kms.create_key()["KeyMetadata"]["KeyId"]
        name = unique()
        kms.create_alias(AliasName=name, TargetKeyId=k1)
        # Duplicates, to the same or another key.
        self.assertClientError("AlreadyExistsException", kms.create_alias, AliasName=name, TargetKeyId=k1)
        self.assertClientError("AlreadyExistsException", kms.create_alias, AliasName=name, TargetKeyId=k2)
        self.assertEqual(k1, self.aliases()[name]["TargetKeyId"])
        # Names are case-sensitive: a differently cased name is another alias.
        kms.create_alias(AliasName=name.upper().replace("ALIAS/", "alias/"), TargetKeyId=k2)
        # alias/aws/ is reserved.
        self.assertClientError("InvalidAliasNameException", kms.create_alias,
                               AliasName="alias/aws/mine", TargetKeyId=k1)
        self.assertClientError("InvalidAliasNameException", kms.create_alias,
                               AliasName="alias/aws/s3", TargetKeyId=k1)
        # Missing prefix / empty name / bad characters.
        e = self.assertClientError("ValidationException", kms.create_alias, AliasName="no-prefix",
                                   TargetKeyId=k1)
        self.assertEqual('Alias must start with the prefix "alias/".', e.response["Error"]["Message"])
        for bad in ("alias/", "alias/has space", "alias/ünï", "ALIAS/upper-prefix"):
            with self.subTest(name=bad):
                self.assertClientError("ValidationException", kms.create_alias, AliasName=bad,
                                       TargetKeyId=k1)
        # TargetKeyId must be a key id or ARN of an existing key.
        self.assertClientError("NotFoundException", kms.create_alias, AliasName=unique(),
                               TargetKeyId=str(uuid.uuid4()))
        self.assertClientError("NotFoundException", kms.create_alias, AliasName=unique(),
                               TargetKeyId=name)
        # Nothing of that reached the listing.
        listed = set(self.aliases())
        self.assertFalse({n for n in listed if n.startswith("alias/aws/")}, listed)
        self.assertNotIn("no-prefix", listed)

    def test_update_and_delete_alias_errors(self):
        kms = self.kms
        k1 = kms.create_key()["KeyMetadata"]
        k2 = kms.create_key()["KeyMetadata"]
        name = unique()
        kms.create_alias(AliasName=name, TargetKeyId=k1["KeyId"])
        self.assertClientError("NotFoundException", kms.update_alias, AliasName=unique(),
                               TargetKeyId=k2["KeyId"])
        self.assertClientError("NotFoundException", kms.update_alias, AliasName=name,
                               TargetKeyId=str(uuid.uuid4()))
        self.assertClientError("ValidationException", kms.update_alias, AliasName="no-prefix",
                               TargetKeyId=k2["KeyId"])
        self.assertClientError("ValidationException", kms.delete_alias, AliasName="no-prefix")
        self.assertClientError("NotFoundException", kms.delete_alias, AliasName=unique())
        # The new target pending deletion: refused.
        kms.schedule_key_deletion(KeyId=k2["KeyId"], PendingWindowInDays=7)
        self.assertStateError(PD, k2["Arn"], kms.update_alias, AliasName=name, TargetKeyId=k2["KeyId"])
        self.assertEqual(k1["KeyId"], self.aliases()[name]["TargetKeyId"])
        # A key pending deletion cannot get a new alias...
        self.assertStateError(PD, k2["Arn"], kms.create_alias, AliasName=unique(),
                              TargetKeyId=k2["KeyId"])
        # ...but an alias may leave it, and an alias on it may be deleted.
        k3 = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.cancel_key_deletion(KeyId=k2["KeyId"])
        other = unique()
        kms.create_alias(AliasName=other, TargetKeyId=k2["KeyId"])
        doomed = unique()
        kms.create_alias(AliasName=doomed, TargetKeyId=k2["KeyId"])
        kms.schedule_key_deletion(KeyId=k2["KeyId"], PendingWindowInDays=7)
        kms.update_alias(AliasName=other, TargetKeyId=k3)
        self.assertEqual(k3, self.aliases()[other]["TargetKeyId"])
        # An alias pointing at a key pending deletion still resolves; using it gives the state.
        self.assertEqual("PendingDeletion", kms.describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"])
        self.assertStateError(PD, k2["Arn"], kms.encrypt, KeyId=doomed, Plaintext=b"x")
        kms.delete_alias(AliasName=doomed)
        self.assertNotIn(doomed, self.aliases())
        # A disabled target is fine for UpdateAlias.
        kms.disable_key(KeyId=k3)
        kms.update_alias(AliasName=name, TargetKeyId=k3)
        self.assertStateError(DIS, key_arn(k3), kms.encrypt, KeyId=name, Plaintext=b"x")

    def test_alias_name_characters_and_length(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for name in ("alias/a:b/c_d-e", "alias/UPPER/lower/0123456789", "alias/" + "x" * 250):
            with self.subTest(name=name[:40]):
                kms.create_alias(AliasName=name, TargetKeyId=key)
                self.assertEqual(key, kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
                self.assertEqual(key_arn(key), kms.encrypt(KeyId=alias_arn(name), Plaintext=b"x")["KeyId"])
        self.assertEqual(256, len("alias/" + "x" * 250))
        self.assertClientError("ValidationException", kms.create_alias, AliasName="alias/" + "x" * 251,
                               TargetKeyId=key)

    def test_per_key_alias_limit(self):
        kms = self.server.client("sa-east-1")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        names = [f"alias/limit-{i:02d}" for i in range(50)]
        for n in names:
            kms.create_alias(AliasName=n, TargetKeyId=key)
        self.assertClientError("LimitExceededException", kms.create_alias,
                               AliasName="alias/limit-50", TargetKeyId=key)
        self.assertEqual(set(names), set(self.aliases(kms, KeyId=key)))
        # After deleting one there is room again.
        kms.delete_alias(AliasName=names[0])
        kms.create_alias(AliasName="alias/limit-50", TargetKeyId=key)

    def test_list_aliases_paging(self):
        region = "eu-west-3"
        kms = self.server.client(region)
        a = kms.create_key()["KeyMetadata"]
        b = kms.create_key()["KeyMetadata"]
        want_a = {f"alias/page-a-{i:02d}" for i in range(40)}
        want_b = {f"alias/page-b-{i:02d}" for i in range(17)}
        for n in sorted(want_a):
            kms.create_alias(AliasName=n, TargetKeyId=a["KeyId"])
        for n in sorted(want_b):
            kms.create_alias(AliasName=n, TargetKeyId=b["Arn"])
        everything = want_a | want_b
        for limit in (1, 10, 56, 57, 100):
            with self.subTest(limit=limit):
                got = list_all(kms.list_aliases, "Aliases", max_page=limit, test=self, Limit=limit)
                names = [x["AliasName"] for x in got]
                self.assertEqual(len(names), len(set(names)), "duplicates across pages")
                self.assertEqual(everything, set(names))
                for x in got:
                    self.assertEqual(alias_arn(x["AliasName"], region), x["AliasArn"])
                    want_target = a["KeyId"] if x["AliasName"] in want_a else b["KeyId"]
                    self.assertEqual(want_target, x["TargetKeyId"])
                    self.assertIn("CreationDate", x)
                    self.assertIn("LastUpdatedDate", x)
        # Default page size 50: 57 aliases need at least two pages.
        first = kms.list_aliases()
        self.assertLessEqual(len(first["Aliases"]), 50)
        self.assertTrue(first["Truncated"])
        got = list_all(kms.list_aliases, "Aliases", max_page=50, test=self)
        self.assertEqual(everything, {x["AliasName"] for x in got})
        # KeyId filter, by id and ARN, with paging.
        for ref, want in ((a["KeyId"], want_a), (a["Arn"], want_a), (b["KeyId"], want_b)):
            with self.subTest(filter=ref):
                got = list_all(kms.list_aliases, "Aliases", max_page=7, test=self, KeyId=ref, Limit=7)
                names = [x["AliasName"] for x in got]
                self.assertEqual(len(names), len(set(names)))
                self.assertEqual(want, set(names))
        self.assertClientError("InvalidMarkerException", kms.list_aliases, Marker="bogus-marker")

    def test_per_region_separation(self):
        east, west = self.server.client("us-west-2"), self.server.client("eu-central-1")
        ke = east.create_key(Description="east")["KeyMetadata"]
        kw = west.create_key(Description="west")["KeyMetadata"]
        name = unique("alias/shared")
        east.create_alias(AliasName=name, TargetKeyId=ke["KeyId"])
        # The same name in another region is another alias.
        west.create_alias(AliasName=name, TargetKeyId=kw["KeyId"])
        self.assertEqual(ke["KeyId"], east.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        self.assertEqual(kw["KeyId"], west.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        self.assertEqual(ke["Arn"], east.encrypt(KeyId=name, Plaintext=b"e")["KeyId"])
        self.assertEqual(kw["Arn"], west.encrypt(KeyId=name, Plaintext=b"w")["KeyId"])
        e_list = self.aliases(east)
        w_list = self.aliases(west)
        self.assertEqual(alias_arn(name, "us-west-2"), e_list[name]["AliasArn"])
        self.assertEqual(alias_arn(name, "eu-central-1"), w_list[name]["AliasArn"])
        # An alias cannot point at a key of another region.
        only_east = unique("alias/east-only")
        self.assertClientError("NotFoundException", west.create_alias, AliasName=only_east,
                               TargetKeyId=ke["KeyId"])
        east.create_alias(AliasName=only_east, TargetKeyId=ke["KeyId"])
        self.assertClientError("NotFoundException", west.describe_key, KeyId=only_east)
        self.assertNotIn(only_east, self.aliases(west))
        self.assertClientError("NotFoundException", west.update_alias, AliasName=name,
                               TargetKeyId=ke["KeyId"])
        # Deleting in one region leaves the other.
        west.delete_alias(AliasName=name)
        self.assertClientError("NotFoundException", west.describe_key, KeyId=name)
        self.assertEqual(ke["KeyId"], east.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        self.assertClientError("NotFoundException", west.delete_alias, AliasName=only_east)
        self.assertIn(only_east, self.aliases(east))


# --------------------------------------------------------------------------------------
# Rotation (no clock needed)
# --------------------------------------------------------------------------------------

class RotationTest(LifecycleAssertions, ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="lifecycle-rotation")

    def setUp(self):
        super().setUp()
        self.kms = self.server.client()

    def material(self, key: str) -> str:
        m = self.kms.describe_key(KeyId=key)["KeyMetadata"].get("CurrentKeyMaterialId", "")
        self.assertRegex(m, HEX64_RE)
        return m

    def test_rotation_settings(self):
        kms = self.kms
        md = kms.create_key()["KeyMetadata"]
        key, arn = md["KeyId"], md["Arn"]
        status = kms.get_key_rotation_status(KeyId=key)
        self.assertFalse(status["KeyRotationEnabled"])
        self.assertEqual(arn, status["KeyId"])
        self.assertNotIn("NextRotationDate", status)

        before = utcnow()
        kms.enable_key_rotation(KeyId=key)                       # default period: 365 days
        status = kms.get_key_rotation_status(KeyId=key)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(365, status["RotationPeriodInDays"])
        self.assertNear(before + datetime.timedelta(days=365), status["NextRotationDate"],
                        msg="first rotation one period after enabling")
        for days in (90, 2560, 180):
            kms.enable_key_rotation(KeyId=arn, RotationPeriodInDays=days)
            status = kms.get_key_rotation_status(KeyId=arn)
            self.assertEqual(days, status["RotationPeriodInDays"])
            self.assertNear(utcnow() + datetime.timedelta(days=days), status["NextRotationDate"],
                            msg=f"period {days}")
        for days in (2561, 10000):
            with self.subTest(days=days):
                self.assertClientError("ValidationException", kms.enable_key_rotation,
                                       KeyId=key, RotationPeriodInDays=days)
        # botocore refuses values under 90 itself; a raw request reaches the server.
        for days in (0, 1, 89):
            with self.subTest(days=days):
                r = signed_request(self.server, "EnableKeyRotation",
                                   {"KeyId": key, "RotationPeriodInDays": days})
                self.assertRawError(r, "ValidationException")
        self.assertEqual(180, kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"])
        kms.disable_key_rotation(KeyId=key)
        status = kms.get_key_rotation_status(KeyId=key)
        self.assertFalse(status["KeyRotationEnabled"])
        self.assertNotIn("NextRotationDate", status)
        kms.disable_key_rotation(KeyId=key)                      # idempotent
        # No rotation happened through any of that.
        self.assertEqual(md["CurrentKeyMaterialId"], self.material(key))
        self.assertEqual([], kms.list_key_rotations(KeyId=key)["Rotations"])

    def test_on_demand_rotation_old_and_new_ciphertexts(self):
        kms = self.kms
        md = kms.create_key()["KeyMetadata"]
        key, arn = md["KeyId"], md["Arn"]
        alias = unique("alias/rot")
        kms.create_alias(AliasName=alias, TargetKeyId=key)
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=200)
        schedule = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
        m0 = self.material(key)
        ct0 = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
        dk0 = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
        self.assertEqual(m0, dk0["KeyMaterialId"])

        resp = kms.rotate_key_on_demand(KeyId=key)
        self.assertTrue(resp["KeyId"] in (key, arn), resp)
        m1 = self.material(key)
        self.assertNotEqual(m0, m1)
        ct1 = kms.encrypt(KeyId=alias, Plaintext=b"after")["CiphertextBlob"]
        self.assertEqual(m1, kms.generate_data_key(KeyId=key, NumberOfBytes=8)["KeyMaterialId"])

        d0 = kms.decrypt(CiphertextBlob=ct0)
        self.assertEqual((b"before", arn, m0), (d0["Plaintext"], d0["KeyId"], d0["KeyMaterialId"]))
        d1 = kms.decrypt(CiphertextBlob=ct1)
        self.assertEqual((b"after", arn, m1), (d1["Plaintext"], d1["KeyId"], d1["KeyMaterialId"]))
        dk = kms.decrypt(CiphertextBlob=dk0["CiphertextBlob"])
        self.assertEqual(dk0["Plaintext"], dk["Plaintext"])
        self.assertEqual(m0, dk["KeyMaterialId"])
        # ReEncrypt moves an old ciphertext onto the new material.
        re = kms.re_encrypt(CiphertextBlob=ct0, DestinationKeyId=key)
        self.assertEqual(m0, re["SourceKeyMaterialId"])
        self.assertEqual(m1, re["DestinationKeyMaterialId"])
        self.assertEqual(m1, kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["KeyMaterialId"])

        # The automatic schedule is unchanged by an on-demand rotation.
        status = kms.get_key_rotation_status(KeyId=key)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(schedule, status["NextRotationDate"])

        rotations = kms.list_key_rotations(KeyId=key)
        self.assertFalse(rotations["Truncated"])
        self.assertEqual(1, len(rotations["Rotations"]), rotations)
        r = rotations["Rotations"][0]
        self.assertEqual((key, m1, "ON_DEMAND", "CURRENT"),
                         (r["KeyId"], r["KeyMaterialId"], r["RotationType"], r["KeyMaterialState"]))
        self.assertNear(utcnow(), r["RotationDate"], msg="RotationDate")
        everything = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        states = {x["KeyMaterialId"]: x["KeyMaterialState"] for x in everything}
        self.assertEqual({m0: "NON_CURRENT", m1: "CURRENT"}, states)

        # Rotating a key never used with rotation enabled works too (independent of the setting).
        plain = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.rotate_key_on_demand(KeyId=plain)
        self.assertFalse(kms.get_key_rotation_status(KeyId=plain)["KeyRotationEnabled"])
        self.assertEqual(1, len(kms.list_key_rotations(KeyId=plain)["Rotations"]))

    def test_on_demand_rotation_limit(self):
        kms = self.kms
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        cts = {self.material(key): kms.encrypt(KeyId=key, Plaintext=b"m0")["CiphertextBlob"]}
        for i in range(25):
            kms.rotate_key_on_demand(KeyId=key)
            m = self.material(key)
            self.assertNotIn(m, cts, f"rotation {i + 1} reused material")
            cts[m] = kms.encrypt(KeyId=key, Plaintext=f"m{i + 1}".encode())["CiphertextBlob"]
        before = self.material(key)
        e = self.assertClientError("LimitExceededException", kms.rotate_key_on_demand, KeyId=key)
        self.assertTrue(e.response["Error"].get("Message"))
        self.assertEqual(before, self.material(key), "the refused rotation changed the material")
        # Every version still decrypts, each with its own material id.
        for i, (m, ct) in enumerate(cts.items()):
            d = kms.decrypt(CiphertextBlob=ct)
            self.assertEqual((f"m{i}".encode(), m), (d["Plaintext"], d["KeyMaterialId"]))
        # ListKeyRotations paging: 25 ON_DEMAND entries, none twice, none missing.
        for limit in (1, 4, 25, 100):
            with self.subTest(limit=limit):
                got = list_all(kms.list_key_rotations, "Rotations", max_page=limit, test=self,
                               KeyId=key, Limit=limit)
                ids = [r["KeyMaterialId"] for r in got]
                self.assertEqual(len(ids), len(set(ids)))
                self.assertEqual(set(cts) - {list(cts)[0]}, set(ids))
                self.assertEqual({"ON_DEMAND"}, {r["RotationType"] for r in got})
        got = list_all(kms.list_key_rotations, "Rotations", test=self, KeyId=key, Limit=7,
                       IncludeKeyMaterial="ALL_KEY_MATERIAL")
        self.assertEqual(set(cts), {r["KeyMaterialId"] for r in got})
        self.assertEqual([before], [r["KeyMaterialId"] for r in got if r["KeyMaterialState"] == "CURRENT"])
        # The limit is per key.
        other = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.rotate_key_on_demand(KeyId=other)


# --------------------------------------------------------------------------------------
# Time passing: --testing-clock-file
# --------------------------------------------------------------------------------------

class ClockTest(LifecycleAssertions, ScytaleTestCase):
    def test_scheduled_deletion_is_carried_out(self):
        server, clock = start_clocked_server(self, "lifecycle-deletion")
        kms = server.client()
        west = server.client("eu-west-1")

        def new_key(description, client=kms):
            md = client.create_key(Description=description)["KeyMetadata"]
            ct = client.encrypt(KeyId=md["KeyId"], Plaintext=description.encode())["CiphertextBlob"]
            return md, ct

        gone, gone_ct = new_key("7 days")
        later, later_ct = new_key("30 days")
        kept, kept_ct = new_key("cancelled")
        live, live_ct = new_key("never scheduled")
        w_gone, w_ct = new_key("west 7 days", west)
        aliases = [unique("alias/gone"), unique("alias/gone")]
        for a in aliases:
            kms.create_alias(AliasName=a, TargetKeyId=gone["KeyId"])
        kms.create_alias(AliasName="alias/survivor", TargetKeyId=live["KeyId"])
        kms.tag_resource(KeyId=gone["KeyId"], Tags=[{"TagKey": "a", "TagValue": "b"}])

        now = utcnow()
        r7 = kms.schedule_key_deletion(KeyId=gone["KeyId"], PendingWindowInDays=7)
        self.assertNear(now + datetime.timedelta(days=7), r7["DeletionDate"], msg="7-day window")
        kms.schedule_key_deletion(KeyId=later["KeyId"], PendingWindowInDays=30)
        kms.schedule_key_deletion(KeyId=kept["KeyId"], PendingWindowInDays=7)
        west.schedule_key_deletion(KeyId=w_gone["KeyId"], PendingWindowInDays=7)
        kms.cancel_key_deletion(KeyId=kept["KeyId"])

        # Six days later nothing is gone yet.
        set_clock(clock, 6 * DAY)
        time.sleep(1.6)   # clock re-read (200 ms) + at least one maintenance pass (1 s)
        self.assertEqual("PendingDeletion", self.state_of(kms, gone["KeyId"]))

        set_clock(clock, 8 * DAY)
        missing = wait_until(lambda: error_of(lambda: kms.describe_key(KeyId=gone["KeyId"]))
                             == "NotFoundException", timeout=10)
        if not missing:
            self.fail("the 7-day key still exists 8 days later (clock file: 8 days)\n"
                      + str(kms.describe_key(KeyId=gone["KeyId"])["KeyMetadata"]))
        self.assertTrue(wait_until(lambda: error_of(lambda: west.describe_key(KeyId=w_gone["KeyId"]))
                                   == "NotFoundException", timeout=5), "eu-west-1 key not deleted")

        # The key is gone for every operation, its aliases with it, its ciphertexts are dead.
        gid = gone["KeyId"]
        self.assertClientError("NotFoundException", kms.describe_key, KeyId=gid)
        self.assertClientError("NotFoundException", kms.describe_key, KeyId=gone["Arn"])
        self.assertClientError("NotFoundException", kms.encrypt, KeyId=gid, Plaintext=b"x")
        self.assertClientError("NotFoundException", kms.enable_key, KeyId=gid)
        self.assertClientError("NotFoundException", kms.cancel_key_deletion, KeyId=gid)
        self.assertClientError("NotFoundException", kms.list_resource_tags, KeyId=gid)
        self.assertClientError("NotFoundException", kms.schedule_key_deletion, KeyId=gid,
                               PendingWindowInDays=7)
        self.assertClientError("AccessDeniedException", kms.decrypt, CiphertextBlob=gone_ct)
        self.assertClientError("AccessDeniedException", west.decrypt, CiphertextBlob=w_ct)
        self.assertClientError("AccessDeniedException", kms.re_encrypt, CiphertextBlob=gone_ct,
                               DestinationKeyId=live["KeyId"])
        listed = {a["AliasName"]: a.get("TargetKeyId") for a in
                  list_all(kms.list_aliases, "Aliases", test=self)}
        for a in aliases:
            self.assertNotIn(a, listed)
            self.assertClientError("NotFoundException", kms.describe_key, KeyId=a)
            self.assertClientError("NotFoundException", kms.encrypt, KeyId=a, Plaintext=b"x")
        self.assertEqual(live["KeyId"], listed.get("alias/survivor"))
        self.assertNotIn(gid, {k["KeyId"] for k in list_all_keys(kms)})
        self.assertNotIn(w_gone["KeyId"], {k["KeyId"] for k in list_all_keys(west)})
        # The alias names are free again.
        kms.create_alias(AliasName=aliases[0], TargetKeyId=live["KeyId"])
        self.assertEqual(live["Arn"], kms.encrypt(KeyId=aliases[0], Plaintext=b"x")["KeyId"])

        # The others are untouched: the 30-day key waits, the cancelled one stays Disabled.
        self.assertEqual("PendingDeletion", self.state_of(kms, later["KeyId"]))
        self.assertEqual("Disabled", self.state_of(kms, kept["KeyId"]))
        kms.enable_key(KeyId=kept["KeyId"])
        self.assertEqual(b"cancelled", kms.decrypt(CiphertextBlob=kept_ct)["Plaintext"])
        self.assertEqual(b"never scheduled", kms.decrypt(CiphertextBlob=live_ct)["Plaintext"])

        # A key scheduled now (with the clock 8 days ahead) gets its date from that clock.
        extra, _ = new_key("scheduled late")
        r = kms.schedule_key_deletion(KeyId=extra["KeyId"], PendingWindowInDays=7)
        self.assertNear(utcnow() + datetime.timedelta(days=15), r["DeletionDate"], msg="shifted clock")

        set_clock(clock, 31 * DAY)
        self.assertTrue(wait_until(lambda: error_of(lambda: kms.describe_key(KeyId=later["KeyId"]))
                                   == "NotFoundException", timeout=10),
                        "the 30-day key still exists 31 days later")
        self.assertClientError("NotFoundException", kms.describe_key, KeyId=extra["KeyId"])
        self.assertClientError("AccessDeniedException", kms.decrypt, CiphertextBlob=later_ct)
        self.assertEqual("Enabled", self.state_of(kms, kept["KeyId"]))
        self.assertEqual("Enabled", self.state_of(kms, live["KeyId"]))
        self.assertEqual({kept["KeyId"], live["KeyId"]}, {k["KeyId"] for k in list_all_keys(kms)})
        self.assertTrue(any(re.search(r"maintenance: \d+ keys deleted", line)
                            for line in server.stdout_lines), server.stdout_lines)
        self.assertServerHealthy(server)
        server.stop()

    def test_automatic_rotation(self):
        server, clock = start_clocked_server(self, "lifecycle-autorotation")
        kms = server.client()

        def new_key(description, period=None):
            md = kms.create_key(Description=description)["KeyMetadata"]
            if period:
                kms.enable_key_rotation(KeyId=md["KeyId"], RotationPeriodInDays=period)
            ct = kms.encrypt(KeyId=md["KeyId"], Plaintext=description.encode())["CiphertextBlob"]
            return md["KeyId"], md["CurrentKeyMaterialId"], ct

        def material(key):
            return kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]

        def automatic(key):
            return [r for r in list_all(kms.list_key_rotations, "Rotations", test=self, KeyId=key)
                    if r.get("RotationType") == "AUTOMATIC"]

        r90, r90_m0, r90_ct0 = new_key("rotates every 90 days", 90)
        r365, r365_m0, r365_ct = new_key("rotates every 365 days", 365)
        off, off_m0, off_ct = new_key("rotation off")
        dis, dis_m0, dis_ct = new_key("disabled, 90 days", 90)
        kms.disable_key(KeyId=dis)
        first_due = kms.get_key_rotation_status(KeyId=r90)["NextRotationDate"]

        set_clock(clock, 91 * DAY)
        rotated = wait_until(lambda: material(r90) != r90_m0, timeout=10)
        self.assertTrue(rotated, "no automatic rotation 91 days after enabling a 90-day period")
        r90_m1 = material(r90)
        self.assertRegex(r90_m1, HEX64_RE)
        time.sleep(1.6)   # more maintenance passes: no second rotation for the same period
        auto = automatic(r90)
        self.assertEqual([r90_m1], [r["KeyMaterialId"] for r in auto], auto)
        self.assertEqual("CURRENT", auto[0]["KeyMaterialState"])
        self.assertNear(utcnow() + datetime.timedelta(days=91), auto[0]["RotationDate"], slack=300,
                        msg="RotationDate follows the key clock")
        status = kms.get_key_rotation_status(KeyId=r90)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(90, status["RotationPeriodInDays"])
        self.assertNear(utcnow() + datetime.timedelta(days=91 + 90), status["NextRotationDate"],
                        slack=300, msg="NextRotationDate moved one period on")
        self.assertGreater(status["NextRotationDate"], first_due)

        # Old ciphertexts decrypt with the old material, new ones use the new material.
        d = kms.decrypt(CiphertextBlob=r90_ct0)
        self.assertEqual((b"rotates every 90 days", r90_m0), (d["Plaintext"], d["KeyMaterialId"]))
        ct1 = kms.encrypt(KeyId=r90, Plaintext=b"new")["CiphertextBlob"]
        self.assertEqual(r90_m1, kms.decrypt(CiphertextBlob=ct1)["KeyMaterialId"])
        re1 = kms.re_encrypt(CiphertextBlob=r90_ct0, DestinationKeyId=r90)
        self.assertEqual((r90_m0, r90_m1), (re1["SourceKeyMaterialId"], re1["DestinationKeyMaterialId"]))

        # Not due / not enabled: unchanged. Disabled: waits, and rotates once enabled again.
        self.assertEqual(r365_m0, material(r365))
        self.assertEqual(off_m0, material(off))
        self.assertEqual(dis_m0, material(dis), "a disabled key was rotated")
        self.assertEqual([], automatic(dis))
        kms.enable_key(KeyId=dis)
        self.assertTrue(wait_until(lambda: material(dis) != dis_m0, timeout=10),
                        "an overdue rotation did not happen after EnableKey")
        self.assertEqual(1, len(automatic(dis)))
        self.assertEqual(b"disabled, 90 days", kms.decrypt(CiphertextBlob=dis_ct)["Plaintext"])

        # On-demand rotations are listed next to automatic ones.
        kms.rotate_key_on_demand(KeyId=r90)
        r90_m2 = material(r90)

        # Another period on: exactly one more automatic rotation for the 90-day key.
        set_clock(clock, 200 * DAY)
        self.assertTrue(wait_until(lambda: len(automatic(r90)) >= 2, timeout=10),
                        "no second automatic rotation")
        time.sleep(1.5)
        rows = list_all(kms.list_key_rotations, "Rotations", test=self, KeyId=r90)
        self.assertEqual(["AUTOMATIC", "ON_DEMAND", "AUTOMATIC"], [r["RotationType"] for r in rows], rows)
        self.assertEqual([r90_m1, r90_m2], [r["KeyMaterialId"] for r in rows[:2]])
        self.assertEqual(["NON_CURRENT", "NON_CURRENT", "CURRENT"], [r["KeyMaterialState"] for r in rows])
        for ct, m in ((r90_ct0, r90_m0), (ct1, r90_m1)):
            self.assertEqual(m, kms.decrypt(CiphertextBlob=ct)["KeyMaterialId"])
        self.assertEqual(r365_m0, material(r365))
        self.assertEqual(b"rotates every 365 days", kms.decrypt(CiphertextBlob=r365_ct)["Plaintext"])
        self.assertEqual(b"rotation off", kms.decrypt(CiphertextBlob=off_ct)["Plaintext"])
        self.assertTrue(any(re.search(r"maintenance: \d+ keys deleted, \d+ keys rotated", line)
                            for line in server.stdout_lines), server.stdout_lines)
        server.stop()


# --------------------------------------------------------------------------------------
# AWS CLI v1 and v2
# --------------------------------------------------------------------------------------

class CliLifecycleMixin(AwsCliMixin, LifecycleAssertions):
    has_new_rotation_ops = False    # rotate-key-on-demand, list-key-rotations, --rotation-period-in-days

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name=f"lifecycle-cli-v{cls.expect_major}")

    def parallel(self, *calls):
        """Runs independent CLI invocations at the same time (each takes ~0.6 s to start)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return [f.result() for f in [pool.submit(c) for c in calls]]

    def test_aliases(self):
        kms = self.server.client()
        k1 = kms.create_key()["KeyMetadata"]
        k2 = kms.create_key()["KeyMetadata"]
        name = unique(f"alias/cli{self.expect_major}")
        r = self.run_ok("create-alias", "--alias-name", name, "--target-key-id", k1["KeyId"])
        self.assertEqual("", r.stdout.strip())
        self.assertEqual(k1["KeyId"], kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        listed, dup = self.parallel(
            lambda: self.ok("list-aliases", "--key-id", k1["KeyId"]),
            lambda: self.err("AlreadyExistsException", "create-alias", "--alias-name", name,
                             "--target-key-id", k2["KeyId"]))
        self.assertEqual(1, len(listed["Aliases"]), listed)
        entry = listed["Aliases"][0]
        self.assertEqual((name, alias_arn(name), k1["KeyId"]),
                         (entry["AliasName"], entry["AliasArn"], entry["TargetKeyId"]))
        self.assertIn("CreationDate", entry)
        self.assertIn("LastUpdatedDate", entry)

        r = self.run_ok("update-alias", "--alias-name", name, "--target-key-id", k2["Arn"])
        self.assertEqual("", r.stdout.strip())
        self.assertEqual(k2["KeyId"], kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"])
        # --page-size makes the CLI follow the markers itself: one merged list of every alias.
        for i in range(4):
            kms.create_alias(AliasName=f"{name}-{i}", TargetKeyId=k2["KeyId"])
        merged = self.ok("list-aliases", "--key-id", k2["KeyId"], "--page-size", "2")
        names = [a["AliasName"] for a in merged["Aliases"]]
        self.assertEqual(len(names), len(set(names)), names)
        self.assertEqual({name} | {f"{name}-{i}" for i in range(4)}, set(names))
        self.assertNotIn("NextMarker", merged)

        r = self.run_ok("delete-alias", "--alias-name", name)
        self.assertEqual("", r.stdout.strip())
        self.assertNotIn(name, [a["AliasName"] for a in kms.list_aliases(KeyId=k2["KeyId"])["Aliases"]])
        self.err("NotFoundException", "describe-key", "--key-id", name)

    def test_enable_disable_and_deletion(self):
        kms = self.server.client()
        md = kms.create_key()["KeyMetadata"]
        key, arn = md["KeyId"], md["Arn"]
        r = self.run_ok("disable-key", "--key-id", key)
        self.assertEqual("", r.stdout.strip())
        self.assertEqual("Disabled", self.state_of(kms, key))
        self.run_ok("enable-key", "--key-id", arn)
        self.assertEqual("Enabled", self.state_of(kms, key))

        out = self.ok("schedule-key-deletion", "--key-id", key, "--pending-window-in-days", "7")
        self.assertEqual(arn, out["KeyId"])
        self.assertEqual("PendingDeletion", out["KeyState"])
        self.assertEqual(7, out["PendingWindowInDays"])
        self.assertIn("DeletionDate", out)
        self.assertEqual("PendingDeletion", self.state_of(kms, key))
        e = self.err("KMSInvalidStateException", "enable-key", "--key-id", key)
        self.assertEqual(f"{arn} is pending deletion.", e.error_message)
        out = self.ok("cancel-key-deletion", "--key-id", key)
        self.assertEqual({"KeyId": arn}, out)
        md = kms.describe_key(KeyId=key)["KeyMetadata"]
        self.assertEqual("Disabled", md["KeyState"])
        self.assertNotIn("DeletionDate", md)

    def test_rotation_and_tags(self):
        kms = self.server.client()
        md = kms.create_key()["KeyMetadata"]
        key, arn = md["KeyId"], md["Arn"]
        rotation = ["enable-key-rotation", "--key-id", key]
        if self.has_new_rotation_ops:
            rotation += ["--rotation-period-in-days", "90"]
        tagging = ["tag-resource", "--key-id", key, "--tags", "TagKey=team,TagValue=crypto"]
        self.parallel(lambda: self.run_ok(*rotation), lambda: self.run_ok(*tagging))
        status, tags = self.parallel(
            lambda: self.ok("get-key-rotation-status", "--key-id", key),
            lambda: self.ok("list-resource-tags", "--key-id", key))
        self.assertTrue(status["KeyRotationEnabled"], status)
        self.assertEqual(90 if self.has_new_rotation_ops else 365,
                         kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"])
        self.assertEqual([{"TagKey": "team", "TagValue": "crypto"}], tags["Tags"])
        if self.has_new_rotation_ops:
            self.assertEqual(90, status["RotationPeriodInDays"])
            out = self.ok("rotate-key-on-demand", "--key-id", key)
            self.assertTrue(out["KeyId"] in (key, arn), out)
            rot = self.ok("list-key-rotations", "--key-id", key)
            self.assertEqual(1, len(rot["Rotations"]), rot)
            self.assertEqual("ON_DEMAND", rot["Rotations"][0]["RotationType"])
            self.assertNotEqual(md["CurrentKeyMaterialId"], rot["Rotations"][0]["KeyMaterialId"])
            self.assertEqual(rot["Rotations"][0]["KeyMaterialId"],
                             kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"])


class CliV1LifecycleTest(CliLifecycleMixin, ScytaleTestCase):
    expect_major = "1"
    has_new_rotation_ops = True


class CliV2LifecycleTest(CliLifecycleMixin, ScytaleTestCase):
    expect_major = "2"
    has_new_rotation_ops = False    # Debian's CLI v2 2.9 knows 50 operations


if __name__ == "__main__":
    unittest.main()
