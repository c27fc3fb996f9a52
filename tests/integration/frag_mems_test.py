"""mems frag on examples/mems_demo's core, against the figures the program
printed from the allocators themselves (mems_get_stats, mems_pool_get_stats)."""

import os
import re
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


def oracle_line(out, name):
    for line in out.splitlines():
        if line.startswith("oracle " + name + " "):
            return {k: int(v) for k, v in (kv.split("=", 1) for kv in line.split()[2:])}
    raise AssertionError("mems_demo printed no 'oracle %s' line" % name)


class MemsFragTest(unittest.TestCase):
    def test_mems_frag_matches_the_allocators(self):
        exe = lib.example_path("mems_demo")
        if not os.path.exists(exe):
            self.skipTest("mems_demo is not built (no mems library)")
        try:
            core, out = lib.run_scenario_to_core(exe)
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))
        seg = oracle_line(out, "mems_stats")
        pool = oracle_line(out, "mems_pool_stats")
        f = lib.run_cli_json([core, "mems", "frag"])
        s = f["segments"]
        self.assertEqual(len(s["nodes"]), seg["nodes"])
        self.assertEqual(s["holes"], seg["hole_segments"])
        self.assertEqual(s["hole_bytes"], seg["hole_bytes"])
        self.assertEqual(sum(n["hole_bytes"] for n in s["nodes"]), seg["hole_bytes"])
        self.assertEqual(s["largest_hole"], max(n["largest_hole"] for n in s["nodes"]))
        self.assertGreater(s["tail_bytes"], 0)  # drop_some() leaves trailing HOLEs
        self.assertLessEqual(s["tail_bytes"], s["hole_bytes"])
        p = f["pools"]
        self.assertEqual(sum(c["free_blocks"] for c in p["classes"]), pool["blocks_free"])
        self.assertEqual(sum(c["pools"] for c in p["classes"]) + p["empty_pools"], pool["pools"])
        status, text, err = lib.run_cli([core, "mems", "frag"])
        self.assertEqual(status, 0, err)
        self.assertIn("largest hole", text)
        self.assertIn("free blocks", text)


class MemsGetPageTest(unittest.TestCase):
    """mems get on a live process also names the OS page frame behind the
    MeMS physical address: MeMS virtual -> process virtual -> frame."""

    def test_mems_get_shows_the_frame(self):
        shim = os.environ.get("HEAPSCOPE_MEMS_ABORT_WAIT") or os.path.join(
            lib.build_dir(), "tests", "programs", "mems_abort_wait.so")
        exe = lib.example_path("mems_demo")
        if not os.path.exists(shim) or not os.path.exists(exe):
            self.skipTest("mems_demo or its abort() shim is not built")
        proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=lib.preload_env([shim]))
        try:
            buf = b""
            deadline = time.monotonic() + 60
            while b"READY\n" not in buf:
                self.assertGreater(deadline - time.monotonic(), 0, "no READY from mems_demo")
                r, _, _ = select.select([proc.stdout.fileno()], [], [], 1)
                if r:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    self.assertTrue(chunk, "mems_demo exited before READY")
                    buf += chunk
            pairs = re.findall(r"mems_get (0x[0-9a-f]+) -> (0x[0-9a-f]+)", buf.decode())
            self.assertTrue(pairs)
            v, phys = pairs[0]
            j = lib.run_cli_json(["--pid", proc.pid, "mems", "get", v])
            page = j["os_page"]
            self.assertTrue(page["present"])  # the demo wrote every segment
            with open("/proc/%d/pagemap" % proc.pid, "rb") as f:
                f.seek(int(phys, 16) // 4096 * 8)
                entry = int.from_bytes(f.read(8), "little")
            pfn = entry & ((1 << 55) - 1)
            if pfn:
                self.assertEqual(page["pfn"], pfn)
            else:
                self.assertTrue(page["pfn_hidden"])
            status, text, err = lib.run_cli(["--pid", proc.pid, "mems", "get", v])
            self.assertEqual(status, 0, err)
            self.assertIn("OS page:", text)
            # A core has no frames: no os_page there.
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


if __name__ == "__main__":
    unittest.main()
