"""The mems allocators as a HeapModel: heap stats and heap chunks answer for
them with --allocator mems (or after 'heap allocator mems'), and their
figures equal what mems_demo printed from mems_get_stats and
mems_pool_get_stats. gdb and lldb print the same bytes."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402
from mems_cli_test import parse_demo  # noqa: E402

# The kinds that tile a pool arena's segment (a PROCESS segment for mems_get_stats).
ARENA_KINDS = ("pool header", "block", "free block", "cached block", "pool tail", "uncarved pool", "arena slack")


class MemsModelTest(SameInEveryFrontEnd, unittest.TestCase):
    COMMANDS = ["heap stats --allocator mems", "heap stats --allocator mems --json",
                "heap chunks --allocator mems --state in_use", "heap allocator --json"]

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("mems_demo")
        try:
            cls.core, stdout = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.demo = parse_demo(stdout)
        cls.stats = lib.run_cli_json([cls.core, "heap", "stats", "--allocator", "mems"])

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def kind(self, name):
        return self.stats["total"]["kinds"][name]

    def test_segments_equal_mems_get_stats(self):
        oracle, pool = self.demo["stats"], self.demo["pool"]
        self.assertEqual(self.stats["allocator"], "mems")
        self.assertEqual(self.kind("HOLE"), {"chunks": oracle["hole_segments"], "bytes": oracle["hole_bytes"]})
        arena_bytes = sum(self.kind(k)["bytes"] for k in ARENA_KINDS)
        self.assertEqual(self.kind("PROCESS")["chunks"] + pool["arenas"], oracle["process_segments"])
        self.assertEqual(self.kind("PROCESS")["bytes"] + arena_bytes, oracle["process_bytes"])
        self.assertEqual(len(self.stats["owners"]), oracle["nodes"])
        self.assertEqual(sum(o["system_bytes"] for o in self.stats["owners"]), oracle["pages"] * 4096)
        self.assertEqual(self.stats["findings"], 0)

    def test_pool_blocks_equal_mems_pool_get_stats(self):
        pool = self.demo["pool"]
        self.assertEqual(self.kind("block"), {"chunks": pool["blocks_used"], "bytes": pool["bytes_used"]})
        # mems_pool_get_stats counts the blocks in thread caches as free.
        self.assertEqual(self.kind("free block")["chunks"] + self.kind("cached block")["chunks"], pool["blocks_free"])
        self.assertEqual(self.kind("pool header")["chunks"], pool["pools"])

    def test_in_use_is_process_segments_and_used_blocks(self):
        self.assertEqual(self.stats["total"]["in_use"]["bytes"],
                         self.kind("PROCESS")["bytes"] + self.kind("block")["bytes"])
        listing = lib.run_cli_json([self.core, "heap", "chunks", "--allocator", "mems", "--state", "in_use"])
        self.assertEqual(len(listing["chunks"]), self.stats["total"]["in_use"]["chunks"])
        # Every physical address mems_get gave mems_demo is inside one of them.
        ranges = [(int(r["address"], 16), int(r["address"], 16) + r["size"]) for r in listing["chunks"]]
        for virt, phys in self.demo["gets"]:
            p = int(phys, 16)
            self.assertEqual(sum(1 for b, e in ranges if b <= p < e), 1, "mems_get(%s) = %s" % (virt, phys))

    def test_blocks_tile_the_system_ranges(self):
        everything = lib.run_cli_json([self.core, "heap", "chunks", "--allocator", "mems"])
        self.assertEqual(sum(r["size"] for r in everything["chunks"]), self.stats["total"]["system_bytes"])

    def test_allocator_lists_mems(self):
        doc = lib.run_cli_json([self.core, "heap", "allocator"])
        names = [a["name"] for a in doc["allocators"]]
        self.assertIn("mems", names)
        self.assertIsNone(doc["chosen"])

    def test_leaks_on_mems_follows_virtual_addresses(self):
        # heap leaks --allocator mems is mems leaks' analysis: the same totals.
        got = lib.run_cli_json([self.core, "heap", "leaks", "--allocator", "mems"])
        mems = lib.run_cli_json([self.core, "mems", "leaks"])
        for k in ("direct", "indirect", "possible", "reachable"):
            self.assertEqual(got[k]["chunks"], mems[k]["segments"] + mems[k]["blocks"], k)
            self.assertEqual(got[k]["bytes"], mems[k]["bytes"], k)

    def test_unknown_or_absent_allocator_is_one_line(self):
        status, out, err = lib.run_cli([self.core, "heap", "stats", "--allocator", "jemalloc"])
        self.assertEqual((status, out), (2, ""))
        self.assertRegex(err, r"^heapscope: no jemalloc heap in this target \(heaps found: [a-z, ]*mems[a-z, ]*\)\n$")
        status, out, err = lib.run_cli([self.core, "heap", "stats", "--allocator", "nosuch"])
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(len(err.splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
