#!/usr/bin/env bash
# Builds heapscope and runs the whole test suite (unit, integration with the
# real gdb, lldb and kernel-written cores, and the bench smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd "${HEAPSCOPE_BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 900
