"""glibc's mmapped chunks among anonymous mappings that are not the heap's
(examples/scenario_anon_maps).

- False candidates: page starts in the program's own mapping that hold a zero
  word then a size with IS_MMAPPED set, one of a size that is not whole pages
  and one that is. `heap stats` must equal glibc's malloc_info/mallinfo2
  exactly (mp_'s count decides) and `heap check` must be clean.
- Memory follows the heap, not the core: with a large anonymous mapping full
  of written pages and a small heap, heapscope's peak RSS stays far below the
  core's size. The core is deleted afterwards.
Standard library only.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

SCENARIO = "scenario_anon_maps"
# Big enough that touching it shows (the core is this and a few MiB), small
# enough for a core written and read in a few seconds.
BIG_MIB = 384


def peak_rss(argv):
    """(status, stdout, peak RSS in bytes) of one run of argv."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.decode("utf-8", "replace"), usage.ru_maxrss * 1024


class FalseMmappedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.core, stdout = lib.run_scenario_to_core(lib.example_path(SCENARIO))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(stdout)

    def test_stats_equal_glibc(self):
        for options in ((), ("--no-debuginfo",)):
            with self.subTest(options=options):
                stats = lib.run_cli_json(list(options) + [self.core, "heap", "stats"])
                self.assertEqual(lib.compare_stats_with_oracle(stats, self.oracle), [])

    def test_check_clean(self):
        doc = lib.run_cli_json([self.core, "heap", "check"])
        self.assertEqual(doc["findings"], [], "\n".join("%s %s" % (f["kind"], f["detail"]) for f in doc["findings"]))

    def test_only_real_chunks_listed(self):
        chunks = lib.run_cli_json([self.core, "heap", "chunks", "--state", "mmapped"])["chunks"]
        got = sorted((int(c["address"], 16), c["size"]) for c in chunks)
        expect = self.oracle["expect"]
        want = sorted((int(e["address"], 16), e["size"]) for e in expect
                      if e.get("kind") == "mmapped" and "address" in e)
        self.assertEqual(got, want)
        false = {int(e["address"], 16) for e in expect if e.get("kind") == "false-candidate"}
        self.assertEqual(len(false), 2)
        self.assertFalse(false & {a for a, _ in got})


class MemoryTest(unittest.TestCase):
    def test_peak_rss_follows_the_heap(self):
        try:
            core, stdout = lib.run_scenario_to_core(lib.example_path(SCENARIO), ["--big", str(BIG_MIB)])
        except lib.CoreUnavailable as e:
            self.skipTest("cannot produce core files here: %s" % e)
        try:
            oracle = lib.parse_oracle(stdout)
            core_size = os.path.getsize(core)
            self.assertGreater(core_size, BIG_MIB << 20)
            for command in (["heap", "stats", "--json"], ["heap", "check", "--json"]):
                with self.subTest(command=command):
                    status, out, rss = peak_rss([lib.cli_path(), core] + command)
                    self.assertEqual(status, 0)
                    print("heapscope %s on a %d MiB core: peak RSS %.1f MiB"
                          % (" ".join(command), core_size >> 20, rss / 2**20), file=sys.stderr)
                    self.assertLess(rss, core_size // 4,
                                    "peak RSS %d bytes for a %d-byte core" % (rss, core_size))
                    if command[1] == "stats":
                        self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), oracle), [])
        finally:
            os.unlink(core)


if __name__ == "__main__":
    unittest.main()
