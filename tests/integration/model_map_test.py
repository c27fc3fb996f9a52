"""heap map on allocators other than glibc (jemalloc_threads, musl_threads,
tcmalloc_threads, mimalloc_threads), on real cores.

`heap map --json` counts every block by its generic state: the totals equal
`heap stats --json`'s (which counts mapped blocks as in use). Its rows are
the allocator's system ranges, each once: page-rounded and merged they are
`heap pages --json`'s regions, and every block `heap chunks --json` lists
lies in exactly one row, the rows' block counts adding up. `--html FILE`
writes the page with the block count in its data (and, with chromium, the
page draws every row and passes its own hover self-test). gdb and lldb print
the CLI's bytes. Standard library only.
"""

import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402

STATES = ("in_use", "free", "cached", "top", "mapped", "metadata", "unknown")


class _ModelMap:
    program = None
    allocator = None

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path(cls.program)
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        cls.map = lib.run_cli_json([cls.core, "heap", "map"])
        cls.COMMANDS = ["heap map", "heap map --width 24"]

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def test_state_totals_are_the_stats_totals(self):
        self.assertEqual(self.map["allocator"], self.allocator)
        stats = lib.run_cli_json([self.core, "heap", "stats"])["total"]
        got = self.map["states"]
        self.assertEqual(set(got), set(STATES))
        for state in ("cached", "free", "top", "metadata", "unknown"):
            with self.subTest(state=state):
                self.assertEqual((got[state]["blocks"], got[state]["bytes"]),
                                 (stats[state]["chunks"], stats[state]["bytes"]))
        self.assertEqual((got["in_use"]["blocks"] + got["mapped"]["blocks"],
                          got["in_use"]["bytes"] + got["mapped"]["bytes"]),
                         (stats["in_use"]["chunks"], stats["in_use"]["bytes"]))
        self.assertGreater(got["in_use"]["blocks"], 0)
        self.assertEqual(self.map["blocks"], sum(got[s]["blocks"] for s in STATES))

    def test_rows_are_the_system_ranges(self):
        rows = self.map["rows"]
        ranges = sorted((int(r["begin"], 16), int(r["end"], 16)) for r in rows)
        for (b0, e0), (b1, _e1) in zip(ranges, ranges[1:]):
            self.assertLessEqual(e0, b1, "rows overlap")
        pages = lib.run_cli_json([self.core, "heap", "pages"])
        ps = pages["page_size"]
        merged = []
        for b, e in ranges:
            b, e = b // ps * ps, (e + ps - 1) // ps * ps
            if merged and b <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([b, e])
        self.assertEqual(merged, [[int(r["begin"], 16), int(r["end"], 16)] for r in pages["regions"]])
        # Every block in exactly one row; the rows' counts are those blocks.
        blocks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        counts = [0] * len(ranges)
        i = 0
        for blk in sorted(int(c["address"], 16) for c in blocks):
            while i < len(ranges) and ranges[i][1] <= blk:
                i += 1
            self.assertTrue(i < len(ranges) and ranges[i][0] <= blk, "block %#x in no row" % blk)
            counts[i] += 1
        by_begin = {int(r["begin"], 16): r["blocks"] for r in rows}
        self.assertEqual(counts, [by_begin[b] for b, _e in ranges])
        self.assertEqual(sum(counts), self.map["blocks"])
        for r in rows:
            self.assertEqual(len(r["strip"]), self.map["width"])
            self.assertRegex(r["strip"], r"^[#\-c.Mm?%]+$")

    def test_text_has_a_strip_per_row(self):
        text = self.cli("heap", "map", "--width", "24")
        strips = re.findall(r"^  \|(.*)\|$", text, re.M)
        self.assertEqual(len(strips), len(self.map["rows"]))
        self.assertTrue(all(len(s) == 24 for s in strips), strips)
        self.assertTrue(text.startswith("%s %s: %d system range" % (self.allocator, self.map["version"],
                                                                   len(self.map["rows"]))), text[:200])

    def test_html_page(self):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "map.html")
            out = lib.run_cli_json([self.core, "heap", "map", "--html", page])
            self.assertEqual((out["rows"], out["blocks"]), (len(self.map["rows"]), self.map["blocks"]))
            with open(page, encoding="utf-8") as f:
                html = f.read()
            self.assertEqual(out["bytes"], len(html.encode("utf-8")))
            self.assertIn('"blocks":%d' % self.map["blocks"], html)
            self.assertIn('"allocator":"%s"' % self.allocator, html)
            import frag_html_test as fh
            if not fh.chromium_path():
                return
            attrs = fh.render(page)
            self.assertEqual(attrs.get("data-selftest"), "ok", attrs)
            self.assertEqual(attrs.get("data-errors"), "0", attrs)
            self.assertEqual(attrs.get("data-heaps-drawn"), str(len(self.map["rows"])), attrs)
            # The self-test hovered the first row: named as OWNER range N, in blocks.
            tip = attrs.get("data-tooltip", "")
            self.assertRegex(tip, r"^.+ range 0 \| ")
            self.assertNotIn("chunk", tip)

    def test_glibc_options_are_refused(self):
        status, out, err = lib.run_cli([self.core, "heap", "map", "--arena", "0"])
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "heapscope: heap map --arena needs glibc's heap; malloc in this process is %s\n"
                         % self.allocator)


class TcmallocLeakMarksTest(unittest.TestCase):
    """The HTML page marks every block `heap leaks` lists, by its class."""

    def test_marks_are_the_leaks(self):
        core, _ = lib.run_scenario_to_core(lib.example_path("tcmalloc_leaks_basic"))
        leaks = lib.run_cli_json([core, "heap", "leaks"])
        want = sorted((c["class"], c["address"]) for c in leaks["chunks"])
        self.assertGreater(len(want), 0)
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "map.html")
            lib.run_cli_json([core, "heap", "map", "--html", page])
            with open(page, encoding="utf-8") as f:
                text = f.read()
        data = json.loads(re.search(r'id="heapscope-data"[^>]*>(.*?)</script>', text, re.S).group(1))
        self.assertEqual(sorted((m["kind"], m["address"]) for m in data["marks"]), want)
        self.assertEqual(data["marks_total"], len(want))


class MemsMapTest(unittest.TestCase):
    """heap map --allocator mems draws the MeMS nodes; its page marks the
    walk's findings and heap leaks' MeMS leaks."""

    def test_mems_rows_and_leak_marks(self):
        try:
            core, _ = lib.run_scenario_to_core(lib.example_path("mems_demo"))
        except lib.CoreUnavailable as e:  # sanitized libmems: ASan turns cores off
            self.skipTest("cannot produce core files here: %s" % e)
        got = lib.run_cli_json([core, "heap", "map", "--allocator", "mems"])
        self.assertEqual(got["allocator"], "mems")
        self.assertGreater(len(got["rows"]), 0)
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "map.html")
            lib.run_cli_json([core, "heap", "map", "--allocator", "mems", "--html", page])
            with open(page, encoding="utf-8") as f:
                text = f.read()
        data = json.loads(re.search(r'id="heapscope-data"[^>]*>(.*?)</script>', text, re.S).group(1))
        leaks = lib.run_cli_json([core, "heap", "leaks", "--allocator", "mems"])
        want = sorted(["finding"] * got["findings"] + [c["class"] for c in leaks["chunks"]])
        self.assertEqual(sorted(m["kind"] for m in data["marks"]), want)


class JemallocMapTest(_ModelMap, SameInEveryFrontEnd, unittest.TestCase):
    program = "jemalloc_threads"
    allocator = "jemalloc"


class MuslMapTest(_ModelMap, SameInEveryFrontEnd, unittest.TestCase):
    program = "musl_threads"
    allocator = "musl"


class TcmallocMapTest(_ModelMap, SameInEveryFrontEnd, unittest.TestCase):
    program = "tcmalloc_threads"
    allocator = "tcmalloc"


class MimallocMapTest(_ModelMap, SameInEveryFrontEnd, unittest.TestCase):
    program = "mimalloc_threads"
    allocator = "mimalloc"


if __name__ == "__main__":
    unittest.main()
