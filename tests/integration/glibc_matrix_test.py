"""The glibc matrix: real cores from other glibc releases, x86-64 and aarch64.

For one glibc release and architecture unpacked by scripts/fetch-glibcs.sh
(libc6, libc6-dbg, libc6-dev in ~/.cache/heapscope/glibcs/VERSION for amd64,
~/.cache/heapscope/glibcs/arm64/VERSION for arm64, or under
$HEAPSCOPE_GLIBC_CACHE), builds the scenario programs against that libc, runs
them on it to a core, and checks, with and without debug info:
  - heapscope reports that glibc version, with an exact layout row;
  - with debug info the roots come from symbols (the debug file was found
    next to the unpacked libc), without it from the structural search;
  - `heap stats` equals the malloc_info/mallinfo2 oracle the program printed,
    and the walk has no findings (scenario_single, _threads, _mmap);
  - `heap check` reports no findings (every program);
  - `heap leaks` lists exactly the leaks examples/leaks_basic.c recorded,
    each with its class (direct, indirect, possible).

x86-64: built with gcc, run natively (patchelf: the release's ld.so as
interpreter, its lib dir as rpath), a kernel-written core.
aarch64: built with aarch64-linux-gnu-gcc (same patchelf set-up), run under
qemu-aarch64(-static), which writes the guest's core itself as
qemu_<prog>_<date>-<time>_<pid>.core in the cwd. Those cores have no NT_FILE
and no NT_ARM_TLS: heapscope finds the modules from the dynamic linker's
link_map in memory. qemu then raises SIGABRT on itself; a directory named
"core" in the cwd keeps the kernel from writing qemu's own (x86-64, ~200 MB)
core there.

The release and architecture come from $HEAPSCOPE_MATRIX_VERSION and
$HEAPSCOPE_MATRIX_ARCH (x86-64 or aarch64; one ctest per pair), or every
cached release and both architectures when unset. Everything is skipped, with
the reason, when the release is not cached or a tool is missing.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from leaks_test import parse_record  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
_EXAMPLES_SRC = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "examples")
ORACLE_SCENARIOS = ("scenario_single", "scenario_threads", "scenario_mmap", "scenario_thread_waves",
                    "scenario_anon_maps")
LEAK_SCENARIOS = ("leaks_basic",)
TRY_FREE_SCENARIOS = ("try_free",)
ARCHES = ("x86-64", "aarch64")


def glibc_cache():
    return os.environ.get("HEAPSCOPE_GLIBC_CACHE") or os.path.expanduser("~/.cache/heapscope/glibcs")


def _first(root, rels):
    for rel in rels:
        p = os.path.join(root, rel)
        if os.path.exists(p):
            return p
    return None


def qemu_aarch64():
    return shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")


class Sysroot:
    """One unpacked glibc release for one architecture."""

    def __init__(self, version, arch):
        self.version = version
        self.arch = arch
        if arch == "x86-64":
            self.root = os.path.join(glibc_cache(), version)
            triplet, ld = "x86_64-linux-gnu", "ld-linux-x86-64.so.2"
            interps = ["usr/lib64/" + ld, "lib64/" + ld]
            self.cc = "gcc"
        else:
            self.root = os.path.join(glibc_cache(), "arm64", version)
            triplet, ld = "aarch64-linux-gnu", "ld-linux-aarch64.so.1"
            interps = ["usr/lib/" + ld, "lib/" + ld]
            self.cc = "aarch64-linux-gnu-gcc"
        libc = _first(self.root, ["usr/lib/%s/libc.so.6" % triplet, "lib/%s/libc.so.6" % triplet])
        self.libdir = os.path.dirname(libc) if libc else None
        self.interp = _first(self.root, interps + ["usr/lib/%s/%s" % (triplet, ld), "lib/%s/%s" % (triplet, ld)])
        self.devlib = os.path.join(self.root, "usr/lib", triplet)
        self.has_dev = os.path.exists(os.path.join(self.devlib, "crt1.o"))
        self.has_dbg = os.path.isdir(os.path.join(self.root, "usr/lib/debug/.build-id"))

    def missing(self):
        where = "%s (%s)" % (self.version, self.arch)
        if not os.path.isdir(self.root):
            return "glibc %s is not in %s (run scripts/fetch-glibcs.sh)" % (where, glibc_cache())
        if not self.libdir or not self.interp:
            return "glibc %s in %s lacks libc.so.6 or the dynamic loader" % (where, self.root)
        if not self.has_dev and (self.version < "2.34" or self.arch != "x86-64"):
            return ("glibc %s in %s lacks libc6-dev: a program linked here would need "
                    "newer symbol versions" % (where, self.root))
        if not self.has_dbg:
            return "glibc %s in %s lacks libc6-dbg" % (where, self.root)
        tools = [self.cc, "patchelf"]
        for tool in tools:
            if not shutil.which(tool):
                return "%s is not installed (scripts/install-deps.sh)" % tool
        if self.arch == "aarch64" and not qemu_aarch64():
            return "qemu-aarch64-static is not installed (scripts/install-deps.sh)"
        return None

    def build(self, scenario, outdir):
        """Compiles with this machine's (or the cross compiler's) headers,
        links against this release (its libc6-dev) so that no newer symbol
        version is needed, then points the program at this release's ld.so
        and libc."""
        src = os.path.join(_EXAMPLES_SRC, scenario + ".c")
        obj = os.path.join(outdir, scenario + ".o")
        exe = os.path.join(outdir, scenario)
        subprocess.run([self.cc, "-O0", "-g", "-c", "-I", _EXAMPLES_SRC, src, "-o", obj],
                       check=True, capture_output=True)
        link = [self.cc, obj, "-o", exe, "-pthread", "-ldl"]
        if self.has_dev:
            # gcc looks in its own multiarch dir before the sysroot's: name
            # the release's crt files and libraries first.
            link[1:1] = ["--sysroot=" + self.root, "-B" + self.devlib + "/", "-L" + self.devlib,
                         "-L" + self.libdir, "-Wl,-rpath-link," + self.libdir]
        res = subprocess.run(link, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError("linking %s against glibc %s (%s) failed:\n%s"
                                 % (scenario, self.version, self.arch, res.stderr))
        subprocess.run(["patchelf", "--set-interpreter", self.interp, "--set-rpath", self.libdir, exe],
                       check=True, capture_output=True)
        return exe

    def run_to_core(self, exe, keep_trimmed=False):
        """-> (core path, stdout). keep_trimmed: under qemu, tell malloc not
        to trim the main heap (see _LeakCase)."""
        if self.arch == "x86-64":
            return lib.run_scenario_to_core(exe)
        workdir = lib.scratch_dir("heapscope-qemu-")
        os.mkdir(os.path.join(workdir, "core"))  # no core of qemu itself
        env = dict(os.environ)
        if keep_trimmed:
            env["GLIBC_TUNABLES"] = "glibc.malloc.trim_threshold=1073741824"
        proc = subprocess.Popen(
            ["bash", "-c", 'ulimit -c unlimited 2>/dev/null; exec "$0" "$@"', qemu_aarch64(), exe],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.communicate(timeout=300)
        if proc.returncode != -signal.SIGABRT:
            raise AssertionError("%s under qemu exited with status %s, expected SIGABRT; stderr: %s"
                                 % (exe, proc.returncode, err.decode("utf-8", "replace")[-500:]))
        cores = []
        deadline = time.monotonic() + 10
        while not cores and time.monotonic() < deadline:
            cores = glob.glob(os.path.join(workdir, "qemu_*.core"))
            if not cores:
                time.sleep(0.05)
        if not cores:
            raise lib.CoreUnavailable("qemu wrote no qemu_*.core in %s (ulimit -c?)" % workdir)
        return cores[0], out.decode("utf-8", "replace")


def cached_versions(arch):
    want = os.environ.get("HEAPSCOPE_MATRIX_VERSION")
    if want:
        return [want]
    base = glibc_cache() if arch == "x86-64" else os.path.join(glibc_cache(), "arm64")
    return sorted(os.path.basename(d) for d in glob.glob(os.path.join(base, "2.*"))
                  if os.path.isdir(d) and not d.endswith(".tmp"))


def matrix_arches():
    want = os.environ.get("HEAPSCOPE_MATRIX_ARCH")
    return [want] if want else list(ARCHES)


class _MatrixCase(unittest.TestCase):
    version = None
    arch = None
    scenario = None
    keep_trimmed = False

    @classmethod
    def setUpClass(cls):
        if cls.version is None:
            raise unittest.SkipTest("base class")
        cls.sysroot = Sysroot(cls.version, cls.arch)
        why = cls.sysroot.missing()
        if why:
            print("SKIPPED-GLIBC-MATRIX: " + why, file=sys.stderr)
            raise unittest.SkipTest(why)
        outdir = lib.scratch_dir("heapscope-glibc-%s-%s-" % (cls.arch, cls.version))
        cls.exe = cls.sysroot.build(cls.scenario, outdir)
        try:
            cls.core, cls.stdout = cls.sysroot.run_to_core(cls.exe, cls.keep_trimmed)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.label = "glibc %s %s %s" % (cls.version, cls.arch, cls.scenario)

    def label_for(self, options):
        return "%s %s" % (self.label, " ".join(options) or "(debug info)")

    def check_roots(self, options):
        label = self.label_for(options)
        status, out, err = lib.run_cli(list(options) + [self.core, "heap", "arenas", "--json"])
        self.assertEqual(status, 0, "%s: heap arenas failed: %s" % (label, err))
        arenas = json.loads(out)
        self.assertEqual(arenas["glibc_version"], self.version, label)
        want_roots = "structure" if "--no-debuginfo" in options else "symbols"
        self.assertEqual(arenas["roots_found_by"], want_roots,
                         "%s: main_arena/mp_ found by %s" % (label, arenas["roots_found_by"]))

    def check_clean(self, options):
        label = self.label_for(options)
        report = lib.run_cli_json(list(options) + [self.core, "heap", "check"])
        if report["findings"]:
            _, text, _ = lib.run_cli(list(options) + [self.core, "heap", "check"])
            self.fail("%s: heap check found %d problem(s):\n%s" % (label, len(report["findings"]), text))
        self.assertGreater(report["chunks_checked"], 0, label)


class _OracleCase(_MatrixCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.oracle = lib.parse_oracle(cls.stdout)
        # glibc 2.43+ has no fastbins and malloc_info prints no
        # <total type="fast">: that total is zero.
        mi = cls.oracle["malloc_info"]
        for h in mi["heaps"]:
            h.setdefault("fast", {"count": 0, "size": 0})
        mi["total"].setdefault("fast", {"count": 0, "size": 0})

    def check(self, *options):
        label = self.label_for(options)
        self.check_roots(options)
        stats = lib.run_cli_json(list(options) + [self.core, "heap", "stats"])
        mismatches = lib.compare_stats_with_oracle(stats, self.oracle)
        if mismatches:
            self.fail("%s: %d mismatch(es) with glibc's own figures:\n  %s"
                      % (label, len(mismatches), "\n  ".join(mismatches)))
        if stats["findings"]:
            _, text, _ = lib.run_cli(list(options) + [self.core, "heap", "stats"])
            self.fail("%s: the walk has %s finding(s):\n%s" % (label, stats["findings"], text))
        self.check_clean(options)

    def test_oracle_stable(self):
        self.assertFalse(self.oracle["unstable"], "the heap changed while the program measured it")

    def test_with_debuginfo(self):
        self.check()

    def test_without_debuginfo(self):
        self.check("--no-debuginfo")


class _LeakCase(_MatrixCase):
    # qemu-user's brk emulation does not unmap what malloc trims from the main
    # heap: the pages past the break stay in the core with the stale pointers
    # of freed chunks (leaks_basic's "victim" test), where the root scan sees
    # them as anonymous memory. A kernel unmaps them. So under qemu the leak
    # scenario runs with trimming off.
    keep_trimmed = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leaks, cls.contains, _, _ = parse_record(cls.stdout)

    def check(self, *options):
        label = self.label_for(options)
        self.check_roots(options)
        self.check_clean(options)
        doc = lib.run_cli_json(list(options) + [self.core, "heap", "leaks"])
        got = {int(c["data"], 16): c["class"] for c in doc["chunks"]}
        want = {a: cls_ for a, (cls_, _) in self.leaks.items()}
        for cls_, addr in self.contains:
            holders = [c for c in doc["chunks"]
                       if int(c["data"], 16) <= addr < int(c["address"], 16) + c["size"]]
            self.assertEqual(len(holders), 1, "%s: no listed chunk holds %#x" % (label, addr))
            want[int(holders[0]["data"], 16)] = cls_
        missing = {hex(a): v for a, v in want.items() if a not in got}
        extra = {hex(a): v for a, v in got.items() if a not in want}
        wrong = {hex(a): (got[a], v) for a, v in want.items() if a in got and got[a] != v}
        self.assertEqual((missing, extra, wrong), ({}, {}, {}),
                         "%s: leaks missing / unexpected / wrong class" % label)
        self.assertGreater(doc["reachable"]["chunks"], 0, label)

    def test_with_debuginfo(self):
        self.check()

    def test_without_debuginfo(self):
        self.check("--no-debuginfo")


class _TryFreeCase(_MatrixCase):
    """`heap try-free` against what this release's free() did with each of
    examples/try_free's pointers (see try_free_test.py)."""

    def check(self, *options):
        import re
        label = self.label_for(options)
        cases = re.findall(r"^CASE (\S+) (\S+) (.*)$", self.stdout, re.M)
        self.assertGreaterEqual(len(cases), 19, label)
        wrong = {}
        for name, pointer, glibc in cases:
            pointer = "0x0" if pointer == "(nil)" else pointer
            doc = lib.run_cli_json(list(options) + [self.core, "heap", "try-free", pointer])
            got = "abort:" + doc["message"] if doc["outcome"] == "abort" else doc["outcome"]
            if got != glibc:
                wrong[name] = (got, glibc)
        self.assertEqual(wrong, {}, "%s: heap try-free / what glibc did" % label)

    def test_with_debuginfo(self):
        self.check()

    def test_without_debuginfo(self):
        self.check("--no-debuginfo")


def _make_cases():
    for arch in matrix_arches():
        for v in cached_versions(arch) or [os.environ.get("HEAPSCOPE_MATRIX_VERSION", "none")]:
            for s in ORACLE_SCENARIOS + LEAK_SCENARIOS + TRY_FREE_SCENARIOS:
                base = (_LeakCase if s in LEAK_SCENARIOS else _TryFreeCase if s in TRY_FREE_SCENARIOS
                        else _OracleCase)
                name = "Glibc_%s_%s_%s" % (arch.replace("-", "_"), v.replace(".", "_"), s)
                globals()[name] = type(name, (base,), {"version": v, "arch": arch, "scenario": s})


_make_cases()

if __name__ == "__main__":
    unittest.main()
