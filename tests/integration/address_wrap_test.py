"""A core with one anonymous read-write PT_LOAD at the top of the address
space (p_vaddr 0xfffffffffffff000): every heap command must answer at once,
not loop for ever with an address that wrapped to 0 (issue 16). The core is
a real one (scenario_mmap: mp_ counts mmapped chunks, so the scan for
them runs, smallest region first) with that segment appended. Standard library only.
"""

import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

PT_LOAD, PF_W, PF_R = 1, 2, 4
TOP = 0xfffffffffffff000


def with_segment_at(core, out, vaddr, size=4096):
    """Writes core with one more PT_LOAD (rw, anonymous: NT_FILE does not
    name it) of `size` bytes at vaddr; the program headers move to the end."""
    with open(core, "rb") as f:
        data = bytearray(f.read())
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    phdrs = data[phoff:phoff + phentsize * phnum]
    seg_off = (len(data) + 4095) & ~4095
    data += b"\0" * (seg_off - len(data))
    data += (struct.pack("<QQ", 0, 0x5A5A) * (size // 16))[:size]
    new_phoff = len(data)
    data += phdrs
    data += struct.pack("<IIQQQQQQ", PT_LOAD, PF_R | PF_W, seg_off, vaddr, 0, size, size, 4096)
    struct.pack_into("<Q", data, 32, new_phoff)
    struct.pack_into("<H", data, 56, phnum + 1)
    with open(out, "wb") as f:
        f.write(data)


class TopOfAddressSpaceTest(unittest.TestCase):
    def test_every_heap_command_answers(self):
        try:
            core, _ = lib.run_scenario_to_core(lib.example_path("scenario_mmap"))
        except lib.CoreUnavailable as e:
            self.skipTest("cannot produce core files here: %s" % e)
        crafted = os.path.join(lib.scratch_dir(), "top-segment.core")
        with_segment_at(core, crafted, TOP)
        want = lib.run_cli_json([core, "heap", "stats"])
        for argv in (["heap", "stats", "--json"], ["heap", "check"], ["heap", "chunks", "--state", "mmapped"],
                     ["heap", "leaks"]):
            with self.subTest(command=" ".join(argv)):
                try:
                    status, out, err = lib.run_cli([crafted] + argv, timeout=30)
                except subprocess.TimeoutExpired:
                    self.fail("heapscope %s did not answer within 30 s" % " ".join(argv))
                self.assertEqual(status, 0, err)
                if argv[1] == "stats":
                    got = lib.run_cli_json([crafted, "heap", "stats"])
                    self.assertEqual(got["total"], want["total"])
                    self.assertEqual(got["mmapped"], want["mmapped"])


if __name__ == "__main__":
    unittest.main()
