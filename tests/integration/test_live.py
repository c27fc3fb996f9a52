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

    def test_reading_leaves_residency_alone(self):
        """Looking must not make the process's memory resident: the untouched
        pages of its heaps (the top's tail) and thread stacks read as zeros.
        Some kernels back a remote read of such a page with a fresh page; a
        heap debugger that read them would change what `heap pages` reports
        and grow the process by megabytes (each thread stack is 8 MiB)."""
        def rss_anon(pid):
            with open("/proc/%d/status" % pid) as f:
                line = [l for l in f if l.startswith("RssAnon:")][0]
            return int(line.split()[1]) * 1024

        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            before = rss_anon(live.pid)
            for argv in (["heap", "stats"], ["heap", "leaks"], ["heap", "pages"]):
                status, _, err = lib.run_cli(["--pid", live.pid] + argv)
                self.assertEqual(status, 0, err)
            grown = rss_anon(live.pid) - before
            live.finish()
        # A page or two may come from the process's own stack use.
        self.assertLessEqual(grown, 2 * 4096, "heapscope's reads made %d bytes resident" % grown)

    def test_leaks_same_whatever_the_thread_count(self):
        # A live process's memory is read from several threads at once by
        # heap leaks' marking (its caches are filled under a lock): the
        # answer must not depend on how many.
        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            outputs = []
            for threads in ("1", "4"):
                env = dict(os.environ, HEAPSCOPE_THREADS=threads)
                status, out, err = lib.run_cli(["--pid", live.pid, "heap", "leaks", "--json"], env=env)
                self.assertEqual(status, 0, err)
                outputs.append(out)
            live.finish()
        self.assertEqual(outputs[1], outputs[0])

    def test_bad_pid(self):
        # A pid that cannot exist (above the kernel's pid_max).
        with open("/proc/sys/kernel/pid_max") as f:
            pid = int(f.read()) + 1
        status, out, err = lib.run_cli(["--pid", pid, "heap", "stats"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
