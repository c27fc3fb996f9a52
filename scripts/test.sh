#!/usr/bin/env bash
# Installs what only the tests need (scripts/install-deps.sh test, and the
# other glibc releases for the glibc matrix when not cached yet), builds
# heapscope and runs the whole test suite (unit, integration with the real
# gdb, lldb and kernel-written cores, and the bench smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run test
glibcs=${HEAPSCOPE_GLIBC_CACHE:-$HOME/.cache/heapscope/glibcs}
if [[ -z $(ls -A "$glibcs" 2>/dev/null) ]]; then
  scripts/fetch-glibcs.sh || echo "test.sh: could not fetch other glibc releases; the glibc matrix will skip"
fi
build=${HEAPSCOPE_BUILD_DIR:-build}
# A build tree configured before the test packages were installed finds them
# now (CMake searches again for what it did not find).
[[ ! -f $build/CMakeCache.txt ]] || cmake "$build" >/dev/null
scripts/build.sh
cd "$build"
ctest --output-on-failure -j 2 --timeout 900
