"""jemalloc 5.3 (examples/jemalloc_*): the model's in-use figures equal
jemalloc's own, printed by the program just before its core
(examples/jemalloc_oracle.h): in-use bytes = stats.allocated, in-use blocks =
the bins' curregs + the large classes' curlextents, and per arena the small
and large bytes of malloc_stats_print's per-arena report. Linked with
-ljemalloc (C and C++) and preloaded (LD_PRELOAD), with no jemalloc symbol
beyond its API (Debian's libjemalloc.so.2): the roots are found by shape;
linked statically (libjemalloc.a): by the program's symbols.
Standard library only.
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
import lldb_support as ls  # noqa: E402

LIBJEMALLOC = os.environ.get("HEAPSCOPE_LIBJEMALLOC", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")


def model_dump(core=None, pid=None):
    exe = os.path.join(lib.build_dir(), "tests", "programs", "jemalloc_model_dump")
    where = [core] if core else ["--pid", str(pid)]
    proc = subprocess.run([exe] + where, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("jemalloc_model_dump failed: " + proc.stderr)
    return json.loads(proc.stdout)


def parse_oracle(stdout):
    """The JEMALLOC-ORACLE block: totals, and per arena {index: (small, large)}."""
    body = stdout.split("JEMALLOC-ORACLE-BEGIN\n", 1)[1].split("JEMALLOC-ORACLE-END", 1)[0]
    if "JEMALLOC-ORACLE-ERROR" in stdout:
        raise AssertionError("the oracle could not read a figure: " + stdout)
    totals = dict(re.findall(r"(\w+)=(\S+)", body.splitlines()[0]))
    arenas = {}
    for m in re.finditer(r"arena index=(\d+) small=(\d+) large=(\d+)", body):
        arenas[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return totals, arenas


def parse_stats_print(stdout):
    """malloc_stats_print's per-arena report: {index: (small allocated, large allocated)}."""
    body = stdout.split("JEMALLOC-STATS-BEGIN\n", 1)[1].split("JEMALLOC-STATS-END", 1)[0]
    arenas = {}
    for m in re.finditer(r"arenas\[(\d+)\]:.*?\nsmall:\s+(\d+).*?\nlarge:\s+(\d+)", body, re.S):
        arenas[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return arenas


class _JemallocOracle:
    program = None
    env = None
    by_structure = True  # Debian's shared library has no internal symbol

    @classmethod
    def setUpClass(cls):
        exe = lib.example_path(cls.program)
        if cls.env:
            os.environ.update(cls.env)
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(exe)
        finally:
            for k in cls.env or {}:
                os.environ.pop(k, None)
        cls.model = model_dump(cls.core)

    def test_version_and_roots(self):
        totals, _ = parse_oracle(self.stdout)
        self.assertEqual(self.model["allocator"], "jemalloc")
        self.assertEqual(self.model["version"], totals["version"])
        self.assertTrue(self.model["version_known"])
        self.assertEqual(self.model["by_structure"], self.by_structure)
        self.assertEqual(self.model["findings"], [])

    def test_in_use_equals_jemalloc_figures(self):
        totals, _ = parse_oracle(self.stdout)
        self.assertEqual(self.model["in_use"]["bytes"], int(totals["allocated"]))
        self.assertEqual(self.model["in_use"]["chunks"], int(totals["curregs"]) + int(totals["curlextents"]))

    def test_per_arena_equals_jemalloc_figures(self):
        _, oracle_arenas = parse_oracle(self.stdout)
        got = {int(label.split()[1]): (v["small"], v["large"]) for label, v in self.model["arenas"].items()}
        for index, figures in oracle_arenas.items():
            self.assertEqual(got.get(index, (0, 0)), figures, "arena %d" % index)
        # malloc_stats_print prints the same per-arena figures, taken while
        # its own 64 KiB output buffer (STATS_PRINT_BUFSIZE) was a live large
        # allocation of one arena.
        printed = parse_stats_print(self.stdout)
        self.assertEqual(set(printed), set(oracle_arenas))
        extra = []
        for index, (small, large) in printed.items():
            self.assertEqual(small, oracle_arenas[index][0], "arena %d small" % index)
            if large != oracle_arenas[index][1]:
                extra.append(large - oracle_arenas[index][1])
        self.assertIn(extra, ([], [65536]))

    def test_cli_heap_stats_equals_jemalloc_figures(self):
        totals, _ = parse_oracle(self.stdout)
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual(stats["allocator"], "jemalloc")
        self.assertEqual(stats["version"], totals["version"])
        self.assertEqual(stats["total"]["in_use"],
                         {"chunks": int(totals["curregs"]) + int(totals["curlextents"]),
                          "bytes": int(totals["allocated"])})

    def test_cli_heap_chunks_lists_the_in_use_blocks(self):
        """heap chunks over the generic model: --state in_use lists exactly
        the live regions and large allocations jemalloc counts, each at the
        program's pointer (user offset 0)."""
        totals, _ = parse_oracle(self.stdout)
        listing = lib.run_cli_json([self.core, "heap", "chunks", "--state", "in_use"])
        rows = listing["chunks"]
        self.assertEqual(listing["matching"], len(rows))
        self.assertEqual(len(rows), int(totals["curregs"]) + int(totals["curlextents"]))
        # jemalloc's own thread-cache stacks count as allocated too.
        self.assertEqual({r["state"] for r in rows} - {"region", "large", "tcache stack"}, set())
        self.assertTrue(all(r["data"] == r["address"] for r in rows))
        everything = lib.run_cli_json([self.core, "heap", "chunks"])
        self.assertEqual(sum(r["size"] for r in everything["chunks"]), self.model["system_bytes"])

    def test_blocks_tile_what_jemalloc_mapped(self):
        kinds = self.model["kinds"]
        self.assertEqual(sum(k["bytes"] for k in kinds.values()), self.model["system_bytes"])
        self.assertGreater(kinds["base"]["bytes"], 0)


class JemallocThreadsTest(_JemallocOracle, unittest.TestCase):
    program = "jemalloc_threads"

    def test_every_arena_seen(self):
        self.assertGreaterEqual(len(self.model["arenas"]), 4)
        self.assertGreater(self.model["kinds"]["dirty"]["blocks"], 0)


class JemallocFrontEndsTest(unittest.TestCase):
    """gdb and lldb print the same bytes as the CLI on a jemalloc core."""

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("jemalloc_threads")
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        cls.lines = ["heap stats", "heap stats --json", "heap chunks --state cached --limit 20",
                     "heap chunks --min-size 4096 --json"]

    def cli(self, line):
        status, out, err = lib.run_cli([self.core] + line.split())
        self.assertEqual(status, 0, err)
        return out

    def test_gdb_prints_the_same(self):
        loader = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
        if not lib.gdb_path() or not os.path.exists(loader):
            self.skipTest("no gdb or no GDB front-end")
        for line in self.lines:
            status, out, err = lib.run_gdb_batch(self.exe, core=self.core, commands=["source " + loader, line],
                                                 init_commands=["set debuginfod enabled off"])
            self.assertEqual(status, 0, err[-500:])
            self.assertIn(self.cli(line), out, line)

    def test_lldb_prints_the_same(self):
        problem = ls.plugin_problem()
        if problem:
            self.skipTest(problem[1])
        status, outputs, out, err = ls.run_lldb(self.lines, exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        for line, got in zip(self.lines, outputs):
            self.assertEqual(got, self.cli(line), line)


class JemallocTcacheTest(unittest.TestCase):
    """No thread flushed its cache: the regions and large allocations in the
    caches are cached for the model and allocated for jemalloc's counters."""

    def test_cached_plus_in_use_equals_allocated(self):
        core, stdout = lib.run_scenario_to_core(lib.example_path("jemalloc_threads"), args=("keep-tcache",))
        model = model_dump(core)
        totals, _ = parse_oracle(stdout)
        self.assertEqual(model["findings"], [])
        cached = model["kinds"]["tcache"]
        self.assertGreater(cached["blocks"], 0)
        self.assertEqual(model["in_use"]["bytes"] + cached["bytes"], int(totals["allocated"]))
        self.assertEqual(model["in_use"]["chunks"] + cached["blocks"],
                         int(totals["curregs"]) + int(totals["curlextents"]))


class JemallocLiveTest(unittest.TestCase):
    """The same figures on the live process, stopped at READY."""

    def test_in_use_equals_jemalloc_figures(self):
        with lib.LiveScenario(lib.example_path("jemalloc_threads"), args=("live",)) as live:
            model = model_dump(pid=live.pid)
            totals, _ = parse_oracle(live.stdout)
        self.assertEqual(model["findings"], [])
        self.assertEqual(model["in_use"]["bytes"], int(totals["allocated"]))
        self.assertEqual(model["in_use"]["chunks"], int(totals["curregs"]) + int(totals["curlextents"]))


class JemallocPreloadTest(_JemallocOracle, unittest.TestCase):
    program = "jemalloc_threads_preload"
    env = {"LD_PRELOAD": LIBJEMALLOC}


class JemallocStaticTest(_JemallocOracle, unittest.TestCase):
    """libjemalloc.a linked in: the roots by the program's own symbols."""
    program = "jemalloc_threads_static"
    by_structure = False


class JemallocCxxTest(_JemallocOracle, unittest.TestCase):
    program = "jemalloc_cxx"


if __name__ == "__main__":
    unittest.main()
