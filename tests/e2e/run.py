#!/usr/bin/env python3
"""Runs the end-to-end test modules (tests/e2e/test_*.py), a few in parallel, each in its own
process with its own servers, and prints one closing line: 'N passed, N failed'."""
import concurrent.futures
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# Suites run a second time in another configuration: (module, label, environment).
VARIANTS = [
    # The envelope suite with the root key in a PKCS#11 token (SoftHSM2), as issue 8 asks.
    ("test_envelope", "pkcs11", {"SCYTALE_E2E_KEYSTORE": "pkcs11"}),
    # Key management and its limits under concurrency with the store in PostgreSQL (issue 9);
    # SCYTALE_E2E_STORE=postgres runs any suite that way.
    ("test_keys", "postgres", {"SCYTALE_E2E_STORE": "postgres"}),
    ("test_lifecycle", "postgres", {"SCYTALE_E2E_STORE": "postgres"}),
    # Custom key stores (their rows, keys in them, deletion rules, restart) on PostgreSQL.
    ("test_custom_key_stores", "postgres", {"SCYTALE_E2E_STORE": "postgres"}),
    # No secret of the hygiene workload in a pg_dump of the server's database (issue 10).
    ("test_secret_hygiene", "postgres", {"SCYTALE_E2E_STORE": "postgres"}),
]


def run_module(entry):
    name, label, extra_env = entry
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", name],
        cwd=HERE, capture_output=True, text=True, timeout=900, env={**os.environ, **extra_env})
    if label:
        name = f"{name}[{label}]"
    out = proc.stdout + proc.stderr
    ran = re.search(r"^Ran (\d+) tests?", out, re.M)
    total = int(ran.group(1)) if ran else 0
    # A test with failing subtests is reported once per subtest: count tests, not reports.
    failed = len(set(re.findall(r"^(?:FAIL|ERROR): (\S+ \([^)]*\))", out, re.M)))
    skipped = len(re.findall(r"\.\.\. skipped", out))
    if proc.returncode != 0 and failed == 0:
        failed = max(1, total)  # crashed or timed out without a unittest summary
    return name, total, failed, skipped, time.time() - start, out


def main():
    modules = sorted(f[:-3] for f in os.listdir(HERE)
                     if f.startswith("test_") and f.endswith(".py"))
    entries = [(m, "", {}) for m in modules] + [v for v in VARIANTS if v[0] in modules]
    if len(sys.argv) > 1:
        entries = [e for e in entries
                   if any(a in e[0] or a == f"{e[0]}[{e[1]}]" for a in sys.argv[1:])]
    jobs = int(os.environ.get("E2E_JOBS", "2"))
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, total, bad, skip, secs, out in pool.map(run_module, entries):
            status = "ok" if bad == 0 else "FAILED"
            print(f"--- {name}: {total} tests, {bad} failed, {skip} skipped, {secs:.1f}s {status}")
            if bad:
                print(out)
            passed += total - bad - skip
            failed += bad
            skipped += skip
    print(f"e2e: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
