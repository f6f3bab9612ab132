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
