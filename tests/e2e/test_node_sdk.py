"""Node.js clients against a real server: the AWS SDK for JavaScript v3 (@aws-sdk/client-kms)
and the AWS Encryption SDK for JavaScript (@aws-crypto/client-node) with a KMS keyring.

The tests themselves are tests/e2e/node/*.test.mjs (Node's built-in test runner); this
module starts a Scytale server, runs `node --test` on them with the server's endpoint and
credentials in the environment, and fails (printing node's output) unless all pass.

Node and the locked npm dependencies come from tests/e2e/node/install.sh; when node is
there but node_modules is missing or stale, install.sh is run here first. Without node
the test is skipped, or fails when CI is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from harness import DEFAULT_REGION, ScytaleTestCase

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_TIMEOUT = 600  # seconds for the whole `node --test` run


def _deps_stale() -> bool:
    stamp = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    return not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime


def _summary(output: str) -> dict[str, int]:
    """Counts from node's closing lines ('ℹ pass 30' with spec, '# pass 30' with TAP)."""
    counts = {}
    for name in ("tests", "pass", "fail", "cancelled", "skipped", "todo"):
        m = re.search(rf"^\s*(?:ℹ|#) {name} (\d+)\s*$", output, re.M)
        if m:
            counts[name] = int(m.group(1))
    return counts


class NodeSdkTest(ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = shutil.which("node")
        if cls.node is None:
            if os.environ.get("CI"):
                raise AssertionError("node not found: run tests/e2e/node/install.sh")
            raise unittest.SkipTest("node not found (tests/e2e/node/install.sh installs it)")
        if _deps_stale():
            p = subprocess.run(["bash", str(NODE_DIR / "install.sh")], cwd=NODE_DIR,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=600)
            if p.returncode != 0:
                raise AssertionError(f"tests/e2e/node/install.sh failed ({p.returncode}):\n"
                                     f"{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        cls.server = cls.start_class_server(name="node-sdk")

    def node_env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "SCYTALE_ENDPOINT": self.server.endpoint,
            "AWS_ACCESS_KEY_ID": self.server.access_key,
            "AWS_SECRET_ACCESS_KEY": self.server.secret_key,
            "AWS_REGION": DEFAULT_REGION,
            # Nothing from the machine's own AWS setup may leak into the clients.
            "AWS_CONFIG_FILE": "/nonexistent/scytale-e2e/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/scytale-e2e/credentials",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
            # The SDK's notice that its 2027 releases will need node 22: noise here.
            "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        }
        return env

    def test_node_clients(self):
        files = sorted(str(p.name) for p in NODE_DIR.glob("*.test.mjs"))
        self.assertTrue(files, f"no *.test.mjs in {NODE_DIR}")
        argv = [self.node, "--test", "--test-reporter=spec", *files]
        try:
            p = subprocess.run(argv, cwd=NODE_DIR, env=self.node_env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            self.fail(f"`{' '.join(argv)}` did not finish within {NODE_TIMEOUT}s\n{out}")
        counts = _summary(p.stdout)
        msg = (f"`{' '.join(argv)}` in {NODE_DIR} exited {p.returncode} {counts}\n"
               f"----- node output -----\n{p.stdout}\n----- end of node output -----")
        self.assertEqual(0, p.returncode, msg)
        self.assertEqual(0, counts.get("fail", -1), msg)
        self.assertGreater(counts.get("pass", 0), 0, msg)
        self.assertTrue(self.server.running, "server died\n" + self.server.log_tail())
        if os.environ.get("SCYTALE_E2E_VERBOSE"):
            print(p.stdout)


if __name__ == "__main__":
    unittest.main()
