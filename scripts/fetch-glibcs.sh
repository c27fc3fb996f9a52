#!/bin/bash
# Fetch real glibcs (libc6 + libc6-dbg + libc6-dev, amd64 and arm64) from
# Debian's archive with a private apt configuration (no change to the system's
# apt sources) and unpack them with dpkg -x into a cache outside the source tree:
#   ${HEAPSCOPE_GLIBC_CACHE:-~/.cache/heapscope/glibcs}/<VERSION>/         amd64
#   ${HEAPSCOPE_GLIBC_CACHE:-~/.cache/heapscope/glibcs}/arm64/<VERSION>/   arm64
# each holding lib/<triplet>/libc.so.6, the dynamic loader
# (lib64/ld-linux-x86-64.so.2, lib/ld-linux-aarch64.so.1),
# usr/lib/debug/.build-id/... (libc6-dbg), usr/lib/<triplet>/{crt1.o,
# libc.so,...} (libc6-dev, for linking against this libc), debs/libc6-dbg_*.deb
# (the package itself, for debuginfod) and files "suite" and "debian-version".
#
# usage: scripts/fetch-glibcs.sh [suite ...]   (default: bullseye bookworm trixie sid experimental)
# HEAPSCOPE_GLIBC_ARCHES="amd64 arm64" (the default) picks the architectures.
# The glibc-matrix tests (ctest -L glibc-matrix) use whatever is in the cache.
set -euo pipefail

CACHE="${HEAPSCOPE_GLIBC_CACHE:-$HOME/.cache/heapscope/glibcs}"
MIRROR="${HEAPSCOPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
read -r -a ARCHES <<<"${HEAPSCOPE_GLIBC_ARCHES:-amd64 arm64}"
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(bullseye bookworm trixie sid experimental)

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-glibcs: $tool is required" >&2; exit 1; }
done

# The debs hold absolute symlinks (lib64/ld-linux-x86-64.so.2 ->
# /lib/x86_64-linux-gnu/ld-2.31.so) that would lead back to the system's libc:
# make every one that resolves inside the root relative.
relativize_links() {
  local root=$1 link target
  find "$root" -type l -print0 | while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in
      /*) if [ -e "$root$target" ] || [ -L "$root$target" ]; then
            ln -sfn "$(realpath -s --relative-to="$(dirname "$link")" "$root$target")" "$link"
          fi ;;
    esac
  done
}

fetch_suite() {
  local suite=$1 ARCH=$2
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/heapscope-apt.XXXXXX")
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/etc/parts"
  : >"$work/status"  # an empty dpkg status: the system's installed libc must not win
  # experimental only holds what differs from sid: apt needs sid beside it to
  # resolve, and we ask for the experimental version explicitly below.
  {
    echo "deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $suite main"
    [ "$suite" = experimental ] && echo "deb [arch=$ARCH signed-by=$KEYRING] $MIRROR sid main"
  } >"$work/etc/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$work/etc/sources.list" -o "Dir::Etc::sourceparts=$work/etc/parts"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
              -o "Dir::Etc::preferencesparts=$work/etc/parts" -o "Dir::Etc::preferences=$work/etc/none"
              -o "Dir::State::status=$work/status" -o "APT::Get::List-Cleanup=0"
              -o "APT::Architecture=$ARCH" -o "Debug::NoLocking=1"
              -o "APT::Sandbox::User=$(id -un)" -q)
  echo "== $suite $ARCH: apt-get update (private lists in $work)"
  if ! apt-get "${opts[@]}" update >"$work/update.log" 2>&1; then
    cat "$work/update.log" >&2
    echo "fetch-glibcs: apt-get update failed for $suite" >&2
    rm -rf "$work"
    return 1
  fi
  # libc6-dev: crt files and libc.so to link test programs against this libc
  # (a program linked against a newer glibc may need symbol versions it lacks).
  local spec=libc6 dbg=libc6-dbg dev=libc6-dev
  if [ "$suite" = experimental ]; then
    local v
    v=$(apt-cache "${opts[@]}" madison libc6 | awk -F'|' '/experimental/ {gsub(/ /,"",$2); print $2; exit}')
    if [ -z "$v" ]; then
      echo "fetch-glibcs: experimental has no libc6 of its own (same as sid); skipped" >&2
      rm -rf "$work"
      return 0
    fi
    spec="libc6=$v" dbg="libc6-dbg=$v" dev="libc6-dev=$v"
  fi
  (cd "$work/debs" && apt-get "${opts[@]}" download "$spec" "$dbg" "$dev") || {
    echo "fetch-glibcs: download failed for $suite" >&2; rm -rf "$work"; return 1; }
  local deb version
  deb=$(ls "$work"/debs/libc6_*.deb)
  version=$(dpkg-deb -f "$deb" Version)        # e.g. 2.31-13+deb11u11
  local short=${version%%-*}                   # 2.31
  local dest="$CACHE/$short"
  [ "$ARCH" = amd64 ] || dest="$CACHE/$ARCH/$short"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  for d in "$work"/debs/*.deb; do dpkg -x "$d" "$dest.tmp"; done
  # The debug package as Debian ships it, for a local debuginfod to serve
  # (tests/integration/foreign_files_test.py).
  mkdir -p "$dest.tmp/debs"
  cp "$work"/debs/libc6-dbg_*.deb "$dest.tmp/debs/"
  relativize_links "$dest.tmp"
  # Merged-/usr releases (2.36+ in Debian) ship only usr/lib*; their libc.so
  # linker script names /lib64/ld-linux-x86-64.so.2 (/lib/ld-linux-aarch64.so.1),
  # which base-files links.
  for d in lib lib64; do
    [ -e "$dest.tmp/$d" ] || [ ! -d "$dest.tmp/usr/$d" ] || ln -s "usr/$d" "$dest.tmp/$d"
  done
  echo "$suite" >"$dest.tmp/suite"
  echo "$version" >"$dest.tmp/debian-version"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  echo "== $suite $ARCH: glibc $version unpacked in $dest"
}

mkdir -p "$CACHE"
status=0
for a in "${ARCHES[@]}"; do
  for s in "${SUITES[@]}"; do fetch_suite "$s" "$a" || status=1; done
done
echo "cache: $CACHE"; ls "$CACHE"; [ ! -d "$CACHE/arm64" ] || ls "$CACHE/arm64"
exit $status
