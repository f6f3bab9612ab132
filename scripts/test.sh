#!/usr/bin/env bash
# One command: install, build, and run every test (unit tests with CTest, then end-to-end tests
# with real AWS clients against a real server). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

echo "== end-to-end tests"
tests/e2e/node/install.sh   # Node.js clients: @aws-sdk/client-kms, @aws-crypto/client-node
# The e2e tests need a python3 with boto3 (the machine's own, or Debian's).
PY=python3
if ! "$PY" -c 'import boto3' 2>/dev/null; then PY=/usr/bin/python3; fi
export SCYTALE_BIN="$PWD/build/bin/scytale"
"$PY" tests/e2e/run.py

# Full-speed signed load with every answer checked, and hostile input at the same time: no
# error, no wrong answer, RSS bounded, descriptors back after (issue 10; bench/soak.py). The
# 60 s run is `bench/soak.sh`; this short one takes about 20 s.
echo "== soak (15 s)"
bench/soak.sh --duration 15 --report -

# The unit tests again, built with AddressSanitizer + UndefinedBehaviorSanitizer in their own
# tree. Any report fails the test that triggered it: UBSan does not recover
# (-fno-sanitize-recover=all), ASan aborts, LeakSanitizer fails the process at exit.
echo "== unit tests under ASan + UBSan"
# -O0 -g1 (NDEBUG kept, as shipped): far cheaper to compile than -O2 -g on CI's two cores, and
# the unit tests run quickly either way.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1 -DNDEBUG" -DSCY_SANITIZE=address,undefined >/dev/null
ninja -C build-asan -j "$(nproc)" unit_tests
ASAN_OPTIONS=detect_leaks=1:strict_init_order=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"

# One e2e pass against a server built the same way (issue 10): a few suites that cover the
# codec, key management, envelope and asymmetric crypto, grants and hostile input. Sanitizer
# reports go to files (log_path), so that one in the server fails this step even if the
# request it broke was answered; UBSan aborts the server on its first report.
echo "== end-to-end tests against a server under ASan + UBSan"
ninja -C build-asan -j "$(nproc)" scytale
san_logs="$PWD/build-asan/sanitizer-logs"
rm -rf "$san_logs" && mkdir -p "$san_logs"
ASAN_OPTIONS="detect_leaks=1:log_path=$san_logs/asan" \
UBSAN_OPTIONS="print_stacktrace=1:log_path=$san_logs/ubsan" \
SCYTALE_BIN="$PWD/build-asan/bin/scytale" \
  "$PY" tests/e2e/run.py 'test_keys[]' 'test_envelope[]' 'test_asymmetric[]' 'test_grants[]' \
  'test_bad_input[]'
if [ -n "$(ls -A "$san_logs")" ]; then
  echo "sanitizer reports from the server:" >&2
  cat "$san_logs"/* >&2
  exit 1
fi

echo "== fuzzing"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
