"""gperftools tcmalloc 2.10 (examples/tcmalloc_threads): the model's figures
equal tcmalloc's own, printed by the program just before its core
(examples/tcmalloc_oracle.h):

  - in-use bytes = generic.current_allocated_bytes; cached (thread caches)
    = tcmalloc.thread_cache_free_bytes; the transfer caches, the central
    lists (their spans' free objects and tails), the page heap's normal and
    returned lists = the matching properties; the blocks tile all tcmalloc
    took from the system (TCMalloc_SystemTaken), the page heap's part of it
    = generic.heap_size;
  - in-use blocks = the allocations the program made and did not free
    (counted by tcmalloc's new/delete hooks) plus those the C++ runtime made
    before main, read from a core of the same program taken at the start of
    main (whose in-use bytes equal that run's current_allocated_bytes).

Linked with -ltcmalloc_minimal (Debian's library exports none of the roots:
they are found by shape) and with libtcmalloc_minimal.a (the program's own
symbols name them); on a core and on the live process (--pid); the CLI,
gdb and lldb print the same bytes. The leak scenarios (leaks_basic,
leaks_cxx) linked with tcmalloc: heap leaks finds the same exact sets.
Standard library only.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frontend_parity  # noqa: E402
import heapscope_testlib as lib  # noqa: E402
import leaks_test as lt  # noqa: E402


def parse_oracle(stdout):
    """The TCMALLOC-ORACLE block as {name: value}, numbers as ints."""
    if "TCMALLOC-ORACLE-ERROR" in stdout:
        raise AssertionError("the oracle could not read a figure: " + stdout)
    body = stdout.split("TCMALLOC-ORACLE-BEGIN\n", 1)[1].split("TCMALLOC-ORACLE-END", 1)[0]
    figures = dict(re.findall(r"(\w+)=(\S+)", body))
    return {k: (v if k == "version" else int(v)) for k, v in figures.items()}


def model_dump(core):
    """How the roots were found and the findings in full (tests/programs/tcmalloc_model_dump)."""
    exe = os.path.join(lib.build_dir(), "tests", "programs", "tcmalloc_model_dump")
    proc = subprocess.run([exe, core], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("tcmalloc_model_dump failed: " + proc.stderr)
    return json.loads(proc.stdout)


def stats(where):
    """heap stats --json of a core path or ["--pid", N]."""
    return lib.run_cli_json((where if isinstance(where, list) else [where]) + ["heap", "stats"])


def baseline_in_use(program):
    """In-use blocks at the start of main (the C++ runtime's), and that the
    model's bytes there are tcmalloc's."""
    core, stdout = lib.run_scenario_to_core(lib.example_path(program), args=("baseline",))
    oracle = parse_oracle(stdout)
    s = stats(core)
    if s["total"]["in_use"]["bytes"] != oracle["current_allocated_bytes"]:
        raise AssertionError("baseline: in-use bytes %d, tcmalloc says %d"
                             % (s["total"]["in_use"]["bytes"], oracle["current_allocated_bytes"]))
    return s["total"]["in_use"]["chunks"]


class _TcmallocOracle:
    program = None
    by_structure = True  # Debian's shared library exports none of the roots

    @classmethod
    def setUpClass(cls):
        exe = lib.example_path(cls.program)
        if not os.path.exists(exe):
            raise unittest.SkipTest("%s not built" % cls.program)
        cls.core, cls.stdout = lib.run_scenario_to_core(exe)
        cls.oracle = parse_oracle(cls.stdout)
        cls.stats = stats(cls.core)

    def check_figures(self, s, oracle, baseline):
        kinds = s["total"]["kinds"]
        self.assertEqual(s["allocator"], "tcmalloc")
        self.assertEqual(s["version"], oracle["version"])
        self.assertEqual(s["findings"], 0)
        self.assertEqual(s["total"]["in_use"], {"chunks": oracle["live"] + baseline - oracle["foreign_frees"],
                                                "bytes": oracle["current_allocated_bytes"]})
        self.assertEqual(s["total"]["cached"]["bytes"], oracle["thread_cache_free_bytes"])
        self.assertEqual(kinds["transfer cache"]["bytes"], oracle["transfer_cache_free_bytes"])
        self.assertEqual(kinds["central free"]["bytes"] + kinds["span tail"]["bytes"],
                         oracle["central_cache_free_bytes"])
        self.assertEqual(kinds["page heap free"]["bytes"], oracle["pageheap_free_bytes"])
        self.assertEqual(kinds["returned"]["bytes"], oracle["pageheap_unmapped_bytes"])
        self.assertEqual(s["total"]["free"]["bytes"],
                         oracle["transfer_cache_free_bytes"] + oracle["central_cache_free_bytes"] +
                         oracle["pageheap_free_bytes"] + oracle["pageheap_unmapped_bytes"])
        self.assertEqual(s["total"]["system_bytes"], oracle["system_taken"])
        page_heap = [o for o in s["owners"] if o["label"] == "page heap"]
        self.assertEqual([o["system_bytes"] for o in page_heap], [oracle["heap_size"]])

    def test_figures_equal_tcmalloc_own(self):
        self.assertGreater(self.oracle["pageheap_unmapped_bytes"], 0)
        self.assertGreater(self.oracle["transfer_cache_free_bytes"], 0)
        self.check_figures(self.stats, self.oracle, baseline_in_use(self.program))

    def test_version_and_roots(self):
        model = model_dump(self.core)
        self.assertEqual((model["allocator"], model["version"]), ("tcmalloc", "2.10"))
        self.assertTrue(model["version_known"])
        self.assertEqual(model["by_structure"], self.by_structure)
        self.assertEqual(model["findings"], [])
        self.assertGreaterEqual(model["thread_caches"], 4)

    def test_without_debug_info_the_same(self):
        status, out, err = lib.run_cli(["--no-debuginfo", self.core, "heap", "stats", "--json"])
        self.assertEqual(status, 0, err)
        status2, out2, _ = lib.run_cli([self.core, "heap", "stats", "--json"])
        self.assertEqual((status, out), (status2, out2))

    def test_heap_chunks_lists_the_in_use_blocks(self):
        listing = lib.run_cli_json([self.core, "heap", "chunks", "--state", "in_use"])
        rows = listing["chunks"]
        self.assertEqual(len(rows), self.stats["total"]["in_use"]["chunks"])
        self.assertEqual({r["state"] for r in rows} - {"object", "large", "tcmalloc's own"}, set())
        self.assertTrue(all(r["data"] == r["address"] for r in rows))
        self.assertEqual(sum(r["size"] for r in rows), self.oracle["current_allocated_bytes"])


class TcmallocThreadsTest(_TcmallocOracle, unittest.TestCase):
    program = "tcmalloc_threads"

    def test_heap_bins_lists_each_size_class(self):
        """heap bins on tcmalloc: per size class, its central, transfer and
        thread-cache free objects; they add up to tcmalloc's figures."""
        bins = lib.run_cli_json([self.core, "heap", "bins"])
        self.assertEqual((bins["allocator"], bins["findings"]), ("tcmalloc", 0))
        classes = bins["classes"]
        self.assertGreater(len(classes), 10)
        self.assertEqual(len(bins["thread_caches"]), len(classes[0]["thread_caches"]))
        self.assertGreaterEqual(len(bins["thread_caches"]), 4)
        kinds = self.stats["total"]["kinds"]
        self.assertEqual(sum(c["size"] * sum(c["thread_caches"]) for c in classes),
                         self.oracle["thread_cache_free_bytes"])
        self.assertEqual(sum(c["size"] * c["transfer"] for c in classes), self.oracle["transfer_cache_free_bytes"])
        self.assertEqual(sum(c["size"] * c["central"] for c in classes), kinds["central free"]["bytes"])
        status, out, err = lib.run_cli([self.core, "heap", "bins", "fast"])
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "heapscope: tcmalloc has no arenas and no glibc bins: heap bins lists its size "
                              "classes' free lists\n")

    def test_every_thread_cache_and_list_seen(self):
        kinds = self.stats["total"]["kinds"]
        for kind in ("object", "thread cache", "transfer cache", "central free", "large", "page heap free",
                     "returned", "metadata"):
            self.assertGreater(kinds[kind]["chunks"], 0, kind)


def zero_in_core(core, address, length):
    """Zeroes [address, address + length) of the process's memory in a core file."""
    with open(core, "r+b") as f:
        data = f.read(64)
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        f.seek(phoff)
        headers = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", headers, i * phentsize)
            if p_type == 1 and vaddr <= address and address + length <= vaddr + filesz:
                f.seek(offset + address - vaddr)
                f.write(bytes(length))
                return
    raise AssertionError("%#x is not in the core" % address)


class TcmallocDamagedTest(unittest.TestCase):
    """tcmalloc there but its page map wiped: one line saying so, not glibc's
    "malloc in this process is tcmalloc"."""

    def test_unreadable_heap_is_one_line(self):
        core, _ = lib.run_scenario_to_core(lib.example_path("tcmalloc_threads"))
        pageheap = int(model_dump(core)["pageheap"], 16)
        damaged = core + ".damaged"
        shutil.copy(core, damaged)
        zero_in_core(damaged, pageheap + 524288, 1 << 20)  # the page map's root (layout 2.10)
        status, out, err = lib.run_cli([damaged, "heap", "stats"])
        self.assertEqual((status, out), (2, ""))
        self.assertRegex(err, r"^heapscope: tcmalloc's heap could not be read: tcmalloc 2.10 is in "
                              r"/\S+/libtcmalloc_minimal.so[^ ]* but its page map was not found \(.*\)\n$")


class TcmallocStaticTest(_TcmallocOracle, unittest.TestCase):
    """libtcmalloc_minimal.a linked in: the roots by the program's own symbols."""
    program = "tcmalloc_threads_static"
    by_structure = False


class TcmallocFrontEndsTest(frontend_parity.SameInEveryFrontEnd, unittest.TestCase):
    """gdb and lldb print the same bytes as the CLI on a tcmalloc core."""
    COMMANDS = ["heap stats", "heap stats --json", "heap chunks --state cached --limit 20",
                "heap chunks --min-size 300000 --json", "heap bins", "heap bins --json"]

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("tcmalloc_threads")
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out


class TcmallocLiveTest(unittest.TestCase):
    """The same figures on the live process, stopped at READY."""

    def test_figures_equal_tcmalloc_own(self):
        baseline = baseline_in_use("tcmalloc_threads")
        with lib.LiveScenario(lib.example_path("tcmalloc_threads"), args=("live",)) as live:
            s = stats(["--pid", str(live.pid)])
            oracle = parse_oracle(live.stdout)
        _TcmallocOracle.check_figures(self, s, oracle, baseline)


class _OnTcmalloc(lt._OnJemalloc):
    """The leak programs linked with tcmalloc: the same expected sets (objects
    have no header either)."""
    allocator = "tcmalloc"


class TcmallocLeaksBasicTest(_OnTcmalloc, lt.LeaksBasicTest):
    program = "tcmalloc_leaks_basic"
    test_stale_pointers_keep_nothing_alive = lt.JemallocLeaksBasicTest.test_stale_pointers_keep_nothing_alive


class TcmallocLeaksCxxTest(_OnTcmalloc, lt.LeaksCxxTest):
    program = "tcmalloc_leaks_cxx"


if __name__ == "__main__":
    unittest.main()
