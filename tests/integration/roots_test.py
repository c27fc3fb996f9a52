"""Finding glibc's heap in processes the other tests do not build: a main
arena with nearly every bin in use, statically linked programs (with and
without symbols), and processes whose malloc is not glibc's.

  - scenario_bins (more than 3/4 of the main arena's bins in use) and
    scenario_static / scenario_static_stripped (gcc -static): `heap stats`
    equals glibc's malloc_info/mallinfo2, `heap check` finds nothing, with
    and without debug info; gdb and lldb print the CLI's bytes.
  - other_malloc with jemalloc, tcmalloc, mimalloc preloaded, jemalloc
    linked, and built with musl-gcc (dynamic, static, static stripped): one
    line naming the allocator (CLI: exit 2), the same line in gdb and lldb
    (jemalloc, mimalloc and tcmalloc have models: heap stats reads them);
    with jemalloc preloaded and glibc's heap used too (__libc_malloc), the
    glibc heap is read as always.
Environment: HEAPSCOPE_ROOTS_PROGRAMS (where CMake built other_malloc*), and
the usual HEAPSCOPE_BUILD_DIR, HEAPSCOPE_CLI, HEAPSCOPE_LLDB_PLUGIN.
Standard library only.
"""

import ctypes.util
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
import gdb_frontend_test as gft  # noqa: E402
import lldb_support as ls  # noqa: E402

PROGRAMS = os.environ.get("HEAPSCOPE_ROOTS_PROGRAMS") or os.path.join(lib.build_dir(), "tests", "programs")
LINES = ["heap stats", "heap stats --json", "heap check", "heap arenas"]


def cli(core, line, debuginfo=True):
    return lib.run_cli((["--no-debuginfo"] if not debuginfo else []) + [core] + line.split())


def gdb_results(exe, core, lines, debuginfo=True):
    """gdb's answer to each line: (ok, text) with text the output or the error line."""
    if gft.GDB is None or not os.path.exists(gft.LOADER):
        raise unittest.SkipTest("gdb or the GDB front-end is missing")
    before = [] if debuginfo else [["cmd", "set heapscope debuginfo off"]]
    results, out, err = gft.run_gdb([exe, core], before + [["cmd", l] for l in lines])
    if results is None:
        raise AssertionError("the gdb runner wrote no results: " + (out + err)[-2000:])
    results = results[len(before):]
    return [(r["ok"], r.get("out") if r["ok"] else r.get("error", "") + "\n") for r in results]


def lldb_outputs(exe, core, lines):
    problem = ls.plugin_problem()
    if problem:
        if problem[0] == "skip":
            raise unittest.SkipTest(problem[1])
        raise AssertionError(problem[1])
    status, outputs, out, err = ls.run_lldb(lines, exe=exe, core=core)
    return status, outputs, err


class _OracleScenario:
    """A scenario that prints glibc's figures, then aborts."""
    program = None

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path(cls.program)
        if not os.path.exists(cls.exe):
            raise unittest.SkipTest("%s not built (gcc -static needs libc6-dev's libc.a)" % cls.program)
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(cls.stdout)

    def test_oracle_stable(self):
        self.assertFalse(self.oracle["unstable"])

    def test_stats_equal_glibc_and_check_is_clean(self):
        for debuginfo in (True, False):
            with self.subTest(debuginfo=debuginfo):
                status, out, err = cli(self.core, "heap stats --json", debuginfo)
                self.assertEqual(status, 0, err)
                self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), self.oracle), [])
                status, out, err = cli(self.core, "heap check", debuginfo)
                self.assertEqual((status, err), (0, ""))
                self.assertRegex(out, r"^no problems found in \d+ chunks\n$")

    def test_gdb_prints_the_same(self):
        for debuginfo in (True, False):
            got = gdb_results(self.exe, self.core, LINES, debuginfo)
            for line, (ok, text) in zip(LINES, got):
                with self.subTest(debuginfo=debuginfo, command=line):
                    status, out, err = cli(self.core, line, debuginfo)
                    self.assertEqual((ok, text), (status == 0, out if status == 0 else err))

    def test_lldb_prints_the_same(self):
        status, outputs, err = lldb_outputs(self.exe, self.core, LINES)
        self.assertEqual(status, 0, err)
        for line, got in zip(LINES, outputs):
            with self.subTest(command=line):
                status, out, _ = cli(self.core, line)
                self.assertEqual(status, 0)
                self.assertEqual(got, out)


class BinsTest(_OracleScenario, unittest.TestCase):
    program = "scenario_bins"

    def test_most_bins_in_use(self):
        """More than three quarters of the main arena's 126 bins hold chunks,
        small and large ones."""
        lists = lib.run_cli_json([self.core, "heap", "bins"])["lists"]
        used = {(l["kind"], l["bin"]) for l in lists
                if l["arena"] == 0 and l["kind"] in ("small", "large") and l["length"] > 0}
        small = sum(1 for k, _ in used if k == "small")
        large = sum(1 for k, _ in used if k == "large")
        self.assertGreater(small + large, 126 * 3 // 4, (small, large))
        self.assertGreater(small, 40)
        self.assertGreater(large, 40)
        self.assertIn("BINS small=%d large=%d" % (small, large), self.stdout)


class StaticTest(_OracleScenario, unittest.TestCase):
    program = "scenario_static"

    def test_found_in_the_executable(self):
        h = lib.run_cli_json([self.core, "heap", "arenas"])
        self.assertEqual(h["glibc_version"], "2.35-2.41")
        self.assertGreater(len(h["arenas"]), 1)
        # Every thread's tcache, from its static TLS block.
        self.assertEqual(len([t for a in h["arenas"] for t in a.get("tcaches", [])]), len(h["arenas"]))

    def test_no_leaks(self):
        """glibc's own startup allocations (held from the executable's RELRO)
        and the threads' DTVs are reachable."""
        d = lib.run_cli_json([self.core, "heap", "leaks"])
        self.assertEqual((d["leaked"]["chunks"], d["possible"]["chunks"]), (0, 0))


class StaticStrippedTest(StaticTest):
    program = "scenario_static_stripped"

    def test_found_by_structure(self):
        self.assertEqual(lib.run_cli_json([self.core, "heap", "arenas"])["roots_found_by"], "structure")


def preload(name):
    so = ctypes.util.find_library(name)
    if not so:
        raise unittest.SkipTest("lib%s is not installed (scripts/install-deps.sh)" % name)
    return so


class OtherMallocTest(unittest.TestCase):
    """One line naming the allocator, in every front-end."""

    def core_of(self, exe, env=None, args=()):
        """(core, stdout) of exe run with env added, to its abort."""
        if not os.path.exists(exe):
            self.skipTest("%s not built" % exe)
        assignments = ["%s=%s" % kv for kv in (env or {}).items()]
        try:
            return lib.run_scenario_to_core("/usr/bin/env", assignments + [exe] + list(args))
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))

    def check_one_line(self, exe, core, expected):
        """The CLI's one line (exit 2) matches `expected`, with and without
        debug info; gdb and lldb give the same line."""
        for debuginfo in (True, False):
            status, out, err = cli(core, "heap stats", debuginfo)
            self.assertEqual((status, out), (2, ""))
            self.assertRegex(err, "^heapscope: " + expected + "\n$")
        lines = ["heap stats", "heap chunks"]
        for ok, text in gdb_results(exe, core, lines):
            self.assertEqual((ok, text), (False, err))
        # lldb's batch mode stops at the first error: one command.
        status, outputs, lldb_err = lldb_outputs(exe, core, ["heap chunks"])
        self.assertNotEqual(status, 0)
        # lldb prints "error: " where the CLI prints "heapscope: ".
        self.assertEqual(ls.lldb_error_line(lldb_err), err[len("heapscope: "):].rstrip("\n"))

    def check_model(self, core, allocator, glibc_only, error):
        """The allocator has a model: heap stats, heap leaks and heap check
        read it; a command that reads glibc's heap only (`glibc_only`) still
        names the allocator in one line, matching `error`."""
        for debuginfo in (True, False):
            status, out, err = cli(core, "heap stats --json", debuginfo)
            self.assertEqual(status, 0, err)
            self.assertEqual(json.loads(out)["allocator"], allocator)
            status, out, err = cli(core, "heap leaks", debuginfo)
            self.assertEqual(status, 0, err)
            self.assertTrue(out.startswith("leaked: "), out)
            status, out, err = cli(core, "heap check", debuginfo)
            self.assertEqual(status, 0, err)
            self.assertRegex(out, r"^no problems found in \d+ chunks\n$")
            status, out, err = cli(core, glibc_only, debuginfo)
            self.assertEqual((status, out), (2, ""))
            self.assertRegex(err, "^heapscope: " + error + "\n$")

    def check_jemalloc(self, core, name="jemalloc", shown="libjemalloc.so", glibc_only="heap bins"):
        """jemalloc, mimalloc and tcmalloc: their glibc-only command says which allocator it is."""
        self.check_model(core, name, glibc_only,
                         r"malloc in this process is %s \(%s[^)]*\); glibc's heap is unused" % (name, re.escape(shown)))

    def test_preloaded(self):
        exe = os.path.join(PROGRAMS, "other_malloc")
        for name, shown in (("jemalloc", "libjemalloc.so"), ("tcmalloc", "libtcmalloc"),
                            ("mimalloc", "libmimalloc.so")):
            with self.subTest(allocator=name):
                # jemalloc's program also calls malloc_info: glibc's main
                # arena is then set up, but still holds nothing.
                args = ["info"] if name == "jemalloc" else []
                core, _ = self.core_of(exe, {"LD_PRELOAD": preload(name)}, args)
                if name in ("jemalloc", "mimalloc", "tcmalloc"):
                    self.check_jemalloc(core, name, shown, "heap bins" if name == "jemalloc" else "heap arenas")
                    continue
                self.check_one_line(exe, core, r"malloc in this process is %s \(%s[^)]*\); glibc's heap is unused"
                                    % (name, re.escape(shown)))

    def test_linked(self):
        exe = os.path.join(PROGRAMS, "other_malloc_jemalloc")
        core, _ = self.core_of(exe)
        self.check_jemalloc(core)

    def test_musl(self):
        for name, where in (("other_malloc_musl", r"/[^)]*-linux-musl/libc.so"),
                            ("other_malloc_musl_static", "linked into other_malloc_musl_static"),
                            ("other_malloc_musl_static_stripped", "linked into other_malloc_musl_static_stripped")):
            with self.subTest(program=name):
                exe = os.path.join(PROGRAMS, name)
                core, _ = self.core_of(exe)
                # mallocng has a model (tests/integration/musl_test.py).
                self.check_model(core, "musl", "heap arenas",
                                 r"malloc in this process is musl's malloc \(%s\); there is no glibc heap" % where)

    def test_glibc_heap_used_too(self):
        """jemalloc preloaded, and the program allocating from glibc's heap
        as well (__libc_malloc): glibc's heap is read as always."""
        exe = os.path.join(PROGRAMS, "other_malloc")
        core, stdout = self.core_of(exe, {"LD_PRELOAD": preload("jemalloc")}, ["glibc-too"])
        oracle = lib.parse_oracle(stdout)
        for debuginfo in (True, False):
            with self.subTest(debuginfo=debuginfo):
                status, out, err = cli(core, "heap stats --json", debuginfo)
                self.assertEqual(status, 0, err)
                self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), oracle), [])


if __name__ == "__main__":
    unittest.main()
