"""heap sites on a program whose allocation sites are known.

tests/recorder/programs/record_sites.c, run with libheapscope-record.so
preloaded, prints each allocation it keeps with the function that made it
and its thread, then aborts. Checks:
  - `heap sites --json` on the core: per site function, the count of live
    allocations is the program's, the bytes are those of its chunks in
    `heap chunks`, the recursive site has one stack per depth, frames carry
    file:line, totals add up;
  - --by count order, --limit, the text form;
  - gdb and lldb print the same bytes as the CLI;
  - without the recorder: one line saying how to get sites, exit 2;
  - a core whose tables are corrupt: findings, no crash;
  - `heap chunk ADDR` shows the block's allocation stack, sequence number
    and thread; without the recorder its output is as before;
  - `heap sites --tree`: bytes by call path add up to the table's;
  - `heap sites --state leaked` and `heap leaks --by-site`: the program's
    LEAK lines (blocks it dropped every pointer to), by site;
  - `heap flamegraph --html`: drawn in headless Chromium, frames' bytes
    equal the sites'.
Standard library only.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402


def record_lib():
    return os.environ.get("HEAPSCOPE_RECORD_LIB") or os.path.join(lib.build_dir(), "lib", "libheapscope-record.so")


def sites_program():
    return os.environ.get("HEAPSCOPE_RECORD_SITES") or os.path.join(lib.build_dir(), "tests", "programs",
                                                                      "record_sites")


def parse_live(stdout):
    """LIVE lines -> [(address, site function, tid)]."""
    out = []
    for line in stdout.splitlines():
        w = line.split()
        if w and w[0] == "LIVE":
            out.append((int(w[1], 16), w[2], int(w[3])))
    if not out:
        raise AssertionError("record_sites printed no LIVE lines:\n" + stdout[-2000:])
    return out


def parse_leaks(stdout):
    """LEAK lines -> [(address, site function)] (the program prints addresses masked)."""
    return [(int(w[1], 16) ^ 0x5a5a5a5a5a5a5a5a, w[2]) for w in (l.split() for l in stdout.splitlines())
            if w and w[0] == "LEAK"]


def tree_nodes(node, parent_funcs=()):
    """Every node of a --tree JSON tree, with the functions of its path."""
    funcs = parent_funcs + ((node["frame"] or {}).get("function"),)
    yield node, funcs
    for c in node["children"]:
        yield from tree_nodes(c, funcs)


_recorded = {}


def recorded_core(exe):
    """One core of record_sites under the recorder, shared by the test classes."""
    if "core" not in _recorded:
        try:
            _recorded["core"] = lib.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + record_lib(), exe])
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
    return _recorded["core"]


def set_up_recorded(cls):
    """The shared core of record_sites under the recorder, and what it printed, on a test class."""
    cls.exe = sites_program()
    if not os.path.exists(cls.exe):
        raise unittest.SkipTest("record_sites not built")
    cls.core, cls.stdout = recorded_core(cls.exe)
    cls.live = parse_live(cls.stdout)
    cls.leaks = parse_leaks(cls.stdout)
    cls.doc = lib.run_cli_json([cls.core, "heap", "sites"])


def site_of(group):
    f = group["frames"]
    return f[0]["function"] if f else None


class RecordSitesTest(SameInEveryFrontEnd, unittest.TestCase):
    COMMANDS = ["heap sites", "heap sites --json", "heap sites --by count --limit 3", "heap sites --tree",
                "heap sites --tree --json", "heap sites --state leaked", "heap leaks --by-site",
                "heap leaks --by-site --json"]

    @classmethod
    def setUpClass(cls):
        set_up_recorded(cls)
        alpha = next(a for a, site, _ in cls.live if site == "site_alpha")
        thread = next(a for a, site, _ in cls.live if site == "site_thread")
        cls.COMMANDS = cls.COMMANDS + ["heap chunk 0x%x" % alpha, "heap chunk 0x%x --json" % thread]

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def test_counts_and_bytes_per_site_match_the_program(self):
        chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        size_at = {int(c["data"], 16): c["size"] for c in chunks if c["state"] in ("in_use", "mmapped")}
        want_count, want_bytes = collections.Counter(), collections.Counter()
        for address, site, _ in self.live:
            self.assertIn(address, size_at, "0x%x (%s) is not an in-use chunk" % (address, site))
            want_count[site] += 1
            want_bytes[site] += size_at[address]
        got_count, got_bytes = collections.Counter(), collections.Counter()
        for g in self.doc["sites"]:
            if site_of(g) in want_count:
                got_count[site_of(g)] += g["count"]
                got_bytes[site_of(g)] += g["bytes"]
        self.assertEqual(got_count, want_count)
        self.assertEqual(got_bytes, want_bytes)

    def test_one_stack_per_depth_and_per_call(self):
        by_site = collections.defaultdict(list)
        for g in self.doc["sites"]:
            by_site[site_of(g)].append(g)
        depths = sorted(sum(1 for f in g["frames"] if f["function"] == "site_recursive")
                        for g in by_site["site_recursive"])
        self.assertEqual(depths, [1, 2, 3, 4])
        self.assertEqual(len(by_site["site_aligned"]), 4)
        self.assertEqual(len(by_site["site_thread"]), 1)
        self.assertEqual([g["count"] for g in by_site["site_thread"]], [18])
        for g in by_site["site_alpha"] + by_site["site_beta"]:
            f = g["frames"][0]
            self.assertTrue(f["file"].endswith("record_sites.c"), f)
            self.assertGreater(f["line"], 0)
            self.assertEqual(g["frames"][1]["function"], "main")

    def test_totals_add_up(self):
        d = self.doc
        self.assertEqual(d["total"]["count"], sum(g["count"] for g in d["sites"]))
        self.assertEqual(d["total"]["bytes"], sum(g["bytes"] for g in d["sites"]))
        self.assertEqual(d["total"]["sites"], len(d["sites"]))
        self.assertEqual(d["total"]["not_in_heap"], 0)
        self.assertEqual(d["findings"], [])
        self.assertTrue(d["recorder"]["by_symbol"])
        self.assertEqual([g["bytes"] for g in d["sites"]], sorted((g["bytes"] for g in d["sites"]), reverse=True))

    def test_by_count_and_limit(self):
        d = lib.run_cli_json([self.core, "heap", "sites", "--by", "count", "--limit", "2"])
        self.assertEqual(len(d["sites"]), 2)
        counts = sorted((g["count"] for g in self.doc["sites"]), reverse=True)
        self.assertEqual([g["count"] for g in d["sites"]], counts[:2])
        self.assertEqual(site_of(d["sites"][0]), "site_thread")
        status, _, err = lib.run_cli([self.core, "heap", "sites", "--by", "age"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_text_form(self):
        out = self.cli("heap", "sites")
        self.assertTrue(out.startswith("%d live allocations in %d sites" % (self.doc["total"]["count"],
                                                                            self.doc["total"]["sites"])), out)
        for site in ("site_alpha", "site_beta", "site_gamma", "site_thread", "site_recursive"):
            self.assertRegex(out, r"\b%s \(record_sites\.c:\d+\)" % site)


    def test_without_the_recorder_one_line_says_how(self):
        core, _ = lib.run_scenario_to_core(self.exe)
        status, out, err = lib.run_cli([core, "heap", "sites"])
        self.assertEqual(status, 2, out)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("LD_PRELOAD=libheapscope-record.so", err)
        status, _, err = lib.run_cli([core, "heap", "stats"])
        self.assertEqual(status, 0, err)

    def test_live_process_gives_the_same_sites(self):
        proc = subprocess.Popen([self.exe, "wait"], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, LD_PRELOAD=record_lib()))
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("READY"):
                    break
            live = parse_live("".join(lines))
            d = lib.run_cli_json(["--pid", str(proc.pid), "heap", "sites"])
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        counts = collections.Counter(site for _, site, _ in live)
        got = collections.Counter()
        for g in d["sites"]:
            if site_of(g) in counts:
                got[site_of(g)] += g["count"]
        self.assertEqual(got, counts)
        self.assertEqual(d["recorder"]["pid"], proc.pid)
        self.assertEqual(d["findings"], [])

    def test_root_found_by_magic_without_symbols(self):
        # The library the process mapped is gone when heapscope reads the
        # core: no symbol, so the root is found by its magic in module data.
        work = lib.scratch_dir()
        copy = os.path.join(work, "libheapscope-record.so")
        shutil.copy(record_lib(), copy)
        core, stdout = lib.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + copy, self.exe], workdir=work)
        os.remove(copy)
        d = lib.run_cli_json([core, "heap", "sites"])
        self.assertFalse(d["recorder"]["by_symbol"])
        self.assertEqual(d["total"]["count"], self.doc["total"]["count"])
        self.assertEqual(sorted(g["count"] for g in d["sites"]), sorted(g["count"] for g in self.doc["sites"]))
        self.assertEqual(d["findings"], [])

    def test_corrupt_tables_become_findings(self):
        with open(self.core, "rb") as f:
            data = bytearray(f.read())
        at = data.find(b"HSrecord")
        self.assertGreater(at, 0, "no recorder root in the core file")
        bad = os.path.join(lib.scratch_dir(), "core.corrupt")
        # records_used (offset 56) huge; stack segment 0 (offset 464) nowhere.
        data[at + 56:at + 64] = (1 << 40).to_bytes(8, "little")
        data[at + 464:at + 472] = (0xdead0000).to_bytes(8, "little")
        with open(bad, "wb") as f:
            f.write(data)
        d = lib.run_cli_json([bad, "heap", "sites"])
        self.assertTrue(d["findings"], d)
        self.assertTrue(any("stack segment 0" in x for x in d["findings"]), d["findings"])
        status, out, err = lib.run_cli([bad, "heap", "sites"])
        self.assertEqual(status, 0, err)
        self.assertIn("warning:", out)
        # A root of another layout version: one line, exit 2.
        data[at + 8:at + 12] = (99).to_bytes(4, "little")
        with open(bad, "wb") as f:
            f.write(data)
        status, out, err = lib.run_cli([bad, "heap", "sites"])
        self.assertEqual(status, 2, out)
        self.assertIn("layout version 99", err)


class RecordedChunkAndTreeTest(unittest.TestCase):
    """heap chunk's allocation, the tree, the leaked sites, on RecordSitesTest's core."""

    @classmethod
    def setUpClass(cls):
        set_up_recorded(cls)

    def test_chunk_shows_its_allocation_stack_and_thread(self):
        seqs = []
        for address, site, tid in self.live:
            d = lib.run_cli_json([self.core, "heap", "chunk", "0x%x" % address])
            a = d["allocation"]
            self.assertEqual(a["frames"][0]["function"], site, "0x%x" % address)
            self.assertEqual(a["thread"], tid, "0x%x" % address)
            if site == "site_alpha":
                self.assertTrue(a["frames"][0]["file"].endswith("record_sites.c"))
                self.assertGreater(a["frames"][0]["line"], 0)
                seqs.append(a["seq"])
            if site == "site_recursive":
                self.assertIn(sum(1 for f in a["frames"] if f["function"] == "site_recursive"), (1, 2, 3, 4))
        # The kept site_alpha blocks were allocated in program order.
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 4)
        address, site, tid = self.live[0]
        status, out, err = lib.run_cli([self.core, "heap", "chunk", "0x%x" % address])
        self.assertEqual(status, 0, err)
        self.assertRegex(out, r"allocated by thread %d, allocation #\d+, at:\n    #0  0x[0-9a-f]+  %s "
                              r"\(record_sites\.c:\d+\)" % (tid, site))

    def test_chunk_without_the_recorder_is_unchanged(self):
        core, stdout = lib.run_scenario_to_core(self.exe)
        address = parse_live(stdout)[0][0]
        d = lib.run_cli_json([core, "heap", "chunk", "0x%x" % address])
        self.assertNotIn("allocation", d)
        status, out, _ = lib.run_cli([core, "heap", "chunk", "0x%x" % address])
        self.assertEqual(status, 0)
        self.assertNotIn("allocated", out)

    def test_tree_adds_up_to_the_table(self):
        t = lib.run_cli_json([self.core, "heap", "sites", "--tree"])["tree"]
        self.assertEqual((t["bytes"], t["count"]), (self.doc["total"]["bytes"], self.doc["total"]["count"]))
        by_site = collections.Counter()
        recursive_paths = []
        for node, funcs in tree_nodes(t):
            self.assertEqual(node["bytes"], node["self_bytes"] + sum(c["bytes"] for c in node["children"]))
            self.assertEqual(node["count"], node["self_count"] + sum(c["count"] for c in node["children"]))
            if node["self_bytes"]:
                by_site[funcs[-1]] += node["self_bytes"]
            if node["self_count"] and funcs[-1] == "site_recursive":
                recursive_paths.append(funcs.count("site_recursive"))
        want = collections.Counter()
        for g in self.doc["sites"]:
            want[site_of(g)] += g["bytes"]
        self.assertEqual(by_site, want)
        self.assertEqual(sorted(recursive_paths), [1, 2, 3, 4])
        # Text: main's callees are indented below it.
        out = lib.run_cli([self.core, "heap", "sites", "--tree", "--limit", "50"])[1]
        lines = out.splitlines()
        main = next(i for i, l in enumerate(lines) if " main (record_sites.c:" in l)
        alpha = next(i for i, l in enumerate(lines) if " site_alpha (record_sites.c:" in l)
        self.assertGreater(alpha, main)
        self.assertIn("(all recorded allocations)", lines[2])

    def test_leaked_sites_are_the_programs_leaks(self):
        self.assertEqual(len(self.leaks), 3)
        d = lib.run_cli_json([self.core, "heap", "leaks", "--by-site"])
        self.assertEqual(d["state"], "leaked")
        groups = [g for g in d["sites"] if site_of(g) == "site_leak"]
        # One stack per call of site_leak when the compiler unrolls its loop.
        self.assertEqual(sum(g["count"] for g in groups), 3)
        chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        size_at = {int(c["data"], 16): c["size"] for c in chunks}
        self.assertEqual(sum(g["bytes"] for g in groups), sum(size_at[a] for a, _ in self.leaks))
        # Every leaked chunk heap leaks finds is in a site, and nothing else is.
        leaks = lib.run_cli_json([self.core, "heap", "leaks"])
        self.assertEqual(d["total"]["count"], leaks["leaked"]["chunks"])
        self.assertEqual(lib.run_cli_json([self.core, "heap", "sites", "--state", "leaked"]), d)
        status, out, err = lib.run_cli([self.core, "heap", "leaks", "--by-site"])
        self.assertEqual(status, 0, err)
        self.assertRegex(out, r"^%d leaked allocations? in \d+ sites?" % d["total"]["count"])
        self.assertRegex(out, r"site_leak \(record_sites\.c:\d+\)")
        status, _, err = lib.run_cli([self.core, "heap", "leaks", "--by-site", "--summary"])
        self.assertEqual(status, 2)

    def test_flamegraph_draws_the_sites_bytes(self):
        import frag_html_test as fh
        if fh.chromium_path() is None:
            self.skipTest("chromium is not installed (Debian: apt-get install -y chromium)")
        path = os.path.join(lib.scratch_dir(), "flame.html")
        j = lib.run_cli_json([self.core, "heap", "flamegraph", "--html", path])
        self.assertEqual((j["bytes"], j["count"]), (self.doc["total"]["bytes"], self.doc["total"]["count"]))
        with open(path, encoding="utf-8") as f:
            page = f.read()
        for bad in ("http://", "https://", "<script src", "<link ", "@import"):
            self.assertNotIn(bad, page)
        status, dom, err = fh.chromium(["--virtual-time-budget=5000", "--window-size=1400,900", "--dump-dom",
                                        "file://" + path])
        frames = FrameDivs()
        frames.feed(dom)
        self.assertEqual(frames.body.get("data-frames-drawn"), str(j["frames"] + 1), err[-1500:])
        self.assertEqual(len(frames.divs), j["frames"] + 1)
        root = frames.divs[0]
        self.assertEqual(int(root["data-bytes"]), self.doc["total"]["bytes"])
        drawn = collections.Counter()
        for d in frames.divs[1:]:
            if int(d["data-self-bytes"]):
                drawn[d["data-name"].split(" (")[0]] += int(d["data-self-bytes"])
            # Width is the frame's share of all bytes.
            width = float(d["style"].split("width:")[1].split("%")[0])
            self.assertAlmostEqual(width, 100.0 * int(d["data-bytes"]) / int(root["data-bytes"]), places=3)
        want = collections.Counter()
        for g in self.doc["sites"]:
            want[site_of(g)] += g["bytes"]
        self.assertEqual(drawn, want)
        # --state leaked: only the leaks.
        j = lib.run_cli_json([self.core, "heap", "flamegraph", "--html", path, "--state", "leaked"])
        self.assertEqual(j["count"], lib.run_cli_json([self.core, "heap", "leaks", "--by-site"])["total"]["count"])


class FrameDivs(__import__("html.parser").parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.divs, self.body = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "div" and a.get("class") == "frame":
            self.divs.append(a)


if __name__ == "__main__":
    unittest.main()
