#!/usr/bin/env bash
# CI: the Debian package from the build tree (cpack), installed on this
# machine with dpkg -i, then the installed CLI, gdb (~/.gdbinit) and lldb
# (~/.lldbinit) in a throwaway HOME on a real core, against the build tree's
# output (tests/integration/install_tree_test.py with
# HEAPSCOPE_INSTALLED_ROOT=/). A package this run installed is removed again
# at the end unless HEAPSCOPE_KEEP_PACKAGE=1. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(realpath "${HEAPSCOPE_BUILD_DIR:-build}")
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
scripts/build.sh >/dev/null
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/packages/heapscope_*.deb)
echo "package-test: $(dpkg-deb -f "$deb" Package Version Depends | tr '\n' ' ')"
had_package=$(dpkg-query -W -f='${Status}' heapscope 2>/dev/null | grep -c "install ok installed" || true)
$SUDO env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
status=0
(cd "$root/tests/integration" &&
  env HEAPSCOPE_INSTALLED_ROOT=/ HEAPSCOPE_BUILD_DIR="$build" HEAPSCOPE_CLI="$build/bin/heapscope" \
    HEAPSCOPE_EXAMPLES_DIR="$build/examples" PYTHONDONTWRITEBYTECODE=1 DEBUGINFOD_URLS= \
    python3 -m unittest -v install_tree_test) || status=$?
if [[ $had_package == 0 && ${HEAPSCOPE_KEEP_PACKAGE:-0} != 1 ]]; then
  $SUDO dpkg -P heapscope >/dev/null
fi
exit $status
