#!/usr/bin/env bash
# Soak test (issue 10): builds scytale and scytale-loadgen into ./build (RelWithDebInfo, the tree
# scripts/build.sh uses; ccache when present; at most -j2, or $SOAK_JOBS) and runs bench/soak.py
# with the arguments given, e.g.
#
#   bench/soak.sh                             # 60 s, report in bench/results/soak-<date>.md
#   bench/soak.sh --duration 15 --report -    # the short mode for CI: prints the report only
#
# See bench/soak.py for what runs and what is checked. Exits non-zero when a check fails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${repo}/build"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f "${build}/CMakeCache.txt" ]]; then
  cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    >/dev/null
fi
ninja -C "${build}" -j "${SOAK_JOBS:-2}" scytale scytale-loadgen
# The e2e harness needs boto3: this python3, or Debian's.
py=python3
if ! "${py}" -c 'import boto3' 2>/dev/null; then py=/usr/bin/python3; fi
exec "${py}" "${repo}/bench/soak.py" --bin-dir "${build}/bin" "$@"
