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


def run_module(name):
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", name],
        cwd=HERE, capture_output=True, text=True, timeout=900)
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
    if len(sys.argv) > 1:
        modules = [m for m in modules if any(a in m for a in sys.argv[1:])]
    jobs = int(os.environ.get("E2E_JOBS", "2"))
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, total, bad, skip, secs, out in pool.map(run_module, modules):
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
