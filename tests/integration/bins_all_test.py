"""`heap bins --all`: every list glibc has, the empty ones with count 0, in
the order of the lists that are not; without --all the output is unchanged.
On the demo core (one thread, one arena), in the CLI, gdb and lldb.
Standard library only.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402

_made = {}


def demo_core():
    if not _made:
        try:
            _made["core"], _ = lib.run_scenario_to_core(lib.example_path("demo"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
    return _made["core"]


def cli(*args):
    status, out, err = lib.run_cli([demo_core()] + list(args))
    assert status == 0, err
    return out


class BinsAllTest(unittest.TestCase):
    def test_every_list_once_with_its_count(self):
        lists = lib.run_cli_json([demo_core(), "heap", "bins", "--all"])["lists"]
        tcache = [l for l in lists if l["kind"] == "tcache"]
        self.assertEqual([l["bin"] for l in tcache], list(range(64)))
        self.assertEqual([l["bin"] for l in lists if l["kind"] == "fast"], list(range(10)))
        self.assertEqual([l["bin"] for l in lists if l["kind"] == "unsorted"], [1])
        self.assertEqual([l["bin"] for l in lists if l["kind"] == "small"], list(range(2, 64)))
        self.assertEqual([l["bin"] for l in lists if l["kind"] == "large"], list(range(64, 127)))
        self.assertEqual(len(lists), 64 + 10 + 1 + 62 + 63)
        for l in tcache:
            self.assertEqual(l["count"], l["length"])
        # The order: tcache, then fastbins, then bins 1..126.
        self.assertEqual([l["kind"] for l in lists],
                         ["tcache"] * 64 + ["fast"] * 10 + ["unsorted"] + ["small"] * 62 + ["large"] * 63)

    def test_the_non_empty_lists_are_those_without_all(self):
        every = lib.run_cli_json([demo_core(), "heap", "bins", "--all"])["lists"]
        some = lib.run_cli_json([demo_core(), "heap", "bins"])["lists"]
        self.assertEqual([l for l in every if l["length"] or l["findings"]], some)
        self.assertTrue(any(l["length"] == 0 for l in every))
        self.assertFalse(any(l["length"] == 0 and not l["findings"] for l in some))

    def test_text_shows_empty_lists_with_count_0_and_nothing_else_changes(self):
        every = cli("heap", "bins", "--all")
        self.assertIn("tcache bin 2 (size 0x40) of thread ", every)
        self.assertRegex(every, r"(?m)^small bin 2 \(size 0x20\) of arena 0: 0 chunks$")
        self.assertRegex(every, r"(?m)^large bin 126 \(sizes 0x80000\+\) of arena 0: 0 chunks$")
        self.assertEqual(re.sub(r"(?m)^.*: 0 chunks\n", "", every), cli("heap", "bins"))

    def test_a_kind_and_all(self):
        lists = lib.run_cli_json([demo_core(), "heap", "bins", "small", "--all"])["lists"]
        self.assertEqual([l["bin"] for l in lists], list(range(2, 64)))


class BinsAllFrontEndsTest(SameInEveryFrontEnd, unittest.TestCase):
    COMMANDS = ["heap bins --all --limit 2", "heap bins fast --all --json"]

    def setUp(self):
        self.core = demo_core()
        self.exe = lib.example_path("demo")

    def cli(self, *args):
        return cli(*args)


if __name__ == "__main__":
    unittest.main()
