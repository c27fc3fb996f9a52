"""`heap try-free` against the real free(): examples/try_free prepares
pointers free() treats each its own way, lets a forked copy of itself free
each one (reporting glibc's abort message, a crash, or where mallinfo2 saw
the chunk go), then dumps core with its heap untouched. On that core, `heap
try-free` must say what glibc did, case by case; gdb and lldb print the CLI's
bytes. Standard library only.
"""

import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402

_made = {}


def scenario():
    """(core, {case: (pointer, glibc's result)}), made once."""
    if not _made:
        try:
            core, out = lib.run_scenario_to_core(lib.example_path("try_free"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cases = {}
        for m in re.finditer(r"^CASE (\S+) (\S+) (.*)$", out, re.M):
            cases[m.group(1)] = ("0x0" if m.group(2) == "(nil)" else m.group(2), m.group(3))
        _made.update(core=core, cases=cases)
    return _made["core"], _made["cases"]


def verdict(doc):
    return "abort:" + doc["message"] if doc["outcome"] == "abort" else doc["outcome"]


class TryFreeOracleTest(unittest.TestCase):
    def test_every_case_is_what_glibc_did(self):
        core, cases = scenario()
        self.assertGreaterEqual(len(cases), 19)
        # Every kind of answer is covered by the program.
        results = {r.split(":")[0] for _, r in cases.values()}
        self.assertTrue({"tcache", "fast", "unsorted", "top", "munmap", "abort", "crash", "nothing"} <= results,
                        results)
        for name, (pointer, glibc) in sorted(cases.items()):
            with self.subTest(case=name):
                doc = lib.run_cli_json([core, "heap", "try-free", pointer])
                self.assertEqual(verdict(doc), glibc)

    def test_tcache_answer_names_the_bin_and_its_count(self):
        core, cases = scenario()
        doc = lib.run_cli_json([core, "heap", "try-free", cases["in_use"][0]])
        bins = lib.run_cli_json([core, "heap", "bins", "tcache"])
        held = {l["bin"]: l["count"] for l in bins["lists"]}
        self.assertEqual(doc["bin"], 0)  # malloc(0x18): a 0x20 chunk
        self.assertEqual(doc["count"], held.get(0, 0))
        self.assertEqual(doc["capacity"], 7)
        full = lib.run_cli_json([core, "heap", "try-free", cases["tcache_full_fast"][0]])
        self.assertIn({"check": "tcache bin 2 has room (counts[2] < mp_.tcache_count)", "ok": False,
                       "detail": "7 of 7"}, full["checks"])
        self.assertEqual(full["bin"], 2)

    def test_text_ends_with_the_verdict(self):
        core, cases = scenario()
        status, out, err = lib.run_cli([core, "heap", "try-free", cases["tcache_double"][0]])
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("free(%s) with glibc " % cases["tcache_double"][0]), out)
        self.assertIn("  FAIL the chunk is not already in the bin", out)
        self.assertIn("  => glibc aborts: free(): double free detected in tcache 2\n", out)

    def test_a_bad_address_is_one_line(self):
        core, _ = scenario()
        status, out, err = lib.run_cli([core, "heap", "try-free", "nonsense"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class TryFreeFrontEndsTest(SameInEveryFrontEnd, unittest.TestCase):
    def setUp(self):
        self.core, cases = scenario()
        self.exe = lib.example_path("try_free")
        self.COMMANDS = ["heap try-free %s" % cases[c][0] for c in ("in_use", "merge_backward", "fasttop_double",
                                                                      "mmapped", "garbage")]
        self.COMMANDS.append("heap try-free %s --json" % cases["tcache_double"][0])

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out


if __name__ == "__main__":
    unittest.main()
