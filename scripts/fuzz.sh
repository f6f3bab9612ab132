#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (under AddressSanitizer + UndefinedBehaviorSanitizer) into
# ./build-fuzz and runs each for a bounded time, starting from its seed corpus in
# fuzz/corpus/<target>/. Prints the executions per target; exits non-zero on any crash, leak,
# sanitizer report or broken invariant, leaving the input in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]      # per target; default 20
#
# New inputs found along the way go to build-fuzz/corpus/<target>/, never into the repository:
# copy one into fuzz/corpus/<target>/ by hand when it is worth keeping (a crash's input, fixed,
# always is).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-20}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=(fuzz_kms_api fuzz_sigv4 fuzz_ciphertext fuzz_policy fuzz_iam_query fuzz_audit_reader
  fuzz_http)

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCY_FUZZ=ON \
  -DSCY_SANITIZE=address,undefined >/dev/null
ninja -C "$BUILD_DIR" -j "${FUZZ_JOBS:-2}" fuzz_targets

mkdir -p "$BUILD_DIR/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
status=0
for t in "${TARGETS[@]}"; do
  echo "== fuzz $t (${SECONDS_PER_TARGET}s)"
  mkdir -p "$BUILD_DIR/corpus/$t"
  log="$BUILD_DIR/artifacts/$t.log"
  if "$BUILD_DIR/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$t-" \
      "$BUILD_DIR/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -n 60 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  summary+=("$(printf '%-18s %-6s %10s execs  %s' "$t" "$result" "${execs:-?}" "$cov")")
done
echo "== fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
