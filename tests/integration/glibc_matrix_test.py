"""The glibc matrix: real cores from other glibc releases (x86-64).

For one glibc release unpacked by scripts/fetch-glibcs.sh (libc6, libc6-dbg,
libc6-dev in ~/.cache/heapscope/glibcs/VERSION, or $HEAPSCOPE_GLIBC_CACHE),
builds the scenario programs against that libc, runs them on it (patchelf:
its ld.so as interpreter, its lib dir as rpath) to a core, and checks, with
and without debug info:
  - heapscope reports that glibc version, with an exact layout row;
  - `heap stats` equals the malloc_info/mallinfo2 oracle the program printed;
  - the walk has no findings;
  - with debug info the roots come from symbols (the debug file was found
    next to the unpacked libc), without it from the structural search.

The release comes from $HEAPSCOPE_MATRIX_VERSION (one ctest per release), or
every cached release when unset. Everything is skipped, with the reason, when
the release is not cached or patchelf/gcc are missing.
"""

import glob
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
_EXAMPLES_SRC = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "examples")
SCENARIOS = ("scenario_single", "scenario_threads", "scenario_mmap")


def glibc_cache():
    return os.environ.get("HEAPSCOPE_GLIBC_CACHE") or os.path.expanduser("~/.cache/heapscope/glibcs")


def _first(root, rels):
    for rel in rels:
        p = os.path.join(root, rel)
        if os.path.exists(p):
            return p
    return None


class Sysroot:
    """One unpacked glibc release."""

    def __init__(self, version):
        self.version = version
        self.root = os.path.join(glibc_cache(), version)
        libc = _first(self.root, ["usr/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"])
        self.libdir = os.path.dirname(libc) if libc else None
        self.interp = _first(self.root, ["usr/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2",
                                         "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                                         "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"])
        self.has_dev = os.path.exists(os.path.join(self.root, "usr/lib/x86_64-linux-gnu/crt1.o"))
        self.has_dbg = os.path.isdir(os.path.join(self.root, "usr/lib/debug/.build-id"))

    def missing(self):
        if not os.path.isdir(self.root):
            return "glibc %s is not in %s (run scripts/fetch-glibcs.sh)" % (self.version, glibc_cache())
        if not self.libdir or not self.interp:
            return "glibc %s in %s lacks libc.so.6 or ld-linux-x86-64.so.2" % (self.version, self.root)
        if not self.has_dev and self.version < "2.34":
            return ("glibc %s in %s lacks libc6-dev: a program linked here would need "
                    "GLIBC_2.34 symbols" % (self.version, self.root))
        if not self.has_dbg:
            return "glibc %s in %s lacks libc6-dbg" % (self.version, self.root)
        for tool in ("gcc", "patchelf"):
            if not shutil.which(tool):
                return "%s is not installed (apt-get install %s)" % (tool, tool)
        return None

    def build(self, scenario, outdir):
        """Compiles with this machine's headers, links against this release
        (its libc6-dev) so that no newer symbol version is needed, then points
        the program at this release's ld.so and libc."""
        src = os.path.join(_EXAMPLES_SRC, scenario + ".c")
        obj = os.path.join(outdir, scenario + ".o")
        exe = os.path.join(outdir, scenario)
        subprocess.run(["gcc", "-O0", "-g", "-c", "-I", _EXAMPLES_SRC, src, "-o", obj],
                       check=True, capture_output=True)
        link = ["gcc", obj, "-o", exe, "-pthread", "-ldl"]
        if self.has_dev:
            # gcc looks in its own multiarch dir before the sysroot's: name
            # the release's crt files and libraries first.
            devlib = os.path.join(self.root, "usr/lib/x86_64-linux-gnu")
            link[1:1] = ["--sysroot=" + self.root, "-B" + devlib + "/", "-L" + devlib,
                         "-L" + self.libdir, "-Wl,-rpath-link," + self.libdir]
        res = subprocess.run(link, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError("linking %s against glibc %s failed:\n%s" % (scenario, self.version, res.stderr))
        subprocess.run(["patchelf", "--set-interpreter", self.interp, "--set-rpath", self.libdir, exe],
                       check=True, capture_output=True)
        return exe


def cached_versions():
    want = os.environ.get("HEAPSCOPE_MATRIX_VERSION")
    if want:
        return [want]
    return sorted(os.path.basename(d) for d in glob.glob(os.path.join(glibc_cache(), "2.*"))
                  if os.path.isdir(d) and not d.endswith(".tmp"))


class _MatrixCase(unittest.TestCase):
    version = None
    scenario = None

    @classmethod
    def setUpClass(cls):
        if cls.version is None:
            raise unittest.SkipTest("base class")
        cls.sysroot = Sysroot(cls.version)
        why = cls.sysroot.missing()
        if why:
            print("SKIPPED-GLIBC-MATRIX: " + why, file=sys.stderr)
            raise unittest.SkipTest(why)
        outdir = lib.scratch_dir("heapscope-glibc-%s-" % cls.version)
        cls.exe = cls.sysroot.build(cls.scenario, outdir)
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(cls.stdout)
        # glibc 2.43+ has no fastbins and malloc_info prints no
        # <total type="fast">: that total is zero.
        mi = cls.oracle["malloc_info"]
        for h in mi["heaps"]:
            h.setdefault("fast", {"count": 0, "size": 0})
        mi["total"].setdefault("fast", {"count": 0, "size": 0})

    def check(self, *options):
        label = "glibc %s %s %s" % (self.version, self.scenario, " ".join(options) or "(debug info)")
        status, out, err = lib.run_cli(list(options) + [self.core, "heap", "arenas", "--json"])
        self.assertEqual(status, 0, "%s: heap arenas failed: %s" % (label, err))
        import json
        arenas = json.loads(out)
        self.assertEqual(arenas["glibc_version"], self.version, label)
        want_roots = "structure" if "--no-debuginfo" in options else "symbols"
        self.assertEqual(arenas["roots_found_by"], want_roots,
                         "%s: main_arena/mp_ found by %s" % (label, arenas["roots_found_by"]))
        stats = lib.run_cli_json(list(options) + [self.core, "heap", "stats"])
        mismatches = lib.compare_stats_with_oracle(stats, self.oracle)
        if mismatches:
            self.fail("%s: %d mismatch(es) with glibc's own figures:\n  %s"
                      % (label, len(mismatches), "\n  ".join(mismatches)))
        if stats["findings"]:
            _, text, _ = lib.run_cli(list(options) + [self.core, "heap", "stats"])
            self.fail("%s: the walk has %s finding(s):\n%s" % (label, stats["findings"], text))

    def test_oracle_stable(self):
        self.assertFalse(self.oracle["unstable"], "the heap changed while the program measured it")

    def test_with_debuginfo(self):
        self.check()

    def test_without_debuginfo(self):
        self.check("--no-debuginfo")


def _make_cases():
    for v in cached_versions() or [os.environ.get("HEAPSCOPE_MATRIX_VERSION", "none")]:
        for s in SCENARIOS:
            name = "Glibc_%s_%s" % (v.replace(".", "_"), s)
            globals()[name] = type(name, (_MatrixCase,), {"version": v, "scenario": s})


_make_cases()

if __name__ == "__main__":
    unittest.main()
