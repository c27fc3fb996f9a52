#!/usr/bin/env bash
# Installs everything heapscope needs on Debian bookworm (idempotent).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libfmt-dev libgtest-dev libgmock-dev nlohmann-json3-dev
  libdw-dev libelf-dev elfutils libdebuginfod-dev debuginfod
  libunwind-dev
  libzstd-dev liblz4-dev liblzma-dev zstd lz4 xz-utils
  pybind11-dev python3 python3-dev python3.11-dev
  gdb gdbserver libc6-dbg
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev musl-tools
  liblldb-19-dev lldb-19
  time chromium patchelf
  clang-14 libclang-rt-14-dev
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  # the recorder's overhead benchmark (recorder/bench/record_overhead.py)
  heaptrack valgrind
  # the real-world corpus (tests/realworld), with python3, git and gdb above
  g++ nginx-light perl sqlite3 xz-utils
)
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
