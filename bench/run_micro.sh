#!/usr/bin/env bash
# Builds kms_bench in Release (build-release/) and runs it: 5 repetitions of every benchmark,
# aggregates only. Writes the medians as a Markdown table to bench/results/micro-<date>.md and
# keeps the raw JSON next to the binary (build-release/kms_bench-<date>.json).
#
# Usage: bench/run_micro.sh [extra kms_bench flags, e.g. --benchmark_filter=Service/]
# Takes about a minute and a half on 2 cores. On a shared machine, compare rows of one run
# with each other rather than across runs, and mind the CV column.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${repo}/build-release"
stamp="$(date +%Y-%m-%d)"
json="${build}/kms_bench-${stamp}.json"
out="${repo}/bench/results/micro-${stamp}.md"

# Release at -O2 rather than CMake's default -O3: g++ 12 at -O3 raises a false
# -Wstringop-overflow (an error under -Werror) in src/common/encoding.cc, and -O2 is also what
# the shipped RelWithDebInfo binary is built with. Override with SCY_BENCH_OPT="-O3 -DNDEBUG".
cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="${SCY_BENCH_OPT:--O2 -DNDEBUG}" >/dev/null
cmake --build "${build}" --target kms_bench

mkdir -p "${repo}/bench/results"
"${build}/bin/kms_bench" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 \
  --benchmark_out="${json}" \
  --benchmark_out_format=json \
  "$@"

commit="$(git -C "${repo}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "${repo}" status --porcelain 2>/dev/null)" ]]; then
  commit="${commit}+dirty"
fi
python3 "${repo}/bench/micro_to_md.py" --commit "${commit}" "${json}" >"${out}"
echo "wrote ${out}"
