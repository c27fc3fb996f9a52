"""mimalloc 2.0.9 (examples/mimalloc_threads): heapscope's in-use figures
equal mimalloc's own. The program walks each thread's heap with
mi_heap_visit_blocks just before its core and prints the live blocks and
their bytes (the visitor's block_size); it then frees blocks of worker 1
from the main thread: those wait on a page's thread_free list or on the
heap's delayed free list, free for the program, still `used` for mimalloc.
So heapscope's in_use = visited - cross-freed, its cached = cross-freed,
exactly, in chunks and bytes. Linked with -lmimalloc and preloaded
(LD_PRELOAD), with no mimalloc symbol beyond its API (Debian's
libmimalloc.so.2): the segments are found by shape. In a core, live
(--pid), and through gdb and lldb (the same bytes as the CLI).
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
from frontend_parity import SameInEveryFrontEnd  # noqa: E402

LIBMIMALLOC = os.environ.get("HEAPSCOPE_LIBMIMALLOC", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2")


def model_dump(where):
    exe = os.path.join(lib.build_dir(), "tests", "programs", "mimalloc_model_dump")
    proc = subprocess.run([exe] + list(where), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("mimalloc_model_dump failed: " + proc.stderr)
    return json.loads(proc.stdout)


def parse_oracle(stdout):
    """The MIMALLOC-ORACLE block: the totals, and the blocks each thread's visit counted."""
    body = stdout.split("MIMALLOC-ORACLE-BEGIN\n", 1)[1].split("MIMALLOC-ORACLE-END", 1)[0]
    totals = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", body.splitlines()[0])}
    per_thread = [int(b) for b in re.findall(r"heap thread=\d+ blocks=(\d+)", body)]
    return totals, per_thread


class _MimallocOracle:
    """Subclasses set `where(cls)`: (CLI target arguments, model_dump arguments, program stdout)."""

    def check_figures(self, stats, model, stdout):
        totals, per_thread = parse_oracle(stdout)
        self.assertEqual(stats["allocator"], "mimalloc")
        self.assertEqual(stats["version"], "%d.%d.%d" % (totals["version"] // 100, totals["version"] // 10 % 10,
                                                         totals["version"] % 10))
        self.assertEqual(model["findings"], [])
        self.assertTrue(model["version_known"])
        self.assertTrue(model["by_structure"])
        self.assertEqual(stats["total"]["in_use"],
                         {"chunks": totals["visited_blocks"] - totals["cross_freed_blocks"],
                          "bytes": totals["visited_bytes"] - totals["cross_freed_bytes"]})
        self.assertEqual(stats["total"]["cached"],
                         {"chunks": totals["cross_freed_blocks"], "bytes": totals["cross_freed_bytes"]})
        # Each thread's heap: what its visit counted is live or cross-freed now.
        heaps = sorted(o["in_use"] + o["cached"] for o in model["owners"].values())
        self.assertEqual(heaps, sorted(per_thread))
        # Both other-thread lists were met: the first free into a full page
        # goes to the heap's delayed list, the next ones to the page's.
        pages = model["pages"]
        self.assertGreater(pages["delayed_free"], 0)
        self.assertGreater(pages["thread_free"], 0)
        self.assertEqual(pages["delayed_free"] + pages["thread_free"], totals["cross_freed_blocks"])


class _MimallocCore(_MimallocOracle):
    program = "mimalloc_threads"
    env = None

    @classmethod
    def setUpClass(cls):
        if cls.env:
            os.environ.update(cls.env)
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(lib.example_path(cls.program))
        finally:
            for k in cls.env or {}:
                os.environ.pop(k, None)

    def test_heap_stats_equals_mimalloc_visit(self):
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.check_figures(stats, model_dump([self.core]), self.stdout)
        # No debug information: the same answer (the roots never needed any).
        self.assertEqual(lib.run_cli_json(["--no-debuginfo", self.core, "heap", "stats"]), stats)

    def test_heap_chunks_lists_the_live_blocks_and_tiles_the_segments(self):
        totals, _ = parse_oracle(self.stdout)
        rows = lib.run_cli_json([self.core, "heap", "chunks", "--state", "in_use"])["chunks"]
        self.assertEqual(len(rows), totals["visited_blocks"] - totals["cross_freed_blocks"])
        self.assertEqual({r["state"] for r in rows}, {"block", "large block", "huge block"})
        self.assertTrue(all(r["data"] == r["address"] for r in rows))
        everything = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual(sum(r["size"] for r in everything), stats["total"]["system_bytes"])
        # Segments are 32 MiB each (a huge one: its own size), tiled end to end.
        self.assertEqual(stats["total"]["system_bytes"] % (64 << 10), 0)
        for a, b in zip(everything, everything[1:]):
            self.assertLessEqual(int(a["address"], 16) + a["size"], int(b["address"], 16))


class MimallocThreadsTest(_MimallocCore, unittest.TestCase):
    def test_heap_leaks_finds_every_block_reachable(self):
        """Every block the program keeps is in a global array: none leaks,
        and the scan's objects are exactly the live blocks."""
        totals, _ = parse_oracle(self.stdout)
        leaks = lib.run_cli_json([self.core, "heap", "leaks"])
        self.assertEqual(leaks["leaked"], {"chunks": 0, "bytes": 0})
        self.assertEqual(leaks["reachable"], {"chunks": totals["visited_blocks"] - totals["cross_freed_blocks"],
                                              "bytes": totals["visited_bytes"] - totals["cross_freed_bytes"]})

    def test_heap_bins_lists_each_pages_lists(self):
        """heap bins on mimalloc: every page with its list lengths; the
        other threads' frees are on worker 1's heap's pages, and each page's
        `used` is its capacity less its free and local free blocks."""
        totals, per_thread = parse_oracle(self.stdout)
        bins = lib.run_cli_json([self.core, "heap", "bins"])
        self.assertEqual(bins["allocator"], "mimalloc")
        self.assertEqual(len(bins["heaps"]), len(per_thread))
        pages = [p for h in bins["heaps"] for p in h["pages"]]
        for p in pages:
            self.assertEqual(p["used"], p["capacity"] - p["free"] - p["local_free"], p)
        cross = [h for h in bins["heaps"] if any(p["thread_free"] + p["delayed_free"] for p in h["pages"])]
        self.assertEqual(len(cross), 1)
        self.assertEqual(sum(p["thread_free"] + p["delayed_free"] for p in cross[0]["pages"]),
                         totals["cross_freed_blocks"])
        status, out, err = lib.run_cli([self.core, "heap", "bins", "fast"])
        self.assertEqual((status, out), (2, ""))
        self.assertIn("mimalloc keeps per-page lists", err)


class MimallocPreloadTest(_MimallocCore, unittest.TestCase):
    program = "mimalloc_threads_preload"
    env = {"LD_PRELOAD": LIBMIMALLOC}


class MimallocExitedTest(unittest.TestCase):
    """A thread that ended: mimalloc abandoned its segments, no heap owns
    them, and they are read all the same (owner "abandoned"), with what the
    thread recorded it kept."""

    def test_abandoned_blocks_are_in_use(self):
        core, stdout = lib.run_scenario_to_core(lib.example_path("mimalloc_exited"))
        totals, _ = parse_oracle(stdout)
        model = model_dump([core])
        self.assertEqual(model["findings"], [])
        self.assertEqual(model["owners"]["abandoned"], {"in_use": totals["exited_blocks"], "cached": 0})
        stats = lib.run_cli_json([core, "heap", "stats"])
        self.assertEqual(stats["total"]["in_use"],
                         {"chunks": totals["visited_blocks"] + totals["exited_blocks"],
                          "bytes": totals["visited_bytes"] + totals["exited_bytes"]})


class MimallocLiveTest(_MimallocOracle, unittest.TestCase):
    """The same figures on the live process, stopped at READY."""

    def test_heap_stats_equals_mimalloc_visit(self):
        with lib.LiveScenario(lib.example_path("mimalloc_threads"), args=("live",)) as live:
            stats = lib.run_cli_json(["--pid", live.pid, "heap", "stats"])
            model = model_dump(["--pid", str(live.pid)])
            self.check_figures(stats, model, live.stdout)


class MimallocFrontEndsTest(SameInEveryFrontEnd, unittest.TestCase):
    """gdb and lldb print the same bytes as the CLI on a mimalloc core."""
    COMMANDS = ["heap stats", "heap stats --json", "heap chunks --state cached --limit 20",
                "heap chunks --min-size 100000 --json", "heap bins --limit 5", "heap bins --json"]

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("mimalloc_threads")
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out


if __name__ == "__main__":
    unittest.main()
