#!/usr/bin/env bash
# One command from a fresh Debian bookworm: install what building and running
# need (the tests install their own: scripts/test.sh), build, and run the main
# job on a real example (the demo program dumps core, heapscope reads it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
scripts/build.sh
work=$(mktemp -d /tmp/heapscope-demo.XXXXXX)
echo "== running build/examples/demo in $work (it prints glibc's own figures, then dumps core)"
root=$PWD
(cd "$work" && ulimit -c unlimited && "$root/build/examples/demo" > demo.out 2>&1) || true
core=$(ls "$work"/core* 2>/dev/null | head -n 1 || true)
if [[ -z $core ]]; then
  echo "heapscope: the demo did not dump core (core_pattern: $(cat /proc/sys/kernel/core_pattern))" >&2
  echo "heapscope: set it with: echo core | sudo tee /proc/sys/kernel/core_pattern" >&2
  exit 1
fi
echo "== build/bin/heapscope $core heap stats"
build/bin/heapscope "$core" heap stats
echo "== build/bin/heapscope $core heap bins"
build/bin/heapscope "$core" heap bins
