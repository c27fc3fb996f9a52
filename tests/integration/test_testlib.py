"""The test library's own parsers, on real scenario output (no heapscope
needed): the oracle must be self-consistent, or the other tests prove nothing."""

import os
import re
import sys
import subprocess
import unittest
import unittest.mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

SAMPLE = """<malloc version="1">
<heap nr="0">
<sizes>
  <size from="17" to="32" total="160" count="5"/>
  <size from="65" to="80" total="240" count="3"/>
  <size from="321" to="321" total="963" count="3"/>
  <size from="1521" to="3009" total="4530" count="2"/>
  <unsorted from="2513" to="2513" total="2513" count="1"/>
</sizes>
<total type="fast" count="8" size="400"/>
<total type="rest" count="7" size="90169"/>
<system type="current" size="577536"/>
<system type="max" size="577536"/>
<aspace type="total" size="577536"/>
<aspace type="mprotect" size="577536"/>
</heap>
<total type="fast" count="8" size="400"/>
<total type="rest" count="7" size="90169"/>
<total type="mmap" count="2" size="8192"/>
<system type="current" size="577536"/>
<system type="max" size="577536"/>
<aspace type="total" size="577536"/>
<aspace type="mprotect" size="577536"/>
</malloc>
"""


class ParserTest(unittest.TestCase):
    def test_malloc_info_sample(self):
        mi = lib.parse_malloc_info(SAMPLE)
        self.assertEqual(len(mi["heaps"]), 1)
        h = mi["heaps"][0]
        self.assertEqual(h["fast"], {"count": 8, "size": 400})
        self.assertEqual(h["rest"], {"count": 7, "size": 90169})
        self.assertEqual(h["system_current"], 577536)
        self.assertEqual(len(h["fast_sizes"]), 2)
        self.assertEqual(h["small"], {"count": 3, "size": 960})
        self.assertEqual(h["large"], {"count": 2, "size": 4528})
        self.assertEqual(h["unsorted"]["count"], 1)
        self.assertEqual(mi["total"]["mmap"], {"count": 2, "size": 8192})

    def test_mallinfo2_line(self):
        m = lib.parse_mallinfo2("mallinfo2 arena=1 ordblks=2 smblks=3 hblks=4 hblkhd=5 usmblks=6 "
                                "fsmblks=7 uordblks=8 fordblks=9 keepcost=10")
        self.assertEqual(m["keepcost"], 10)
        self.assertEqual(m["ordblks"], 2)
        with self.assertRaises(ValueError):
            lib.parse_mallinfo2("mallinfo2 arena=1")

    def test_expectations(self):
        e = lib.parse_expectations("x\nEXPECT tcache chunk_size=48 count=7\nEXPECT mmapped address=0x10 size=9\n")
        self.assertEqual(e, [{"kind": "tcache", "chunk_size": 48, "count": 7},
                             {"kind": "mmapped", "address": "0x10", "size": 9}])

    def test_compare_detects_a_mismatch(self):
        """A stats document built to agree passes; one byte off is reported."""
        mi = lib.parse_malloc_info(SAMPLE)
        h = mi["heaps"][0]
        top = h["rest"]["size"] - 2513 - 963 - 4530  # raw bin sizes carry P bits; top does not
        tcache = (7 * 32, 224)
        fixed = 400 + 2512 + 960 + 4528 + top
        in_use = 577536 - fixed - tcache[1] - 656
        arena = {"index": 0, "main": True, "system_bytes": 577536,
                 "in_use": {"chunks": 40, "bytes": in_use}, "metadata": {"chunks": 1, "bytes": 656},
                 "tcache": {"chunks": 7, "bytes": 224}, "fast": {"chunks": 8, "bytes": 400},
                 "unsorted": {"chunks": 1, "bytes": 2512}, "small": {"chunks": 3, "bytes": 960},
                 "large": {"chunks": 2, "bytes": 4528}, "top": {"address": "0x1", "bytes": top}}
        total = {k: dict(v) for k, v in arena.items() if isinstance(v, dict)}
        total["top"] = {"chunks": 1, "bytes": top}
        total["system_bytes"] = 577536
        stats = {"arenas": [arena], "mmapped": {"chunks": 2, "bytes": 8192}, "total": total}
        m2 = {"arena": 577536, "ordblks": 7, "smblks": 8, "hblks": 2, "hblkhd": 8192, "usmblks": 0,
              "fsmblks": 400, "fordblks": fixed, "uordblks": 577536 - fixed, "keepcost": top}
        oracle = {"malloc_info": mi, "mallinfo2": m2}
        self.assertEqual(lib.compare_stats_with_oracle(stats, oracle), [])
        arena["fast"]["bytes"] += 16
        bad = lib.compare_stats_with_oracle(stats, oracle)
        self.assertTrue(any("fast bytes" in b for b in bad), bad)


class RealOracleTest(unittest.TestCase):
    """The oracle a real scenario prints (with --exit: no core needed)."""

    def run_exit(self, name):
        exe = lib.example_path(name)
        out = subprocess.run([exe, "--exit"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return lib.parse_oracle(out.stdout)

    def check_consistent(self, o):
        self.assertFalse(o["unstable"])
        mi, m2 = o["malloc_info"], o["mallinfo2"]
        heaps = mi["heaps"]
        self.assertEqual(sum(h["system_current"] for h in heaps), m2["arena"])
        self.assertEqual(sum(h["fast"]["count"] for h in heaps), m2["smblks"])
        self.assertEqual(sum(h["fast"]["size"] for h in heaps), m2["fsmblks"])
        self.assertEqual(sum(h["rest"]["count"] for h in heaps), m2["ordblks"])
        # rest size counts the raw size field (PREV_INUSE bit) of each bin chunk; top is masked.
        self.assertEqual(sum(h["fast"]["size"] + h["rest"]["size"] - (h["rest"]["count"] - 1)
                             for h in heaps), m2["fordblks"])
        self.assertEqual(m2["uordblks"], m2["arena"] - m2["fordblks"])
        self.assertEqual(mi["total"]["mmap"]["count"], m2["hblks"])
        self.assertEqual(mi["total"]["mmap"]["size"], m2["hblkhd"])
        for h in heaps:
            unsorted = h["unsorted"]["count"] if h["unsorted"] else 0
            self.assertEqual(h["small"]["count"] + h["large"]["count"] + unsorted + 1, h["rest"]["count"])
            self.assertEqual(sum(d["count"] for d in h["fast_sizes"]), h["fast"]["count"])

    def test_single(self):
        o = self.run_exit("scenario_single")
        self.check_consistent(o)
        h = o["malloc_info"]["heaps"][0]
        self.assertEqual(h["fast"]["count"], lib.expected_counts(o["expect"], "fast"))
        self.assertEqual(h["small"]["count"], lib.expected_counts(o["expect"], "small"))
        self.assertEqual(h["large"]["count"], lib.expected_counts(o["expect"], "large"))
        self.assertEqual(h["unsorted"]["count"], lib.expected_counts(o["expect"], "unsorted"))

    def test_threads(self):
        o = self.run_exit("scenario_threads")
        self.check_consistent(o)
        self.assertEqual(len(o["malloc_info"]["heaps"]), 9)
        self.assertEqual(sum(h["fast"]["count"] for h in o["malloc_info"]["heaps"]),
                         lib.expected_counts(o["expect"], "fast"))

    def test_mmap(self):
        o = self.run_exit("scenario_mmap")
        self.check_consistent(o)
        want = [e for e in o["expect"] if e.get("kind") == "mmapped" and "count" in e][0]
        self.assertEqual(o["malloc_info"]["total"]["mmap"], {"count": want["count"], "size": want["bytes"]})

    def test_demo(self):
        self.check_consistent(self.run_exit("demo"))

    def test_core_produced(self):
        try:
            core, out = lib.run_scenario_to_core(lib.example_path("scenario_single"))
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))
        with open(core, "rb") as f:
            self.assertEqual(f.read(4), b"\x7fELF")
        self.assertIn("ABORT", out)


class DebuggerHelperTest(unittest.TestCase):
    """run_gdb_batch / run_lldb_batch on a real core: the debuggers, reading
    glibc's variables through libc6-dbg, agree with the oracle."""

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("scenario_mmap")
        try:
            cls.core, out = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(out)

    def values(self, text, pattern):
        return [int(v) for v in re.findall(pattern, text)]

    def test_gdb(self):
        if not lib.gdb_path():
            self.skipTest("gdb not installed")
        status, out, err = lib.run_gdb_batch(self.exe, self.core,
                                             ["p main_arena.system_mem", "p mp_.n_mmaps", "p mp_.mmapped_mem"])
        self.assertEqual(status, 0, err)
        got = self.values(out, r"(?m)^\$\d+ = (\d+)$")
        mi = self.oracle["malloc_info"]
        self.assertEqual(got, [mi["heaps"][0]["system_current"], mi["total"]["mmap"]["count"],
                               mi["total"]["mmap"]["size"]], out)

    def test_lldb(self):
        if not lib.lldb_path():
            self.skipTest("lldb not installed")
        status, out, err = lib.run_lldb_batch(self.exe, self.core,
                                              ["target variable main_arena.system_mem",
                                               "target variable mp_.n_mmaps"])
        self.assertEqual(status, 0, err)
        got = self.values(out, r"(?m)^\(\w+\) [\w.]+ = (\d+)$")
        mi = self.oracle["malloc_info"]
        self.assertEqual(got, [mi["heaps"][0]["system_current"], mi["total"]["mmap"]["count"]], out)


class SanitizerEnvTest(unittest.TestCase):
    """In a sanitizer build the debuggers carry the ASan runtime (our module
    inside them is instrumented) and the programs they start do not (the heap
    under test must stay glibc's)."""

    def test_preload_order(self):
        with unittest.mock.patch.dict(os.environ, {"HEAPSCOPE_SANITIZER_RUNTIME": "/a.so:/b.so",
                                                   "ASAN_OPTIONS": "abort_on_error=1"}):
            self.assertEqual(lib.preload_env(["/shim.so"])["LD_PRELOAD"], "/a.so:/b.so:/shim.so")
            env = lib.debugger_env({"X": "1"})
            self.assertEqual((env["LD_PRELOAD"], env["X"]), ("/a.so:/b.so", "1"))
            self.assertEqual(env["ASAN_OPTIONS"], "abort_on_error=1:detect_leaks=0:disable_coredump=0")
        with unittest.mock.patch.dict(os.environ, {"HEAPSCOPE_SANITIZER_RUNTIME": ""}):
            os.environ.pop("LD_PRELOAD", None)
            self.assertNotIn("LD_PRELOAD", lib.debugger_env())
            self.assertEqual(lib.preload_env(["/shim.so"])["LD_PRELOAD"], "/shim.so")

    def maps_lines(self, text):
        return [l for l in text.splitlines() if re.match(r"[0-9a-f]+-[0-9a-f]+ ", l)]

    def check(self, out, err):
        maps = self.maps_lines(out)
        self.assertTrue(maps, out + err)
        self.assertFalse([l for l in maps if "libasan" in l], "the inferior inherited ASan")
        if lib.sanitizer_runtime():
            self.assertIn("debugger-has-asan", out, "the debugger did not get ASan")

    def test_gdb(self):
        if not lib.gdb_path():
            self.skipTest("gdb not installed")
        status, out, err = lib.run_gdb_batch("/bin/cat", commands=[
            "python print('debugger-has-asan' if 'libasan' in open('/proc/self/maps').read() else '')",
            "run /proc/self/maps"])
        self.assertEqual(status, 0, err)
        self.check(out, err)

    def test_lldb(self):
        if not lib.lldb_path():
            self.skipTest("lldb not installed")
        status, out, err = lib.run_lldb_batch("/bin/cat", commands=[
            "script print('debugger-has-asan' if 'libasan' in open('/proc/self/maps').read() else '')",
            "process launch -- /proc/self/maps"])
        self.assertEqual(status, 0, err)
        self.check(out, err)


if __name__ == "__main__":
    unittest.main()
