"""`heap check` on real corrupted heaps, in the CLI, gdb and lldb.

examples/corrupt_heap MODE corrupts its own heap one classic way, prints
"CORRUPTED mode=M kind=K address=A" and aborts before glibc notices. On its
core, `heap check --json` must report kind K at chunk A. The clean examples
must report nothing. Standard library only.
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

MODES = ("overflow", "offbyone", "tcache_double", "fast_double", "tcache_poison", "fast_fd",
         "unsorted_bk", "top", "prev_size", "fake", "largebin_nextsize", "largebin_bk", "mmap_size",
         "mmap_prev_size")
CLEAN = ("demo", "scenario_single", "scenario_threads", "scenario_mmap")

_cores = {}


def corrupted_core(mode):
    """(core, expected kind, expected address) for a mode, made once."""
    if mode not in _cores:
        try:
            core, out = lib.run_scenario_to_core(lib.example_path("corrupt_heap"), [mode])
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        m = re.search(r"^CORRUPTED mode=(\S+) kind=(\S+) address=(0x[0-9a-f]+)$", out, re.M)
        if not m or m.group(1) != mode:
            raise AssertionError("corrupt_heap %s printed no CORRUPTED line: %r" % (mode, out))
        _cores[mode] = (core, m.group(2), int(m.group(3), 16))
    return _cores[mode]


def matching(findings, kind, address):
    return [f for f in findings if f["kind"] == kind and int(f["address"], 16) == address]


def summary(findings):
    return "\n  ".join("%s %s: %s" % (f["address"], f["kind"], f["detail"]) for f in findings)


class CliCorruptionTest(unittest.TestCase):
    def check_mode(self, mode):
        core, kind, address = corrupted_core(mode)
        # Problems found: exit 1, so a script can gate on it (2 is for errors).
        doc = lib.run_cli_json([core, "heap", "check"], statuses=(1,))
        self.assertGreater(doc["chunks_checked"], 0)
        found = matching(doc["findings"], kind, address)
        self.assertTrue(found, "%s: no %s finding at %#x; got:\n  %s"
                        % (mode, kind, address, summary(doc["findings"])))
        for f in doc["findings"]:
            self.assertEqual(set(f), {"kind", "address", "arena", "glibc_message", "detail", "cause"})
            self.assertTrue(f["cause"])
        # Text: one line per finding and a summary line.
        status, out, err = lib.run_cli([core, "heap", "check"])
        self.assertEqual(status, 1, err)
        lines = out.rstrip("\n").split("\n")
        self.assertEqual(len(lines), len(doc["findings"]) + 1, out)
        self.assertRegex(lines[-1], r"^\d+ problems? found in %d chunks?$" % doc["chunks_checked"])
        self.assertTrue(any(l.startswith("%#x " % address) and kind in l for l in lines[:-1]), out)
        # Every other command still answers, ends with one short warning line
        # that counts heap check's problems, and says so in its JSON.
        n = len(doc["findings"])
        first = doc["findings"][0]
        warning = "warning: %d heap problem%s (first at %s: %s); run 'heap check'" % (
            n, "" if n == 1 else "s", first["address"], first["kind"])
        for argv in (["heap", "stats"], ["heap", "bins"], ["heap", "leaks"], ["heap", "frag"]):
            status, out, err = lib.run_cli([core] + argv)
            self.assertEqual(status, 0, err)
            self.assertEqual(out.rstrip("\n").split("\n")[-1], warning, " ".join(argv))
            self.assertEqual(out.count("warning: "), 1, " ".join(argv))
            self.assertEqual(lib.run_cli_json([core] + argv + ["--json"])["findings"], n, argv)
        # heap chunk shows the problems at that chunk (a fake chunk is in none),
        # and its footer counts only the others: nothing said twice.
        status, out, _ = lib.run_cli([core, "heap", "chunk", "%#x" % address, "--json"])
        if status == 0 and int(json.loads(out)["address"], 16) == address:
            chunk = json.loads(out)
            self.assertIn(kind, [f["kind"] for f in chunk["findings"]])
            _, text, _ = lib.run_cli([core, "heap", "chunk", "%#x" % address])
            inside = [f for f in doc["findings"]
                      if int(chunk["address"], 16) <= int(f["address"], 16) < int(chunk["address"], 16) + chunk["size"]]
            others = [f for f in doc["findings"] if f not in inside]
            self.assertEqual(text.count("  problem: "), len(inside), text)
            if others:
                self.assertEqual(text.rstrip("\n").split("\n")[-1],
                                 "warning: %d other heap problem%s (first at %s: %s); run 'heap check'" % (
                                     len(others), "" if len(others) == 1 else "s", others[0]["address"],
                                     others[0]["kind"]))
            else:
                self.assertNotIn("warning:", text)
        return found[0]

    def test_overflow(self):
        f = self.check_mode("overflow")
        self.assertIn("overflow from the chunk before it", f["cause"])

    def test_offbyone(self):
        f = self.check_mode("offbyone")
        self.assertEqual(f["glibc_message"], "corrupted size vs. prev_size")
        self.assertIn("off-by-one", f["cause"])

    def test_tcache_double(self):
        f = self.check_mode("tcache_double")
        self.assertEqual(f["glibc_message"], "free(): double free detected in tcache 2")

    def test_fast_double(self):
        f = self.check_mode("fast_double")
        self.assertEqual(f["glibc_message"], "double free or corruption (fasttop)")

    def test_tcache_poison(self):
        f = self.check_mode("tcache_poison")
        self.assertEqual(f["glibc_message"], "malloc(): unaligned tcache chunk detected")

    def test_fast_fd(self):
        f = self.check_mode("fast_fd")
        self.assertIn("unaligned fastbin chunk detected", f["glibc_message"])

    def test_unsorted_bk(self):
        f = self.check_mode("unsorted_bk")
        self.assertEqual(f["glibc_message"], "malloc(): unsorted double linked list corrupted")

    def test_top(self):
        f = self.check_mode("top")
        self.assertEqual(f["glibc_message"], "malloc(): corrupted top size")

    def test_prev_size(self):
        f = self.check_mode("prev_size")
        self.assertEqual(f["glibc_message"], "corrupted size vs. prev_size while consolidating")

    def test_fake(self):
        f = self.check_mode("fake")
        self.assertIn("never returned", f["cause"])

    def test_largebin_nextsize(self):
        f = self.check_mode("largebin_nextsize")
        self.assertEqual(f["glibc_message"],
                         "malloc(): largebin double linked list corrupted (nextsize)")
        self.assertIn("bk_nextsize", f["detail"])
        self.assertIn("largebin attack", f["cause"])

    def test_largebin_bk(self):
        f = self.check_mode("largebin_bk")
        self.assertEqual(f["glibc_message"], "malloc(): largebin double linked list corrupted (bk)")

    def test_mmap_size(self):
        f = self.check_mode("mmap_size")
        self.assertEqual(f["glibc_message"], "munmap_chunk(): invalid pointer")
        self.assertEqual(f["arena"], -1)

    def test_mmap_prev_size(self):
        f = self.check_mode("mmap_prev_size")
        self.assertEqual(f["glibc_message"], "munmap_chunk(): invalid pointer")
        self.assertIn("prev_size 0x10", f["detail"])

    def test_arena_option(self):
        core, kind, address = corrupted_core("tcache_double")
        doc = lib.run_cli_json([core, "heap", "check", "--arena", "0"], statuses=(1,))
        self.assertTrue(matching(doc["findings"], kind, address))
        status, _, err = lib.run_cli([core, "heap", "check", "--arena", "9"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1)


class CleanExamplesTest(unittest.TestCase):
    def test_clean_examples_have_no_findings(self):
        for name in CLEAN:
            with self.subTest(example=name):
                try:
                    core, _ = lib.run_scenario_to_core(lib.example_path(name))
                except lib.CoreUnavailable as e:
                    self.skipTest("cannot produce core files here: %s" % e)
                doc = lib.run_cli_json([core, "heap", "check"])
                self.assertEqual(doc["findings"], [], summary(doc["findings"]))
                self.assertGreater(doc["chunks_checked"], 0)
                status, out, _ = lib.run_cli([core, "heap", "check"])
                self.assertEqual(out, "no problems found in %d chunks\n" % doc["chunks_checked"])
                self.assertEqual(status, 0)


class GdbCorruptionTest(unittest.TestCase):
    """The same finding through gdb's `heap check --json`, byte for byte the CLI's."""

    def test_every_mode_in_gdb(self):
        gdb = lib.gdb_path()
        loader = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
        if not gdb:
            self.skipTest("no gdb")
        self.assertTrue(os.path.exists(loader), "gdb front-end not built: " + loader)
        for mode in MODES:
            core, kind, address = corrupted_core(mode)
            with self.subTest(mode=mode):
                status, out, err = lib.run_gdb_batch(
                    lib.example_path("corrupt_heap"), core,
                    ["source " + loader, "heap check --json"],
                    init_commands=["set debuginfod enabled off"])
                self.assertEqual(status, 0, err[-500:])
                line = [l for l in out.splitlines() if l.startswith('{"findings"')]
                self.assertEqual(len(line), 1, out[-1000:])
                doc = json.loads(line[0])
                self.assertTrue(matching(doc["findings"], kind, address), summary(doc["findings"]))
                _, cli_out, _ = lib.run_cli([core, "heap", "check", "--json"])
                self.assertEqual(line[0] + "\n", cli_out)


class LldbCorruptionTest(unittest.TestCase):
    """The same finding through the LLDB plugin."""

    def test_every_mode_in_lldb(self):
        import lldb_support as ls
        problem = ls.plugin_problem()
        if problem:
            if problem[0] == "skip":
                self.skipTest(problem[1])
            self.fail(problem[1])
        for mode in MODES:
            core, kind, address = corrupted_core(mode)
            with self.subTest(mode=mode):
                status, outputs, out, err = ls.run_lldb(["heap check --json"],
                                                        exe=lib.example_path("corrupt_heap"), core=core)
                self.assertEqual(status, 0, err[-500:])
                self.assertIsNotNone(outputs[0], out[-1000:])
                doc = json.loads(outputs[0])
                self.assertTrue(matching(doc["findings"], kind, address), summary(doc["findings"]))
                _, cli_out, _ = lib.run_cli([core, "heap", "check", "--json"])
                self.assertEqual(outputs[0], cli_out)


if __name__ == "__main__":
    unittest.main()
