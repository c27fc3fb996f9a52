"""MeMS allocation sites through the generic site commands: heap sites,
heap chunk, heap flamegraph and heap leaks --by-site with --allocator mems
(or after 'heap allocator mems') read the site and sequence number MeMS
keeps in each PROCESS segment. The sites, counts and bytes equal what
examples/mems_sites printed of its own allocations; gdb and lldb print the
same bytes as the CLI."""

import collections
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402


def parse_record(stdout):
    rec = {"sites": {}, "leaked": {}, "segs": [], "blocks": []}
    for line in stdout.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "SITE":
            rec["sites"][f[1]] = (int(f[2]), int(f[3]))
        elif f[0] == "LEAKED":
            rec["leaked"][f[1]] = (int(f[2]), int(f[3]))
        elif f[0] == "SEG":
            rec["segs"].append((f[1], int(f[2]), int(f[3], 16)))
        elif f[0] == "BLOCK":
            rec["blocks"].append(int(f[1], 16))
    return rec


def by_function(doc):
    """{function: (count, bytes)} of a heap sites --json listing; each MeMS
    site is one frame."""
    out = {}
    for s in doc["sites"]:
        self_frames = s["frames"]
        assert len(self_frames) == 1, s
        out[self_frames[0]["function"]] = (s["count"], s["bytes"])
    return out


class MemsSitesTest(SameInEveryFrontEnd, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("mems_sites")
        try:
            cls.core, stdout = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.rec = parse_record(stdout)
        seg = cls.rec["segs"][0]
        block = cls.rec["blocks"][0]
        cls.COMMANDS = ["heap sites --allocator mems", "heap sites --allocator mems --json",
                        "heap sites --allocator mems --tree", "heap sites --allocator mems --state leaked",
                        "heap chunk %#x --allocator mems" % seg[2], "heap chunk %#x --allocator mems" % block]
        cls.sites = lib.run_cli_json([cls.core, "heap", "sites", "--allocator", "mems"])

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def test_sites_equal_the_programs_record(self):
        self.assertEqual(len(self.rec["sites"]), 5)
        self.assertEqual(by_function(self.sites), self.rec["sites"])
        total = self.sites["total"]
        self.assertEqual(total["count"], sum(c for c, _ in self.rec["sites"].values()))
        self.assertEqual(total["bytes"], sum(b for _, b in self.rec["sites"].values()))
        self.assertEqual(self.sites["recorder"]["origin"], "MeMS")
        for s in self.sites["sites"]:
            frame = s["frames"][0]
            self.assertTrue(frame["file"].endswith("mems_sites.c"), frame)
            self.assertGreater(frame["line"], 0)
        # Largest first: by bytes, then by count.
        self.assertEqual([s["bytes"] for s in self.sites["sites"]],
                         sorted((s["bytes"] for s in self.sites["sites"]), reverse=True))
        by_count = lib.run_cli_json([self.core, "heap", "sites", "--allocator", "mems", "--by", "count"])
        self.assertEqual(by_count["sites"][0]["frames"][0]["function"], "parse_line")
        limited = lib.run_cli_json([self.core, "heap", "sites", "--allocator", "mems", "--limit", "2"])
        self.assertEqual(limited["sites"], self.sites["sites"][:2])

    def test_text_names_function_and_line(self):
        out = self.cli("heap", "sites", "--allocator", "mems")
        count, size = self.rec["sites"]["load_table"]
        self.assertRegex(out, r"^%d live allocations in 5 sites, .* \(recorded by MeMS, root 0x[0-9a-f]+\)\n"
                         % self.sites["total"]["count"])
        self.assertRegex(out, r"\n +[0-9.]+ \S+ +%d  load_table \(mems_sites\.c:\d+\)\n" % count)

    def test_tree_has_one_frame_per_site(self):
        tree = lib.run_cli_json([self.core, "heap", "sites", "--allocator", "mems", "--tree"])["tree"]
        self.assertEqual(tree["bytes"], self.sites["total"]["bytes"])
        got = {c["frame"]["function"]: (c["count"], c["bytes"]) for c in tree["children"]}
        self.assertEqual(got, self.rec["sites"])
        self.assertTrue(all(not c["children"] for c in tree["children"]))

    def test_leaked_state_is_mems_leaks(self):
        leaked = lib.run_cli_json([self.core, "heap", "sites", "--allocator", "mems", "--state", "leaked"])
        self.assertEqual(by_function(leaked), self.rec["leaked"])
        by_site = lib.run_cli_json([self.core, "heap", "leaks", "--by-site", "--allocator", "mems"])
        self.assertEqual(by_site, leaked)
        mems = lib.run_cli_json([self.core, "mems", "leaks"])
        self.assertEqual((leaked["total"]["count"], leaked["total"]["bytes"]),
                         (mems["leaked"]["segments"], mems["leaked"]["segment_bytes"]))

    def test_chunk_shows_site_and_sequence_number(self):
        for function, seq, phys in self.rec["segs"]:
            out = self.cli("heap", "chunk", "%#x" % phys, "--allocator", "mems")
            self.assertRegex(out, r"\n  allocation #%d, at:\n    #0  0x[0-9a-f]+  %s \(mems_sites\.c:\d+\)\n$"
                             % (seq, function))
            j = lib.run_cli_json([self.core, "heap", "chunk", "%#x" % phys, "--allocator", "mems"])
            self.assertEqual(j["allocation"]["seq"], seq)
            self.assertIsNone(j["allocation"]["thread"])
            self.assertEqual(j["allocation"]["frames"][0]["function"], function)
        out = self.cli("heap", "chunk", "%#x" % self.rec["blocks"][0], "--allocator", "mems")
        self.assertTrue(out.endswith("  allocated at: not recorded (MeMS keeps no site for pool blocks)\n"), out)

    def test_flamegraph_of_mems_sites(self):
        path = os.path.join(lib.scratch_dir(), "flame.html")
        j = lib.run_cli_json([self.core, "heap", "flamegraph", "--html", path, "--allocator", "mems"])
        self.assertEqual((j["bytes"], j["count"], j["frames"]),
                         (self.sites["total"]["bytes"], self.sites["total"]["count"], 5))
        with open(path, encoding="utf-8") as f:
            self.assertIn("<h3>%d live allocations, %d (1.0 MiB) (recorded by MeMS)</h3>"
                          % (j["count"], j["bytes"]), f.read())
        import frag_html_test as fh
        if fh.chromium_path() is None:
            self.skipTest("chromium is not installed (Debian: apt-get install -y chromium)")
        from record_sites_test import FrameDivs
        status, dom, err = fh.chromium(["--virtual-time-budget=5000", "--window-size=1400,900", "--dump-dom",
                                        "file://" + path])
        frames = FrameDivs()
        frames.feed(dom)
        self.assertEqual(len(frames.divs), 6, err[-1500:])
        drawn = collections.Counter()
        for d in frames.divs[1:]:
            drawn[d["data-name"].split(" (")[0]] += int(d["data-self-bytes"])
        self.assertEqual(drawn, collections.Counter({f: b for f, (_, b) in self.rec["sites"].items()}))

    def test_chosen_allocator_in_gdb(self):
        if not lib.gdb_path():
            self.skipTest("no gdb")
        import gdb_frontend_test as g
        steps = [["cmd", "heap allocator mems"], ["cmd", "heap sites --json"]]
        results, out, err = g.run_gdb([self.exe, self.core], steps)
        self.assertIsNotNone(results, err[-2000:])
        self.assertTrue(results[1]["ok"], results[1].get("error"))
        self.assertEqual(results[1]["out"], self.cli("heap", "sites", "--allocator", "mems", "--json"))

    def test_without_allocator_the_glibc_heap_has_no_sites(self):
        status, out, err = lib.run_cli([self.core, "heap", "sites"])
        self.assertEqual((status, out), (2, ""))
        self.assertTrue(re.match(r"heapscope: no allocation sites recorded in this process", err), err)


class MemsOnlySnapshotTest(unittest.TestCase):
    """A program whose only heap is MeMS's (mems_demo): heap sites needs no
    --allocator, and a snapshot groups live bytes by MeMS's sites."""

    @classmethod
    def setUpClass(cls):
        try:
            cls.core, _ = lib.run_scenario_to_core(lib.example_path("mems_demo"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)

    def test_snapshot_by_site(self):
        sites = lib.run_cli_json([self.core, "heap", "sites"])
        self.assertEqual(sites["recorder"]["origin"], "MeMS")
        process = lib.run_cli_json([self.core, "heap", "stats", "--allocator", "mems"])["total"]["kinds"]["PROCESS"]
        self.assertEqual((sites["total"]["count"], sites["total"]["bytes"]), (process["chunks"], process["bytes"]))
        path = os.path.join(lib.scratch_dir(), "snap.json")
        status, out, err = lib.run_cli([self.core, "heap", "snapshot", "save", "a", "--file", path])
        self.assertEqual(status, 0, err)
        with open(path) as f:
            snap = json.load(f)
        self.assertTrue(snap["has_sites"])
        named = {e["site"]: (e["count"], e["bytes"]) for e in snap["by_site"] if e["site"]}
        want = {"%s (%s:%d)" % (s["frames"][0]["function"], os.path.basename(s["frames"][0]["file"]),
                                s["frames"][0]["line"]): (s["count"], s["bytes"]) for s in sites["sites"]}
        self.assertEqual(named, want)


if __name__ == "__main__":
    unittest.main()
