"""A core written by gdb's gcore (no PT_LOAD at all for the file mappings it
did not dump) reads like the live process it was taken from."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


@unittest.skipUnless(shutil.which("gcore"), "gcore (gdb) is not installed")
class GcoreTest(unittest.TestCase):
    def test_gcore_equals_live(self):
        work = lib.scratch_dir()
        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            oracle = lib.parse_oracle(live.stdout)
            prefix = os.path.join(work, "gcore")
            subprocess.run(["gcore", "-o", prefix, str(live.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            core = "%s.%d" % (prefix, live.pid)
            for command in (["heap", "stats"], ["heap", "arenas"], ["heap", "bins"],
                            ["heap", "chunks"]):
                from_core = lib.run_cli_json([core] + command)
                from_live = lib.run_cli_json(["--pid", live.pid] + command)
                self.assertEqual(from_core, from_live, " ".join(command))
            stats = lib.run_cli_json([core, "heap", "stats"])
            live.finish()
        self.assertEqual(lib.compare_stats_with_oracle(stats, oracle), [])


if __name__ == "__main__":
    unittest.main()
