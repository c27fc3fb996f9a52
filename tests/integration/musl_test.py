"""musl 1.2.3's mallocng (examples/musl_threads.c, built with musl-gcc): the
model's in-use figures equal what the program itself still holds, as it
printed just before its core (examples/musl_oracle.h): in-use blocks = its
live allocations, in-use bytes = the sizes it asked for (mallocng keeps
them exactly: malloc_usable_size returns them, and the program checks that
its usable bytes agree). Static with symbols, static stripped (the context
found by its shape), dynamic (musl's libc.so has no symbol table: by shape
too); cores and a live process; the CLI, gdb and lldb print the same bytes;
heap bins lists the groups; heap leaks on examples/leaks_basic.c built with
musl-gcc finds the exact set it recorded. Standard library only.
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
import leaks_test  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402


def parse_oracle(stdout):
    """The MUSL-ORACLE line: {live, requested, usable}."""
    body = stdout.split("MUSL-ORACLE-BEGIN\n", 1)[1].split("MUSL-ORACLE-END", 1)[0]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", body)}


def has_symbol_table(exe):
    out = subprocess.run(["readelf", "-S", "-W", exe], capture_output=True, text=True, check=True).stdout
    return " .symtab " in out


class _MuslOracle:
    program = None

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path(cls.program)
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        cls.oracle = parse_oracle(cls.stdout)

    def test_in_use_equals_what_the_program_holds(self):
        o = self.oracle
        self.assertEqual(o["requested"], o["usable"])
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual((stats["allocator"], stats["version"]), ("musl", "mallocng"))
        self.assertEqual(stats["findings"], 0)
        self.assertEqual(stats["total"]["in_use"], {"chunks": o["live"], "bytes": o["requested"]})
        kinds = stats["total"]["kinds"]
        self.assertGreater(kinds["mmapped"]["chunks"], 0)
        self.assertGreater(kinds["slot offset"]["chunks"], 0)  # aligned_alloc, cycled offsets

    def test_chunks_tile_what_mallocng_owns(self):
        """heap chunks --state in_use and --state mmapped (allocations of
        128 KiB and more) list exactly the live allocations, each at the
        program's pointer; all blocks together are the system bytes."""
        rows = []
        for state in ("in_use", "mmapped"):
            rows += lib.run_cli_json([self.core, "heap", "chunks", "--state", state])["chunks"]
        self.assertEqual(len(rows), self.oracle["live"])
        self.assertEqual(sum(r["size"] for r in rows), self.oracle["requested"])
        self.assertTrue(all(r["data"] == r["address"] for r in rows))
        everything = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual(sum(r["size"] for r in everything), stats["total"]["system_bytes"])
        for a, b in zip(everything, everything[1:]):
            self.assertLessEqual(int(a["address"], 16) + a["size"], int(b["address"], 16))


    def test_bins_lists_the_groups(self):
        """heap bins: mallocng's groups per size class with their masks. The
        slots in use are the live allocations and the slots that hold a
        nested group; every group is on its class's list once."""
        bins = lib.run_cli_json([self.core, "heap", "bins"])
        self.assertEqual(bins["allocator"], "musl")
        groups = [g for c in bins["classes"] for g in c["groups"]]
        nested = sum(g["where"] == "nested" for g in groups)
        self.assertGreater(nested, 0)
        self.assertEqual(sum(g["in_use"] for g in groups), self.oracle["live"] + nested)
        self.assertEqual(len({g["group"] for g in groups}), len(groups))
        for c in bins["classes"]:
            for g in c["groups"]:
                self.assertEqual(g["avail_mask"] & g["freed_mask"], 0)
                self.assertLess(max(g["avail_mask"], g["freed_mask"]), 1 << g["slots"])
        mmapped = next(c for c in bins["classes"] if c["class"] == 63)["groups"]
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual(len(mmapped), stats["total"]["kinds"]["mmapped"]["chunks"])
        self.assertGreaterEqual(len(mmapped), 9)  # three per thread, and realloc's that grew past 128 KiB
        status, out, err = lib.run_cli([self.core, "heap", "bins", "tcache"])
        self.assertEqual((status, out), (2, ""))
        self.assertIn("groups per size class", err)


class MuslStaticTest(_MuslOracle, unittest.TestCase):
    """A static program with its symbol table: __malloc_context by name."""
    program = "musl_threads"

    def test_has_symbols(self):
        self.assertTrue(has_symbol_table(self.exe))


class MuslStrippedTest(_MuslOracle, unittest.TestCase):
    """The same program stripped: the context by its shape."""
    program = "musl_threads_stripped"

    def test_has_no_symbols(self):
        self.assertFalse(has_symbol_table(self.exe))


class MuslDynamicTest(_MuslOracle, unittest.TestCase):
    """Linked with musl's libc.so (its own dynamic linker), which has no
    symbol table: the context by its shape in libc's .bss; groups in memory
    the dynamic linker donated to malloc are read too."""
    program = "musl_threads_dynamic"

    def test_donated_groups(self):
        """The dynamic linker gave malloc the free ends of libc's and the
        program's data pages: groups that own no mapping of their own."""
        bins = lib.run_cli_json([self.core, "heap", "bins"])
        self.assertGreater(sum(g["where"] == "donated" for c in bins["classes"] for g in c["groups"]), 0)


class MuslFrontEndsTest(SameInEveryFrontEnd, unittest.TestCase):
    """gdb and lldb print the same bytes as the CLI on a static musl core."""
    COMMANDS = ["heap stats", "heap stats --json", "heap chunks --state in_use --limit 20",
                "heap chunks --min-size 4096 --json", "heap bins --limit 3", "heap bins --json"]

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("musl_threads")
        cls.core, _ = lib.run_scenario_to_core(cls.exe)

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out


class MuslLiveTest(unittest.TestCase):
    """The same figures on the live process (--pid), stopped at READY."""

    def test_in_use_equals_what_the_program_holds(self):
        for program in ("musl_threads", "musl_threads_dynamic"):
            with self.subTest(program=program):
                with lib.LiveScenario(lib.example_path(program), args=("live",)) as live:
                    stats = lib.run_cli_json(["--pid", live.pid, "heap", "stats"])
                    oracle = parse_oracle(live.stdout)
                self.assertEqual(stats["findings"], 0)
                self.assertEqual(stats["total"]["in_use"], {"chunks": oracle["live"], "bytes": oracle["requested"]})


class MuslLeaksBasicTest(leaks_test.LeaksBasicTest):
    """examples/leaks_basic.c built with musl-gcc (static): heap leaks over
    the mallocng model lists exactly the leaks the program recorded, with
    their classes; heap refs finds the roots of what it holds."""
    program = "musl_leaks_basic"
    user_offset = 0  # mallocng's slots: the pointer malloc returned is the block

    def test_allocator_is_musl(self):
        self.assertEqual(lib.run_cli_json([self.core, "heap", "stats"])["allocator"], "musl")

    def test_glibc_own_chunks_are_reachable(self):
        """musl keeps a thread's DTV in the thread's own mapping, not on the
        heap: no block holds the address the program recorded, and no leak
        is listed there."""
        blocks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        for addr in self.internal:
            holders = [c for c in blocks if int(c["address"], 16) <= addr < int(c["address"], 16) + c["size"]]
            self.assertEqual(holders, [], hex(addr))

    def test_stale_pointers_keep_nothing_alive(self):
        victim = [a for a, v in self.leaks.items() if v[0] == "direct"][-1]
        r = lib.run_cli_json([self.core, "heap", "refs", hex(victim)])
        self.assertEqual(r["refs"], [])
        freed = lib.run_cli_json([self.core, "heap", "chunks", "--state", "free"])
        self.assertGreater(freed["matching"], 0)

    def test_valgrind_agrees(self):
        self.skipTest("valgrind intercepts musl's free but not its malloc (0 allocs seen), nor anything in a static program; the exact set is checked")

    def test_lldb_prints_the_same(self):
        self.skipTest("covered by leaks_basic on glibc, and by MuslFrontEndsTest")


class MuslLeaksBasicDynamicTest(MuslLeaksBasicTest):
    """The same program linked with musl's libc.so: part of the heap is in
    the program's and libc's own data pages (the dynamic linker donated
    them), which the scan also reads as roots."""
    program = "musl_leaks_basic_dynamic"


if __name__ == "__main__":
    unittest.main()
