"""heapscope --pid PID heap stats --json on a live process, against the
oracle it printed at READY; the process must survive and go on running."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


class LiveTest(unittest.TestCase):
    def test_live_stats_match_oracle_and_process_survives(self):
        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            oracle = lib.parse_oracle(live.stdout)
            self.assertFalse(oracle["unstable"])
            stats = lib.run_cli_json(["--pid", live.pid, "heap", "stats"])
            mismatches = lib.compare_stats_with_oracle(stats, oracle)
            # Twice: attaching must leave the process as it was.
            again = lib.run_cli_json(["--pid", live.pid, "heap", "stats"])
            self.assertTrue(live.alive(), "the process died while heapscope looked at it")
            with open("/proc/%d/stat" % live.pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            self.assertNotIn(state, ("T", "t"), "the process was left stopped (state %s)" % state)
            status, rest = live.finish()
            self.assertEqual(status, 0)
            self.assertIn("BYE", rest)
        self.assertEqual(mismatches, [], "live heap stats vs glibc:\n  " + "\n  ".join(mismatches))
        self.assertEqual(stats, again)

    def test_live_no_debuginfo(self):
        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            oracle = lib.parse_oracle(live.stdout)
            stats = lib.run_cli_json(["--no-debuginfo", "--pid", live.pid, "heap", "stats"])
            mismatches = lib.compare_stats_with_oracle(stats, oracle)
            status, rest = live.finish()
            self.assertEqual(status, 0)
        self.assertEqual(mismatches, [], "\n  ".join(mismatches))

    def test_bad_pid(self):
        # A pid that cannot exist (above the kernel's pid_max).
        with open("/proc/sys/kernel/pid_max") as f:
            pid = int(f.read()) + 1
        status, out, err = lib.run_cli(["--pid", pid, "heap", "stats"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
