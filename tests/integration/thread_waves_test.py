"""Threads started and joined in waves (examples/scenario_thread_waves): the
freed tcache_perthread_structs of exited threads sit in bins and in live
threads' tcaches, and stale pointers to them in reused stacks, just below the
live threads' TLS. Only the struct a thread's `tcache` variable points to is
its tcache: `heap check` reports nothing and `heap stats` equals glibc's
figures, with and without debug info, in the CLI, gdb and lldb, on a core and
on a live stop. Standard library only.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

SCENARIO = "scenario_thread_waves"
LOADER = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
CLI_VARIANTS = ((), ("--no-debuginfo",))


def summary(findings):
    return "\n  ".join("%s %s: %s" % (f["address"], f["kind"], f["detail"]) for f in findings)


def json_lines(out):
    return [l for l in out.splitlines() if l.startswith("{")]


class _Checks:
    def assert_heap_sound(self, target, oracle, options=()):
        """heap check is clean and heap stats equals the oracle, through the CLI."""
        label = " ".join(list(options) + [str(t) for t in target])
        check = lib.run_cli_json(list(options) + list(target) + ["heap", "check"])
        self.assertEqual(check["findings"], [], "%s:\n  %s" % (label, summary(check["findings"])))
        stats = lib.run_cli_json(list(options) + list(target) + ["heap", "stats"])
        self.assertEqual(lib.compare_stats_with_oracle(stats, oracle), [], label)
        # One tcache per thread, each thread's own.
        arenas = lib.run_cli_json(list(options) + list(target) + ["heap", "arenas"])
        tids = [t["tid"] for a in arenas["arenas"] for t in a["tcaches"]]
        self.assertEqual(len(tids), len(set(tids)), "a thread with two tcaches: %s" % tids)
        return check, stats

    def gdb_json(self, commands, **where):
        if not lib.gdb_path():
            self.skipTest("no gdb")
        status, out, err = lib.run_gdb_batch(lib.example_path(SCENARIO), commands=["source " + LOADER] + commands,
                                             init_commands=["set debuginfod enabled off"], **where)
        self.assertEqual(status, 0, err[-500:])
        return json_lines(out)

    def lldb_json(self, commands, **where):
        import lldb_support as ls
        problem = ls.plugin_problem()
        if problem:
            if problem[0] == "skip":
                self.skipTest(problem[1])
            self.fail(problem[1])
        status, outputs, out, err = ls.run_lldb(commands, exe=lib.example_path(SCENARIO), **where)
        self.assertEqual(status, 0, err[-500:])
        return outputs


class CoreTest(_Checks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(lib.example_path(SCENARIO))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(cls.stdout)

    def test_oracle_stable(self):
        self.assertFalse(self.oracle["unstable"])

    def test_cli(self):
        for options in CLI_VARIANTS:
            with self.subTest(options=options):
                self.assert_heap_sound([self.core], self.oracle, options)

    def test_gdb_same_as_cli(self):
        for options in CLI_VARIANTS:
            with self.subTest(options=options):
                setting = ["set heapscope debuginfo off"] if options else []
                lines = self.gdb_json(setting + ["heap check --json", "heap stats --json"], core=self.core)
                self.assertEqual(len(lines), 2, lines)
                for line, cmd in zip(lines, ("check", "stats")):
                    _, cli_out, _ = lib.run_cli(list(options) + [self.core, "heap", cmd, "--json"])
                    self.assertEqual(line + "\n", cli_out, cmd)
                self.assertEqual(json.loads(lines[0])["findings"], [])

    def test_lldb_same_as_cli(self):
        outputs = self.lldb_json(["heap check --json", "heap stats --json"], core=self.core)
        for output, cmd in zip(outputs, ("check", "stats")):
            _, cli_out, _ = lib.run_cli([self.core, "heap", cmd, "--json"])
            self.assertEqual(output, cli_out, cmd)
        self.assertEqual(json.loads(outputs[0])["findings"], [])


class LiveTest(_Checks, unittest.TestCase):
    """The same program stopped alive (it waits on stdin after its oracle)."""

    def test_cli_gdb_lldb_on_a_live_stop(self):
        with lib.LiveScenario(lib.example_path(SCENARIO), ["--live"]) as live:
            oracle = lib.parse_oracle(live.stdout)
            self.assertFalse(oracle["unstable"])
            for options in CLI_VARIANTS:
                with self.subTest(frontend="cli", options=options):
                    self.assert_heap_sound(["--pid", live.pid], oracle, options)
            with self.subTest(frontend="gdb"):
                lines = self.gdb_json(["heap check --json", "heap stats --json", "detach"], pid=live.pid)
                self.assertEqual(len(lines), 2, lines)
                self.assertEqual(json.loads(lines[0])["findings"], [])
                self.assertEqual(lib.compare_stats_with_oracle(json.loads(lines[1]), oracle), [])
            with self.subTest(frontend="lldb"):
                outputs = self.lldb_json(["heap check --json", "heap stats --json", "process detach"],
                                         pid=live.pid)
                self.assertEqual(json.loads(outputs[0])["findings"], [])
                self.assertEqual(lib.compare_stats_with_oracle(json.loads(outputs[1]), oracle), [])
            self.assertTrue(live.alive())
            status, rest = live.finish()
            self.assertEqual(status, 0)
            self.assertIn("BYE", rest)


if __name__ == "__main__":
    unittest.main()
