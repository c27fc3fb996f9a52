"""libheapscope-record in a real program dumped to a kernel core: the tables,
read from the core through the layout alone (gdb_record_walk.py), hold every
allocation the program says it kept, at its site and thread, and none it freed."""
import collections
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import heapscope_testlib as tl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def record_lib():
    return os.environ.get("HEAPSCOPE_RECORD_LIB") or os.path.join(tl.build_dir(), "lib", "libheapscope-record.so")


def sites_program():
    return os.environ.get("HEAPSCOPE_RECORD_SITES") or os.path.join(tl.build_dir(), "tests", "programs", "record_sites")


def run_recorded_to_core(exe):
    """exe under LD_PRELOAD of the recorder, to a core: (core, stdout)."""
    return tl.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + record_lib(), exe])


def walk_core(exe, core):
    out = subprocess.run(
        [tl.gdb_path(), "-batch", "-nx", "-ex", "set debuginfod enabled off",
         "-x", os.path.join(HERE, "gdb_record_walk.py"), exe, core],
        capture_output=True, text=True, timeout=120)
    root, records = None, {}
    for line in out.stdout.splitlines():
        if line.startswith("ROOT "):
            root = dict((kv.split("=") for kv in line.split()[1:]))
            root = {k: int(v) for k, v in root.items()}
        elif line.startswith("RECORD "):
            f = line.split()
            records[int(f[1], 16)] = {"thread": int(f[2]), "seq": int(f[3]), "stack": int(f[4]),
                                      "funcs": f[5:]}
    if root is None:
        raise AssertionError("gdb found no root:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    return root, records


class RecordedCoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exe = sites_program()
        try:
            cls.core, cls.stdout = run_recorded_to_core(cls.exe)
        except tl.CoreUnavailable as e:
            raise unittest.SkipTest(str(e))
        cls.root, cls.records = walk_core(cls.exe, cls.core)
        cls.live = []
        cls.freed = []
        for line in cls.stdout.splitlines():
            f = line.split()
            if f and f[0] == "LIVE":
                cls.live.append((int(f[1], 16), f[2], int(f[3])))
            elif f and f[0] == "FREED":
                cls.freed.append(int(f[1], 16))
        cls.expect = tl.parse_expectations(cls.stdout)[0]

    def test_root_is_valid(self):
        r = self.root
        self.assertEqual((r["magic_ok"], r["version"], r["root_size"], r["initialized"], r["busy"]),
                         (1, 2, 720, 1, 0))
        self.assertEqual(r["live_records"], len(self.records))

    def test_every_kept_allocation_has_its_site_and_thread(self):
        self.assertEqual(len(self.live), self.expect["live"])
        for address, site, tid in self.live:
            rec = self.records.get(address)
            self.assertIsNotNone(rec, "no record for %s block 0x%x" % (site, address))
            self.assertEqual(rec["funcs"][0], site, "0x%x: %s" % (address, rec["funcs"]))
            self.assertEqual(rec["thread"], tid, "0x%x" % address)
            self.assertIn("main" if site != "site_thread" else "thread_main", rec["funcs"])

    def test_one_stack_per_call_path(self):
        stacks = collections.defaultdict(set)
        for address, site, _ in self.live:
            stacks[site].add(self.records[address]["stack"])
        self.assertEqual(len(stacks), self.expect["sites"])
        self.assertEqual(len(stacks["site_alpha"]), 1)
        self.assertEqual(len(stacks["site_beta"]), 1)
        self.assertEqual(len(stacks["site_thread"]), 1)   # three threads, one path
        self.assertEqual(len(stacks["site_recursive"]), 4)  # one per depth
        self.assertEqual(len(stacks["site_aligned"]), 4)    # posix_memalign, aligned_alloc, memalign, valloc

    def test_recursion_depths(self):
        depths = sorted(self.records[a]["funcs"].count("site_recursive")
                        for a, site, _ in self.live if site == "site_recursive")
        self.assertEqual(depths, [1, 2, 3, 4])

    def test_freed_blocks_have_no_record(self):
        kept = {a for a, _, _ in self.live}
        self.assertEqual(len(self.freed), 3)
        for address in self.freed:
            if address in kept:
                continue  # the address was handed out again
            rec = self.records.get(address)
            self.assertTrue(rec is None or rec["funcs"][:1] != ["site_alpha"],
                            "freed 0x%x still recorded: %s" % (address, rec))

    def test_sequence_follows_program_order(self):
        seqs = [self.records[a]["seq"] for a, site, _ in self.live if site == "site_beta"]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), len(seqs))


if __name__ == "__main__":
    unittest.main()
