#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan + fuzzer) in
# build-fuzz and runs each for FUZZ_SECONDS (default 60) from the committed
# seed corpora in tests/fuzz/corpus/. Any crash, leak, timeout (> 1 s per
# input) or out-of-memory (> 2 GiB) fails the run; the reproducer is left in
# build-fuzz/artifacts/. New inputs go to build-fuzz/corpus/, not the repo.
# mutate_cores: structured mutations of real cores (program headers, notes,
# heap words: tests/fuzz/mutate_cores.py) through every `heap` command of the
# sanitized CLI, for FUZZ_SECONDS (or FUZZ_MUTANTS mutants); each run has a
# timeout and a memory limit, and any crash, hang, abort or multi-line error
# fails; failing mutants go to build-fuzz/mutate/artifacts/. Its scenario
# programs come from the plain build ($HEAPSCOPE_BUILD_DIR or build).
# -O1 with line tables only: the build is most of this job's time on 2 cores,
# and reports still name file:line.
# Needs: clang-14 libclang-rt-14-dev (Debian).
#   FUZZ_SECONDS=30 scripts/fuzz.sh            every target
#   scripts/fuzz.sh fuzz_heap                  one target
#   FUZZ_MUTANTS=100 scripts/fuzz.sh mutate_cores
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
BUILD="${HEAPSCOPE_FUZZ_BUILD_DIR:-build-fuzz}"
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_core_file fuzz_heap fuzz_mems mutate_cores)
LIBFUZZER=()
MUTATE=0
for t in "${TARGETS[@]}"; do
  if [ "$t" = mutate_cores ]; then MUTATE=1; else LIBFUZZER+=("$t"); fi
done
BUILD_TARGETS=("${LIBFUZZER[@]}")
if [ $MUTATE = 1 ]; then BUILD_TARGETS+=(heapscope); fi
build_start=$(date +%s)
CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}" cmake -S . -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEAPSCOPE_FUZZ=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" >/dev/null
cmake --build "$BUILD" -j 2 --target "${BUILD_TARGETS[@]}"
echo "fuzz.sh: build $(( $(date +%s) - build_start ))s"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
status=0
for t in "${LIBFUZZER[@]}"; do
  seeds="tests/fuzz/corpus/${t#fuzz_}"
  work="$BUILD/corpus/${t#fuzz_}"
  mkdir -p "$work" "$BUILD/artifacts"
  echo "== $t: ${SECONDS_PER_TARGET}s from $seeds"
  start=$(date +%s)
  if ! "$BUILD/bin/$t" "$work" "$seeds" -max_total_time="$SECONDS_PER_TARGET" -timeout=1 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$BUILD/artifacts/$t-" 2>"$BUILD/$t.log"; then
    status=1
    echo "FAILED: $t (log: $BUILD/$t.log)"
    grep -E "ERROR|SUMMARY|Test unit written" "$BUILD/$t.log" | head -20 || true
  fi
  grep -E "^#[0-9]+.*(DONE|cov)" "$BUILD/$t.log" | tail -1 || true
  grep -E "stat::(number_of_executed_units|peak_rss_mb)" "$BUILD/$t.log" || true
  echo "   $(( $(date +%s) - start ))s"
done
if [ $MUTATE = 1 ]; then
  plain="${HEAPSCOPE_BUILD_DIR:-build}"
  scenarios=(scenario_single scenario_threads scenario_mmap)
  if [ ! -f "$plain/CMakeCache.txt" ]; then
    cmake -S . -B "$plain" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$plain" -j 2 --target "${scenarios[@]}" >/dev/null
  bound=(--seconds "$SECONDS_PER_TARGET")
  if [ -n "${FUZZ_MUTANTS:-}" ]; then bound=(--mutants "$FUZZ_MUTANTS"); fi
  echo "== mutate_cores: ${bound[*]}"
  start=$(date +%s)
  if ! python3 tests/fuzz/mutate_cores.py --cli "$BUILD/bin/heapscope" --examples "$plain/examples" \
      --work "$BUILD/mutate" "${bound[@]}" --asan; then
    status=1
    echo "FAILED: mutate_cores (mutants in $BUILD/mutate/artifacts/)"
  fi
  echo "   $(( $(date +%s) - start ))s"
fi
exit $status
