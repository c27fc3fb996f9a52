"""heapscope CORE heap stats --json against glibc's own figures.

Each class runs one scenario program to a core once (setUpClass), then
compares heapscope's answer, with and without debug info, to the
malloc_info/mallinfo2 the program printed just before it aborted.
Mismatches are listed with both numbers.
"""

import collections
import os
import platform
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


class _ScenarioCase(unittest.TestCase):
    scenario = None  # set by subclasses
    args = ()

    @classmethod
    def setUpClass(cls):
        if cls.scenario is None:
            raise unittest.SkipTest("base class")
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(lib.example_path(cls.scenario), cls.args)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(cls.stdout)
        cls.exe = lib.example_path(cls.scenario)

    def stats(self, *extra):
        """heap stats --json; extra are global options (before the core)."""
        return lib.run_cli_json(list(extra) + [self.core, "heap", "stats"])

    def assert_no_mismatch(self, mismatches, label):
        if mismatches:
            self.fail("%s: %s %d mismatch(es) with glibc:\n  %s"
                      % (self.scenario, label, len(mismatches), "\n  ".join(mismatches)))

    def test_oracle_stable(self):
        self.assertFalse(self.oracle["unstable"], "the heap changed while the program measured it")

    def test_stats_match_oracle(self):
        stats = self.stats()
        # The scenario ran on this machine's libc.
        self.assertEqual(stats.get("glibc_version"), platform.libc_ver()[1])
        self.assert_no_mismatch(lib.compare_stats_with_oracle(stats, self.oracle), "heap stats --json")

    def test_stats_match_oracle_without_debuginfo(self):
        stats = self.stats("--no-debuginfo")
        self.assert_no_mismatch(lib.compare_stats_with_oracle(stats, self.oracle),
                                "--no-debuginfo heap stats --json")

    def test_same_answer_with_and_without_debuginfo(self):
        a = self.stats()
        b = self.stats("--no-debuginfo")
        self.assertEqual(a.get("arenas"), b.get("arenas"))
        self.assertEqual(a.get("total"), b.get("total"))
        self.assertEqual(a.get("mmapped"), b.get("mmapped"))

    def test_text_output(self):
        status, out, err = lib.run_cli([self.core, "heap", "stats"])
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        self.assertGreater(len(out.splitlines()), 3)
        # The text form carries the same system total as the JSON (exact bytes).
        total = self.oracle["mallinfo2"]["arena"]
        self.assertIn(str(total), out.replace(",", "").replace("_", ""),
                      "text output does not show the system total %d" % total)

    def test_expectations(self):
        """What the program itself put in tcache/fast/bins is there."""
        stats = self.stats()
        total = stats["total"]
        expect = self.oracle["expect"]
        for kind in ("tcache", "fast", "unsorted", "small", "large"):
            want = lib.expected_counts(expect, kind)
            if want:
                self.assertGreaterEqual(total[kind]["chunks"], want,
                                        "%s chunks: heapscope %d, the program freed %d there"
                                        % (kind, total[kind]["chunks"], want))

    def test_chunks_agree_with_stats(self):
        """`heap chunks --json`, summed per arena and state, gives the stats."""
        stats = self.stats()
        chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        per = collections.defaultdict(lambda: [0, 0])
        for c in chunks:
            per[(c["arena"], c["state"])][0] += 1
            per[(c["arena"], c["state"])][1] += c["size"]
            self.assertEqual(int(c["data"], 16) - int(c["address"], 16), 16, c)
        bad = []
        for a in stats["arenas"]:
            for cls in lib.ARENA_CLASSES:
                want = lib.class_figures(a, cls)
                got = tuple(per.get((a["index"], cls), (0, 0)))
                if got != want:
                    bad.append("arena %d %s: heap chunks (chunks, bytes) %s, heap stats %s"
                               % (a["index"], cls, got, want))
        got = tuple(per.get((-1, "mmapped"), (0, 0)))
        want = (stats["mmapped"]["chunks"], stats["mmapped"]["bytes"])
        if got != want:
            bad.append("mmapped: heap chunks %s, heap stats %s" % (got, want))
        self.assertEqual(bad, [], "\n".join(bad))
        # Chunks come in address order and do not overlap.
        addrs = [(int(c["address"], 16), c["size"]) for c in chunks]
        for (a0, s0), (a1, _) in zip(addrs, addrs[1:]):
            self.assertLessEqual(a0 + s0, a1, "chunk 0x%x (size %d) overlaps 0x%x" % (a0, s0, a1))

    def test_bins_agree_with_stats(self):
        """`heap bins --json`: list lengths per kind and arena give the stats."""
        stats = self.stats()
        lists = lib.run_cli_json([self.core, "heap", "bins"])["lists"]
        per = collections.Counter()
        for l in lists:
            key = ("tcache", None) if l["kind"] == "tcache" else (l["kind"], l["arena"])
            per[key] += len(l["chunks"])
        self.assertEqual(per[("tcache", None)], stats["total"]["tcache"]["chunks"])
        for a in stats["arenas"]:
            for kind in ("fast", "unsorted", "small", "large"):
                self.assertEqual(per[(kind, a["index"])], a[kind]["chunks"],
                                 "arena %d %s" % (a["index"], kind))


class DemoTest(_ScenarioCase):
    scenario = "demo"


class SingleTest(_ScenarioCase):
    scenario = "scenario_single"

    def test_expected_bins_exact(self):
        """One thread: the program knows exactly what sits in fast/small/large/unsorted."""
        total = self.stats()["total"]
        for kind in ("fast", "unsorted", "small", "large"):
            self.assertEqual(total[kind]["chunks"], lib.expected_counts(self.oracle["expect"], kind), kind)

    def test_chunk_states_by_size(self):
        """Each EXPECT line (kind, chunk size, count) is found in heap chunks."""
        chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        have = collections.Counter((c["state"], c["size"]) for c in chunks)
        for e in self.oracle["expect"]:
            if "chunk_size" in e:
                self.assertGreaterEqual(have[(e["kind"], e["chunk_size"])], e["count"], e)

    def test_filters(self):
        all_chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        fast = lib.run_cli_json([self.core, "heap", "chunks", "--state", "fast"])["chunks"]
        self.assertEqual(fast, [c for c in all_chunks if c["state"] == "fast"])
        mid = lib.run_cli_json([self.core, "heap", "chunks", "--min-size", "100", "--max-size", "1000"])["chunks"]
        self.assertEqual(mid, [c for c in all_chunks if 100 <= c["size"] <= 1000])
        few = lib.run_cli_json([self.core, "heap", "chunks", "--limit", "5"])["chunks"]
        self.assertEqual(few, all_chunks[:5])

    def test_chunk_lookup(self):
        chunks = lib.run_cli_json([self.core, "heap", "chunks", "--state", "small"])["chunks"]
        self.assertTrue(chunks)
        c = chunks[0]
        inside = "0x%x" % (int(c["data"], 16) + 8)
        status, out, err = lib.run_cli([self.core, "heap", "chunk", inside, "--json"])
        self.assertEqual(status, 0, err)
        self.assertIn(c["address"], out)
        self.assertIn('"small"', out)


class ThreadsTest(_ScenarioCase):
    scenario = "scenario_threads"

    def test_one_arena_per_thread(self):
        stats = self.stats()
        want = [e["arenas"] for e in self.oracle["expect"] if "arenas" in e][0]
        self.assertEqual(len(stats["arenas"]), want)
        self.assertEqual([a["main"] for a in stats["arenas"]], [True] + [False] * (want - 1))

    def test_every_thread_tcache(self):
        """Each of the 9 threads left 14 chunks in two tcache bins."""
        lists = lib.run_cli_json([self.core, "heap", "bins", "tcache"])["lists"]
        tids = {l["tid"] for l in lists if l["chunks"]}
        self.assertGreaterEqual(len(tids), 9, "tcache lists found for threads %s" % sorted(tids))


class MmapTest(_ScenarioCase):
    scenario = "scenario_mmap"

    def test_mmapped_chunks_listed(self):
        chunks = lib.run_cli_json([self.core, "heap", "chunks", "--state", "mmapped"])["chunks"]
        got = sorted((int(c["address"], 16), c["size"]) for c in chunks)
        want = sorted((int(e["address"], 16), e["size"]) for e in self.oracle["expect"]
                      if e.get("kind") == "mmapped" and "address" in e)
        self.assertEqual(got, want)
        self.assertTrue(all(c["arena"] == -1 for c in chunks))


if __name__ == "__main__":
    unittest.main()
