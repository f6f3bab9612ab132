"""`scytale serve --seed FILE`: keys with fixed ids (and optionally fixed key material), their
descriptions, tags and aliases, created at start where absent.

- Starting twice on the same data directory with the same seed file: the same ids, no
  duplicates, aliases resolve, changes made through the API survive, a ciphertext made in the
  first run decrypts in the second. The `seed: N keys created, M already present, A aliases
  created` line reports each run.
- With KeyMaterial given, a ciphertext made on one data directory decrypts on a fresh one seeded
  with the same file (fixed material across CI runs); without it, it does not.
- Region: per key, else the first of --regions, else us-east-1.
- A malformed seed file makes `serve` exit with a non-zero code and a message naming the
  problem, before it listens.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import unittest
from typing import Any, Optional

import botocore.exceptions

import harness
from harness import DEFAULT_ACCOUNT, ScytaleServer, ScytaleTestCase, list_all_keys

SEED_LINE_RE = re.compile(r"^seed: (\d+) keys created, (\d+) already present, (\d+) aliases created$")

# Fixed ids and material: what a CI pipeline would keep in its repository.
K_APP = "5f0c7b0e-3c1d-4e7a-9b52-0a1f6c2d9e01"
K_WEST = "6a1d8c1f-4d2e-4f8b-8c63-1b2a7d3e0f12"
K_UPPER = "7B2E9D20-5E3F-4A9C-9D74-2C3B8E4F1A23"      # given in upper case
K_FIXED = "8c3fae31-6f40-4bad-8e85-3d4c9f502b34"
FIXED_MATERIAL = bytes(range(32))
OTHER_MATERIAL = bytes(range(100, 132))


def error_of(fn) -> Optional[str]:
    """The AWS error code fn() raises, or None if it succeeds."""
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return harness.error_code(e)
    return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_arn(key_id: str, region: str = "us-east-1") -> str:
    return f"arn:aws:kms:{region}:{DEFAULT_ACCOUNT}:key/{key_id}"


def seed_doc() -> dict:
    return {"keys": [
        {"KeyId": K_APP, "Description": "application key",
         "Tags": [{"TagKey": "team", "TagValue": "payments"}, {"TagKey": "env", "TagValue": "ci"}],
         "Aliases": ["alias/seed/app", "alias/seed-app-2"]},
        {"KeyId": K_WEST, "Region": "eu-west-1", "Description": "west key",
         "Aliases": ["alias/seed/app"]},      # the same alias name, another region
        {"KeyId": K_UPPER, "Description": "upper-case id in the file"},
        {"KeyId": K_FIXED, "Description": "fixed material", "KeyMaterial": b64(FIXED_MATERIAL),
         "Aliases": ["alias/seed/fixed"]},
    ]}


class SeedTestBase(ScytaleTestCase):
    def write_seed(self, doc: Any, name: str = "seed.json") -> str:
        d = tempfile.mkdtemp(prefix="scytale-e2e-seedfile-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
        return path

    def seed_server(self, seed_path: str, *, data_dir: Optional[str] = None, name: str = "seed",
                    extra: tuple = (), start: bool = True) -> ScytaleServer:
        return self.start_server(start=start, name=name, data_dir=data_dir,
                                 args=["--seed", seed_path, *extra])

    def seed_counts(self, server: ScytaleServer) -> tuple[int, int, int]:
        lines = [ln for ln in server.stdout_lines if ln.startswith("seed:")]
        self.assertEqual(1, len(lines), f"expected one 'seed:' line, stdout: {server.stdout_lines}")
        m = SEED_LINE_RE.match(lines[0])
        self.assertIsNotNone(m, f"malformed seed line: {lines[0]!r}")
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    def aliases(self, kms) -> dict[str, str]:
        out, marker = {}, None
        while True:
            page = kms.list_aliases(**({"Marker": marker} if marker else {}))
            for a in page["Aliases"]:
                self.assertNotIn(a["AliasName"], out, "alias listed twice")
                out[a["AliasName"]] = a.get("TargetKeyId")
            if not page.get("Truncated"):
                return out
            marker = page["NextMarker"]


class SeedRestartTest(SeedTestBase):
    def test_same_seed_twice_on_the_same_data_dir(self):
        path = self.write_seed(seed_doc())
        server = self.seed_server(path, name="seed-twice")
        self.assertEqual((4, 0, 4), self.seed_counts(server))
        east, west = server.client("us-east-1"), server.client("eu-west-1")
        upper = K_UPPER.lower()

        # What the file says, where it says.
        md = east.describe_key(KeyId=K_APP)["KeyMetadata"]
        self.assertEqual((K_APP, key_arn(K_APP), "application key", "Enabled"),
                         (md["KeyId"], md["Arn"], md["Description"], md["KeyState"]))
        self.assertEqual("SYMMETRIC_DEFAULT", md["KeySpec"])
        self.assertEqual({"team": "payments", "env": "ci"},
                         {t["TagKey"]: t["TagValue"] for t in east.list_resource_tags(KeyId=K_APP)["Tags"]})
        self.assertEqual(key_arn(K_WEST, "eu-west-1"), west.describe_key(KeyId=K_WEST)["KeyMetadata"]["Arn"])
        self.assertClientError("NotFoundException", east.describe_key, KeyId=K_WEST)
        self.assertClientError("NotFoundException", west.describe_key, KeyId=K_APP)
        self.assertEqual(upper, east.describe_key(KeyId=upper)["KeyMetadata"]["KeyId"])
        self.assertEqual({"alias/seed/app": K_APP, "alias/seed-app-2": K_APP,
                          "alias/seed/fixed": K_FIXED}, self.aliases(east))
        self.assertEqual({"alias/seed/app": K_WEST}, self.aliases(west))
        east_ids = {k["KeyId"] for k in list_all_keys(east)}
        self.assertEqual({K_APP, upper, K_FIXED}, east_ids)
        self.assertEqual({K_WEST}, {k["KeyId"] for k in list_all_keys(west)})

        # Use the keys through their aliases; change a few things through the API.
        ct_app = east.encrypt(KeyId="alias/seed/app", Plaintext=b"first run")["CiphertextBlob"]
        ct_west = west.encrypt(KeyId="alias/seed/app", Plaintext=b"first run west")["CiphertextBlob"]
        ct_upper = east.encrypt(KeyId=upper, Plaintext=b"upper")["CiphertextBlob"]
        dk = east.generate_data_key(KeyId="alias/seed-app-2", KeySpec="AES_256")
        extra = east.create_key(Description="made through the API")["KeyMetadata"]["KeyId"]
        east.update_key_description(KeyId=K_APP, Description="changed by a user")
        east.tag_resource(KeyId=K_APP, Tags=[{"TagKey": "env", "TagValue": "changed"}])
        east.update_alias(AliasName="alias/seed-app-2", TargetKeyId=extra)
        east.disable_key(KeyId=upper)
        east.rotate_key_on_demand(KeyId=K_APP)
        ct_app_rotated = east.encrypt(KeyId=K_APP, Plaintext=b"after rotation")["CiphertextBlob"]
        server.stop()

        # Second start: nothing created, nothing duplicated, nothing reset.
        server.start()
        self.assertEqual((0, 4, 0), self.seed_counts(server))
        east, west = server.client("us-east-1"), server.client("eu-west-1")
        listed = [k["KeyId"] for k in list_all_keys(east)]
        self.assertEqual(len(listed), len(set(listed)), f"duplicate keys: {listed}")
        self.assertEqual({K_APP, upper, K_FIXED, extra}, set(listed))
        self.assertEqual([K_WEST], [k["KeyId"] for k in list_all_keys(west)])
        self.assertEqual({"alias/seed/app": K_APP, "alias/seed-app-2": extra,
                          "alias/seed/fixed": K_FIXED}, self.aliases(east))
        self.assertEqual({"alias/seed/app": K_WEST}, self.aliases(west))
        md = east.describe_key(KeyId="alias/seed/app")["KeyMetadata"]
        self.assertEqual((K_APP, "changed by a user"), (md["KeyId"], md["Description"]))
        self.assertEqual({"team": "payments", "env": "changed"},
                         {t["TagKey"]: t["TagValue"] for t in east.list_resource_tags(KeyId=K_APP)["Tags"]})
        self.assertEqual("Disabled", east.describe_key(KeyId=upper)["KeyMetadata"]["KeyState"])

        # First-run ciphertexts decrypt in the second run.
        self.assertEqual(b"first run", east.decrypt(CiphertextBlob=ct_app)["Plaintext"])
        self.assertEqual(b"after rotation", east.decrypt(CiphertextBlob=ct_app_rotated)["Plaintext"])
        self.assertEqual(b"first run west", west.decrypt(CiphertextBlob=ct_west)["Plaintext"])
        self.assertEqual(dk["Plaintext"], east.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"])
        east.enable_key(KeyId=upper)
        self.assertEqual(b"upper", east.decrypt(CiphertextBlob=ct_upper)["Plaintext"])
        server.stop()

    def test_seed_added_to_an_existing_data_dir(self):
        """Keys added to the file later are created on the next start; the others stay."""
        first = {"keys": [{"KeyId": K_APP, "Aliases": ["alias/one"]}]}
        path = self.write_seed(first)
        server = self.seed_server(path, name="seed-grow")
        self.assertEqual((1, 0, 1), self.seed_counts(server))
        ct = server.client().encrypt(KeyId="alias/one", Plaintext=b"v1")["CiphertextBlob"]
        server.stop()
        grown = {"keys": [{"KeyId": K_APP, "Aliases": ["alias/one", "alias/two"]},
                          {"KeyId": K_FIXED, "KeyMaterial": b64(FIXED_MATERIAL)}]}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(grown, f)
        server.start()
        self.assertEqual((1, 1, 1), self.seed_counts(server))
        kms = server.client()
        self.assertEqual({"alias/one": K_APP, "alias/two": K_APP}, self.aliases(kms))
        self.assertEqual({K_APP, K_FIXED}, {k["KeyId"] for k in list_all_keys(kms)})
        self.assertEqual(b"v1", kms.decrypt(CiphertextBlob=ct)["Plaintext"])
        server.stop()


class SeedMaterialTest(SeedTestBase):
    def test_fixed_material_decrypts_on_a_fresh_data_dir(self):
        path = self.write_seed(seed_doc())
        a = self.seed_server(path, name="seed-material-a")
        b = self.seed_server(path, name="seed-material-b")     # its own, fresh data dir
        self.assertNotEqual(os.path.realpath(a.data_dir), os.path.realpath(b.data_dir))
        self.assertEqual((4, 0, 4), self.seed_counts(a))
        self.assertEqual((4, 0, 4), self.seed_counts(b))
        ka, kb = a.client(), b.client()

        ma = ka.describe_key(KeyId=K_FIXED)["KeyMetadata"]
        mb = kb.describe_key(KeyId=K_FIXED)["KeyMetadata"]
        for src, dst, tag in ((ka, kb, "a->b"), (kb, ka, "b->a")):
            with self.subTest(direction=tag):
                ct = src.encrypt(KeyId="alias/seed/fixed", Plaintext=tag.encode(),
                                 EncryptionContext={"purpose": "ci"})["CiphertextBlob"]
                d = dst.decrypt(CiphertextBlob=ct, EncryptionContext={"purpose": "ci"})
                self.assertEqual((tag.encode(), key_arn(K_FIXED)), (d["Plaintext"], d["KeyId"]))
                self.assertEqual(d["KeyMaterialId"],
                                 dst.describe_key(KeyId=K_FIXED)["KeyMetadata"]["CurrentKeyMaterialId"])
                dk = src.generate_data_key(KeyId=K_FIXED, NumberOfBytes=32)
                self.assertEqual(dk["Plaintext"], dst.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"])
                self.assertClientError("InvalidCiphertextException", dst.decrypt, CiphertextBlob=ct,
                                       EncryptionContext={"purpose": "other"})

        # Without KeyMaterial each data dir makes its own: same id, different material.
        ct = ka.encrypt(KeyId=K_APP, Plaintext=b"random material")["CiphertextBlob"]
        self.assertNotEqual(ka.describe_key(KeyId=K_APP)["KeyMetadata"]["CurrentKeyMaterialId"],
                            kb.describe_key(KeyId=K_APP)["KeyMetadata"]["CurrentKeyMaterialId"])
        self.assertClientError("InvalidCiphertextException", kb.decrypt, CiphertextBlob=ct)

        # Rotation on one side: the seeded material still decrypts there afterwards.
        old = ka.encrypt(KeyId=K_FIXED, Plaintext=b"pre-rotation")["CiphertextBlob"]
        kb.rotate_key_on_demand(KeyId=K_FIXED)
        self.assertEqual(b"pre-rotation", kb.decrypt(CiphertextBlob=old)["Plaintext"])
        a.stop()
        b.stop()

        # A third, fresh data dir with a *different* material under the same id cannot decrypt.
        doc = {"keys": [{"KeyId": K_FIXED, "KeyMaterial": b64(OTHER_MATERIAL)}]}
        c = self.seed_server(self.write_seed(doc, "other.json"), name="seed-material-c")
        self.assertNotEqual(ma["CurrentKeyMaterialId"],
                            c.client().describe_key(KeyId=K_FIXED)["KeyMetadata"]["CurrentKeyMaterialId"])
        self.assertClientError("InvalidCiphertextException", c.client().decrypt, CiphertextBlob=old)
        c.stop()
        # The same material is the same key material: the same KeyMaterialId on both data dirs
        # (the id is inside every ciphertext, so this is what makes them portable).
        self.assertEqual(ma["CurrentKeyMaterialId"], mb["CurrentKeyMaterialId"],
                         "the same seeded KeyMaterial got different KeyMaterialIds")

    def test_default_region_is_the_first_of_regions(self):
        doc = {"keys": [{"KeyId": K_APP, "Aliases": ["alias/r"]},
                        {"KeyId": K_WEST, "Region": "eu-north-1"}]}
        s = self.seed_server(self.write_seed(doc), name="seed-regions",
                             extra=("--regions", "us-west-2,eu-north-1"))
        self.assertEqual((2, 0, 1), self.seed_counts(s))
        west2, north = s.client("us-west-2"), s.client("eu-north-1")
        found_in = [r for r, c in (("us-west-2", west2), ("eu-north-1", north))
                    if error_of(lambda: c.describe_key(KeyId=K_APP)) is None]
        self.assertEqual(["us-west-2"], found_in,
                         "a key without Region belongs to the first region of --regions "
                         "(us-west-2 in 'us-west-2,eu-north-1')")
        self.assertEqual(key_arn(K_APP, "us-west-2"),
                         west2.describe_key(KeyId="alias/r")["KeyMetadata"]["Arn"])
        self.assertEqual(key_arn(K_WEST, "eu-north-1"), north.describe_key(KeyId=K_WEST)["KeyMetadata"]["Arn"])
        s.stop()

    def test_default_region_without_regions_flag(self):
        s = self.seed_server(self.write_seed({"keys": [{"KeyId": K_APP}]}), name="seed-default-region")
        self.assertEqual(key_arn(K_APP), s.client("us-east-1").describe_key(KeyId=K_APP)["KeyMetadata"]["Arn"])
        self.assertClientError("NotFoundException", s.client("us-west-2").describe_key, KeyId=K_APP)
        s.stop()


class MalformedSeedTest(SeedTestBase):
    CASES: list[tuple[str, str, Optional[str]]] = [
        # (what, file content, a word the error message must contain besides "seed")
        ("not JSON", "{\"keys\": [", None),
        ("empty file", "", None),
        ("JSON array", "[]", "keys"),
        ("no keys member", json.dumps({"Keys": []}), "keys"),
        ("keys not an array", json.dumps({"keys": {"KeyId": K_APP}}), "keys"),
        ("key not an object", json.dumps({"keys": ["5f0c7b0e-3c1d-4e7a-9b52-0a1f6c2d9e01"]}), "KeyId"),
        ("key without KeyId", json.dumps({"keys": [{"Description": "x"}]}), "KeyId"),
        ("KeyId not a string", json.dumps({"keys": [{"KeyId": 12345}]}), "KeyId"),
        ("KeyId not a UUID", json.dumps({"keys": [{"KeyId": "not-a-uuid"}]}), "not-a-uuid"),
        ("KeyMaterial not base64", json.dumps({"keys": [{"KeyId": K_APP, "KeyMaterial": "%%%not base64%%%"}]}),
         "KeyMaterial"),
        ("KeyMaterial 16 bytes", json.dumps({"keys": [{"KeyId": K_APP, "KeyMaterial": b64(bytes(16))}]}),
         "KeyMaterial"),
        ("KeyMaterial 33 bytes", json.dumps({"keys": [{"KeyId": K_APP, "KeyMaterial": b64(bytes(33))}]}),
         "KeyMaterial"),
        ("alias without prefix", json.dumps({"keys": [{"KeyId": K_APP, "Aliases": ["no-prefix"]}]}),
         "alias/"),
        ("reserved alias", json.dumps({"keys": [{"KeyId": K_APP, "Aliases": ["alias/aws/x"]}]}),
         "alias/aws/"),
        ("Description not a string", json.dumps({"keys": [{"KeyId": K_APP, "Description": 7}]}),
         "Description"),
        ("tag without TagValue", json.dumps({"keys": [{"KeyId": K_APP, "Tags": [{"TagKey": "a"}]}]}),
         "TagValue"),
        ("reserved tag key", json.dumps({"keys": [{"KeyId": K_APP,
                                                   "Tags": [{"TagKey": "aws:x", "TagValue": "v"}]}]}),
         "aws:"),
        ("alias not a string", json.dumps({"keys": [{"KeyId": K_APP, "Aliases": [42]}]}), "Aliases"),
    ]

    def assertStartFails(self, server: ScytaleServer, what: str, must_mention: Optional[str]):
        with self.assertRaises(harness.ServerStartError, msg=f"{what}: the server started") as cm:
            server.start(timeout=15)
        rc = server.proc.returncode
        # A clean exit(1) with a message, not a crash (a negative code is a signal, e.g. abort).
        self.assertIsNotNone(rc, what)
        self.assertGreater(rc, 0, f"{what}: exit code {rc} (a signal?)\n{cm.exception}")
        self.assertIsNone(server.port, f"{what}: it listened")
        log = server.log_text()
        stderr = "\n".join(ln for ln in log.splitlines()
                           if not ln.startswith(("[stdout]", "=== ")))
        self.assertIn("seed", stderr.lower(), f"{what}: the message does not mention the seed\n{log}")
        if must_mention:
            self.assertIn(must_mention, stderr, f"{what}: the message does not name the problem\n{log}")
        self.assertNotIn("terminate called", log, f"{what}: uncaught exception\n{log}")
        return stderr

    def test_malformed_seed_files_stop_the_server(self):
        for what, content, must_mention in self.CASES:
            with self.subTest(case=what):
                path = self.write_seed(content, "bad.json")
                server = self.seed_server(path, name="seed-bad", start=False)
                self.assertStartFails(server, what, must_mention)

    def test_missing_seed_file(self):
        server = self.seed_server("/nonexistent/scytale-seed.json", name="seed-missing", start=False)
        stderr = self.assertStartFails(server, "missing file", None)
        self.assertIn("/nonexistent/scytale-seed.json", stderr)

    def test_good_data_dir_survives_a_bad_seed(self):
        """A bad seed on an existing data dir fails the start and harms nothing; the next good
        start works."""
        good = self.write_seed({"keys": [{"KeyId": K_APP, "Aliases": ["alias/keep"]}]})
        server = self.seed_server(good, name="seed-recover")
        ct = server.client().encrypt(KeyId="alias/keep", Plaintext=b"kept")["CiphertextBlob"]
        server.stop()
        server.args = ["--seed", self.write_seed("{broken", "broken.json")]
        self.assertStartFails(server, "broken file on an existing data dir", None)
        server.args = ["--seed", good]
        server.start()
        self.assertEqual((0, 1, 0), self.seed_counts(server))
        self.assertEqual(b"kept", server.client().decrypt(CiphertextBlob=ct)["Plaintext"])
        server.stop()


if __name__ == "__main__":
    unittest.main()
