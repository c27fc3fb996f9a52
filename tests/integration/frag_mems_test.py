"""mems frag on examples/mems_demo's core, against the figures the program
printed from the allocators themselves (mems_get_stats, mems_pool_get_stats)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


def oracle_line(out, name):
    for line in out.splitlines():
        if line.startswith("oracle " + name + " "):
            return {k: int(v) for k, v in (kv.split("=", 1) for kv in line.split()[2:])}
    raise AssertionError("mems_demo printed no 'oracle %s' line" % name)


class MemsFragTest(unittest.TestCase):
    def test_mems_frag_matches_the_allocators(self):
        exe = lib.example_path("mems_demo")
        if not os.path.exists(exe):
            self.skipTest("mems_demo is not built (no mems library)")
        try:
            core, out = lib.run_scenario_to_core(exe)
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))
        seg = oracle_line(out, "mems_stats")
        pool = oracle_line(out, "mems_pool_stats")
        f = lib.run_cli_json([core, "mems", "frag"])
        s = f["segments"]
        self.assertEqual(len(s["nodes"]), seg["nodes"])
        self.assertEqual(s["holes"], seg["hole_segments"])
        self.assertEqual(s["hole_bytes"], seg["hole_bytes"])
        self.assertEqual(sum(n["hole_bytes"] for n in s["nodes"]), seg["hole_bytes"])
        self.assertEqual(s["largest_hole"], max(n["largest_hole"] for n in s["nodes"]))
        self.assertGreater(s["tail_bytes"], 0)  # drop_some() leaves trailing HOLEs
        self.assertLessEqual(s["tail_bytes"], s["hole_bytes"])
        p = f["pools"]
        self.assertEqual(sum(c["free_blocks"] for c in p["classes"]), pool["blocks_free"])
        self.assertEqual(sum(c["pools"] for c in p["classes"]) + p["empty_pools"], pool["pools"])
        status, text, err = lib.run_cli([core, "mems", "frag"])
        self.assertEqual(status, 0, err)
        self.assertIn("largest hole", text)
        self.assertIn("free blocks", text)


if __name__ == "__main__":
    unittest.main()
