#!/usr/bin/env bash
# Installs the Debian bookworm packages heapscope needs, by purpose (idempotent):
#   scripts/install-deps.sh run         build and run heapscope (scripts/setup.sh)
#   scripts/install-deps.sh run test    and what only the tests need (scripts/test.sh, CI)
# One list per purpose: a package goes in the first one that needs it.
set -euo pipefail
run=(
  # the toolchain (build-essential brings dpkg-dev: dpkg-shlibdeps for the .deb)
  build-essential cmake ninja-build pkg-config git
  # what the core links: formatting, JSON, ELF/DWARF, debuginfod, compressed cores
  libfmt-dev nlohmann-json3-dev libdw-dev libelf-dev libdebuginfod-dev
  libzstd-dev liblz4-dev liblzma-dev
  # the allocation recorder's unwinder (recorder/: libheapscope-record.so)
  libunwind-dev
  # GoogleTest: CMake requires it (the unit tests build with the rest)
  libgtest-dev libgmock-dev
  # the debuggers, and what their front-ends build against (gdb embeds Python 3.11)
  gdb python3 python3-dev python3.11-dev pybind11-dev lldb-19 liblldb-19-dev
  # glibc's types for `p *(mchunkptr)...` and the formatters; `man heapscope`
  libc6-dbg man-db
)
test=(
  # the integration tests: gdbserver, a debuginfod server, compressed cores,
  # peak RSS, rewritten ELF interpreters, the zsh completion
  gdbserver elfutils debuginfod zstd lz4 xz-utils time patchelf zsh
  # the other allocators heapscope recognises (tests/integration/roots_*)
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev musl-tools
  # the heap map's load time in headless Chromium
  chromium
  # fuzzing (scripts/fuzz.sh: libFuzzer, ASan, UBSan)
  clang-14 libclang-rt-14-dev
  # the glibc matrix on aarch64 (cross-built programs, cores from qemu-user)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  # the recorder's overhead benchmark (recorder/bench/record_overhead.py)
  heaptrack valgrind
  # the real-world corpus (tests/realworld), with python3, git and gdb above
  g++ nginx-light perl sqlite3
)
purposes=("$@")
((${#purposes[@]})) || purposes=(run)
packages=()
for purpose in "${purposes[@]}"; do
  case $purpose in
    run) packages+=("${run[@]}") ;;
    test) packages+=("${test[@]}") ;;
    *) echo "install-deps: unknown purpose '$purpose' (run or test)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "heapscope: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
