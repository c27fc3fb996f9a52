"""heap snapshot and heap diff on a program whose growth between two stops
is known.

tests/recorder/programs/record_growth.cc, run with libheapscope-record.so
preloaded, leaves two cores: stop1.core (a forked child aborted at the
first stop) and its own at the second; between them it keeps 40 blocks from
site_grow, makes 12 Widget objects, leaks 3 blocks and frees 2 it had
leaked, and prints that record. Checks:
  - `heapscope diff CORE1 CORE2 --json`: the size class, type and site rows
    grow by the program's counts; new and gone leaks are the program's;
  - snapshot files: `heap snapshot save NAME --file F` in the CLI, then
    `heapscope diff F CORE2` gives the same diff;
  - gdb and lldb: save a snapshot in the session, diff it with a file, the
    same JSON as the CLI (names aside);
  - the text form and the one-line errors.
Standard library only.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

MASK = 0x5a5a5a5a5a5a5a5a


def record_lib():
    return os.environ.get("HEAPSCOPE_RECORD_LIB") or os.path.join(lib.build_dir(), "lib", "libheapscope-record.so")


def growth_program():
    return os.environ.get("HEAPSCOPE_RECORD_GROWTH") or os.path.join(lib.build_dir(), "tests", "programs",
                                                                       "record_growth")


def row(rows, key, value):
    found = [r for r in rows if r[key] == value]
    return found[0] if found else None


class RecordDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exe = growth_program()
        if not os.path.exists(cls.exe):
            raise unittest.SkipTest("record_growth not built")
        cls.dir = lib.scratch_dir()
        try:
            cls.core2, cls.stdout = lib.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + record_lib(), cls.exe],
                                                             workdir=cls.dir)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.core1 = os.path.join(cls.dir, "stop1.core")
        if not os.path.exists(cls.core1):
            raise AssertionError("no core of the first stop: " + str(os.listdir(cls.dir)) + cls.stdout)
        words = [l.split() for l in cls.stdout.splitlines()]
        cls.grow = next(int(w[3].split("=")[1]) for w in words if w and w[0] == "GROW")
        cls.widgets = next(int(w[2].split("=")[1]) for w in words if w and w[0] == "TYPE")
        cls.new_leaks = sorted(int(w[1], 16) ^ MASK for w in words if w and w[0] == "NEWLEAK")
        cls.gone_leaks = sorted(int(w[1], 16) ^ MASK for w in words if w and w[0] == "GONELEAK")
        cls.diff = lib.run_cli_json(["diff", cls.core1, cls.core2])

    def test_growth_by_size_class_type_and_site(self):
        d = self.diff
        grown = row(d["by_size_class"], "size_class", "208")  # malloc(200): a 208-byte chunk
        self.assertIsNotNone(grown, d["by_size_class"])
        self.assertEqual((grown["count_change"], grown["bytes_change"]), (self.grow, self.grow * 208))
        widget = row(d["by_type"], "type", "(anonymous namespace)::Widget")
        self.assertIsNotNone(widget, d["by_type"])
        self.assertEqual((widget["count_before"], widget["count_change"]), (0, self.widgets))
        site = [r for r in d["by_site"] if r["site"].startswith("site_grow (record_growth.cc:")]
        self.assertEqual([r["count_change"] for r in site], [self.grow], d["by_site"])
        self.assertEqual(site[0]["bytes_change"], self.grow * 208)
        self.assertGreaterEqual(d["in_use"]["bytes_change"], self.grow * 208)

    def test_new_and_gone_leaks(self):
        d = self.diff
        self.assertEqual(sorted(int(l["address"], 16) for l in d["new_leaks"]), self.new_leaks)
        self.assertEqual(sorted(int(l["address"], 16) for l in d["gone_leaks"]), self.gone_leaks)
        for l in d["new_leaks"]:
            self.assertTrue(l["site"].startswith("site_leak_late ("), l)
            self.assertEqual(l["size"], 320)

    def test_snapshot_file_gives_the_same_diff(self):
        path = os.path.join(self.dir, "stop1.json")
        saved = lib.run_cli_json([self.core1, "heap", "snapshot", "save", "stop1", "--file", path])
        self.assertEqual(saved["file"], path)
        with open(path) as f:
            snap = json.load(f)
        self.assertEqual(snap["format"], "heapscope-snapshot")
        self.assertTrue(snap["has_sites"])
        d = lib.run_cli_json(["diff", path, self.core2])
        self.assertEqual(d["before"], "stop1")
        for k in ("in_use", "free", "by_size_class", "by_type", "by_site", "new_leaks", "gone_leaks"):
            self.assertEqual(d[k], self.diff[k], k)
        # The same snapshot on both sides: nothing changed.
        same = lib.run_cli_json(["diff", path, path])
        self.assertEqual((same["by_size_class"], same["by_type"], same["new_leaks"]), ([], [], []))

    def test_debuggers_save_and_diff_in_the_session(self):
        path = os.path.join(self.dir, "stop1-dbg.json")
        lib.run_cli_json([self.core1, "heap", "snapshot", "save", "first", "--file", path])
        want = dict(self.diff)
        commands = ["heap snapshot save second", "heap diff %s second --json" % path]
        outputs = {}
        if lib.gdb_path():
            import gdb_frontend_test as g
            results, out, err = g.run_gdb([self.exe, self.core2], [["cmd", l] for l in commands])
            self.assertIsNotNone(results, err[-2000:])
            self.assertTrue(all(r["ok"] for r in results), results)
            outputs["gdb"] = results[1]["out"]
        import lldb_support as ls
        if not ls.plugin_problem():
            status, outs, out, err = ls.run_lldb(commands, exe=self.exe, core=self.core2)
            self.assertEqual(status, 0, err)
            outputs["lldb"] = outs[1]
        if not outputs:
            self.skipTest("neither gdb nor the lldb plugin")
        for name, text in outputs.items():
            got = json.loads(text)
            self.assertEqual((got["before"], got["after"]), ("first", "second"), name)
            for k in ("in_use", "by_size_class", "by_type", "by_site", "new_leaks", "gone_leaks"):
                self.assertEqual(got[k], want[k], "%s: %s" % (name, k))

    def test_text_form_and_errors(self):
        status, out, err = lib.run_cli(["diff", self.core1, self.core2])
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("heap diff %s -> %s\n" % (self.core1, self.core2)), out)
        self.assertRegex(out, r"\+\d.*\+%d .* 208\n" % self.grow)
        self.assertIn("new leaks: %d" % len(self.new_leaks), out)
        self.assertIn("gone leaks: %d" % len(self.gone_leaks), out)
        status, _, err = lib.run_cli(["diff", self.core1])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        status, _, err = lib.run_cli([self.core1, "heap", "diff", "nosuch", "other"])
        self.assertEqual(status, 2)
        self.assertIn("no snapshot named nosuch", err)


if __name__ == "__main__":
    unittest.main()
