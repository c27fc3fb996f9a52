"""heap chunk ADDR and heap check on allocators other than glibc
(jemalloc_threads, musl_threads; jemalloc_cxx for C++ classes).

heap chunk at the start of a block listed by `heap chunks --json` gives that
block (address, data, size, kind, owner); a pointer inside gives the block
and the offset; --dump gives the bytes the core holds there (read here from
the core's own segments); an address in no block gives one line naming the
mapping it is in. heap check is clean on the real cores (exit 0), and on a
copy whose allocator metadata was damaged (a jemalloc extent descriptor's
size class, a musl meta's avail mask) it exits 1 with the finding at the
damaged descriptor, which heap chunk then lists in the block that holds it.
gdb and lldb print the CLI's bytes. Standard library only.
"""

import os
import re
import shutil
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402

PT_LOAD = 1


class CoreMemory:
    """The bytes a core file holds, by address (its PT_LOAD segments)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        phoff = struct.unpack_from("<Q", self.data, 32)[0]
        phentsize, phnum = struct.unpack_from("<HH", self.data, 54)
        self.loads = []  # (vaddr, memsz, offset, filesz)
        for i in range(phnum):
            p_type, _f, off, vaddr, _pa, filesz, memsz, _al = struct.unpack_from(
                "<IIQQQQQQ", self.data, phoff + i * phentsize)
            if p_type == PT_LOAD:
                self.loads.append((vaddr, memsz, off, filesz))

    def offset(self, addr, size=1):
        for vaddr, _m, off, filesz in self.loads:
            if vaddr <= addr and addr + size <= vaddr + filesz:
                return off + addr - vaddr
        return None

    def read(self, addr, size):
        off = self.offset(addr, size)
        return None if off is None else bytes(self.data[off:off + size])

    def find_qwords(self, value):
        """Every address whose 8 bytes (in the file) are `value`."""
        needle = struct.pack("<Q", value)
        for vaddr, _m, off, filesz in self.loads:
            seg = self.data[off:off + filesz]
            pos = seg.find(needle)
            while pos >= 0:
                yield vaddr + pos
                pos = seg.find(needle, pos + 1)


def block_fields(row):
    return {k: row[k] for k in ("address", "data", "size", "state", "arena")}


class _ModelChunk:
    """What heap chunk and heap check do on one allocator's core; the
    subclasses make the core and know how to damage it."""
    program = None
    allocator = None

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path(cls.program)
        cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        cls.rows = lib.run_cli_json([cls.core, "heap", "chunks"])["chunks"]
        cls.memory = CoreMemory(cls.core)
        live = [r for r in cls.rows if r["state"] in cls.LIVE and r["size"] >= 32]
        cls.some_live = live[len(live) // 2]
        cls.COMMANDS = ["heap chunk %s" % cls.some_live["address"],
                        "heap chunk %s --json" % hex(int(cls.some_live["address"], 16) + 8),
                        "heap chunk %s --dump 40" % cls.some_live["address"],
                        "heap check", "heap check --json"]

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def chunk_json(self, addr, core=None):
        return lib.run_cli_json([core or self.core, "heap", "chunk", hex(addr)])

    def sample(self):
        """A few blocks of every kind the core has: first, middle and last."""
        by_kind = {}
        for r in self.rows:
            by_kind.setdefault(r["state"], []).append(r)
        for rows in by_kind.values():
            for r in {id(x): x for x in (rows[0], rows[len(rows) // 2], rows[-1])}.values():
                yield r

    def test_chunk_at_each_kind_is_the_listed_block(self):
        kinds = set()
        for row in self.sample():
            with self.subTest(row=row):
                got = self.chunk_json(int(row["address"], 16))
                self.assertEqual(block_fields(got), block_fields(row))
                self.assertEqual((got["allocator"], got["offset"]), (self.allocator, 0))
                self.assertEqual(int(got["end"], 16), int(row["address"], 16) + row["size"])
                self.assertEqual(got["findings"], [])
                kinds.add(got["state"])
        self.assertGreaterEqual(len(kinds), 4)

    def test_interior_pointer_gives_block_and_offset(self):
        row = self.some_live
        start = int(row["address"], 16)
        for offset in (1, 8, row["size"] // 2, row["size"] - 1):
            got = self.chunk_json(start + offset)
            self.assertEqual(block_fields(got), block_fields(row))
            self.assertEqual(got["offset"], offset)
            self.assertEqual(got["block_state"], "in_use")
        text = self.cli("heap", "chunk", hex(start + 24))
        self.assertIn("\n  %s is 24 bytes into the block\n" % hex(start + 24), text)
        self.assertTrue(text.startswith("%s block %s, size %d" % (self.allocator, row["address"], row["size"])), text)

    def test_dump_is_what_the_core_holds(self):
        row = self.some_live
        start = int(row["address"], 16)
        got = lib.run_cli_json([self.core, "heap", "chunk", row["address"], "--dump", "24"])
        self.assertEqual(bytes.fromhex(got["dump"]), self.memory.read(start, 24))
        text = self.cli("heap", "chunk", row["address"], "--dump")
        n = min(row["size"], 256)
        self.assertIn("  data, %d bytes:\n    %s  " % (n, row["address"]), text)
        self.assertEqual(len(re.findall(r"^    0x[0-9a-f]+  ", text, re.M)), (n + 15) // 16)

    def test_address_in_no_block_is_one_line(self):
        status, out, err = lib.run_cli([self.core, "heap", "chunk", "0x10"])
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "heapscope: 0x10 is not in any %s block; it is in no mapping\n" % self.allocator)
        # The program's first page (its ELF header): the mapping is named.
        first = min(v for v, _m, _o, _f in self.memory.loads)
        status, out, err = lib.run_cli([self.core, "heap", "chunk", hex(first)])
        self.assertEqual((status, out), (2, ""))
        self.assertRegex(err, r"^heapscope: %s is not in any %s block; it is in %s 0x[0-9a-f]+-0x[0-9a-f]+ "
                              r"\(r--\)\n$" % (hex(first), self.allocator, re.escape(os.path.realpath(self.exe))))
        # An unmapped hole among the blocks (between two of the allocator's
        # mappings): the blocks on either side are named.
        blocks = sorted((int(r["address"], 16), int(r["address"], 16) + r["size"]) for r in self.rows)
        loads = sorted((v, v + m) for v, m, _o, _f in self.memory.loads)
        hole = next(e for (_b, e), (b2, _e2) in zip(loads, loads[1:])
                    if e < b2 and blocks[0][0] < e < blocks[-1][1])
        below = max(b for b in blocks if b[1] <= hole)
        above = min(b for b in blocks if b[0] > hole)
        status, out, err = lib.run_cli([self.core, "heap", "chunk", hex(hole)])
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "heapscope: %s is not in any %s block; nearest blocks at %s-%s and %s-%s; "
                              "it is in no mapping\n" % ((hex(hole), self.allocator) + tuple(map(hex, below + above))))

    def test_check_is_clean(self):
        status, out, err = lib.run_cli([self.core, "heap", "check"])
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, "no problems found in %d chunks\n" % len(self.rows))
        report = lib.run_cli_json([self.core, "heap", "check"])
        self.assertEqual(report, {"allocator": self.allocator, "findings": [], "chunks_checked": len(self.rows)})

    def test_check_finds_damaged_metadata(self):
        damaged = os.path.join(lib.scratch_dir(), "core.damaged")
        shutil.copyfile(self.core, damaged)
        memory = CoreMemory(damaged)
        where, kind = self.damage(memory)
        with open(damaged, "wb") as f:
            f.write(memory.data)
        status, out, err = lib.run_cli([damaged, "heap", "check"])
        self.assertEqual((status, err), (1, ""))
        self.assertRegex(out, r"(?m)^%s  \S.*  %s: " % (hex(where), kind))
        self.assertRegex(out, r"\n\d+ problems? found in \d+ chunks\n$")
        report = lib.run_cli_json([damaged, "heap", "check"], statuses=(1,))
        found = [f for f in report["findings"] if f["kind"] == kind]
        self.assertEqual([f["address"] for f in found], [hex(where)])
        # heap chunk on the damaged descriptor: the metadata block that holds it, with the problem.
        got = self.chunk_json(where, damaged)
        self.assertEqual(got["block_state"], "metadata")
        self.assertIn(found[0], got["findings"])
        text = lib.run_cli([damaged, "heap", "chunk", hex(where)])[1]
        self.assertIn("\n  problem: %s  " % hex(where), text)


class JemallocChunkTest(_ModelChunk, SameInEveryFrontEnd, unittest.TestCase):
    program = "jemalloc_threads"
    allocator = "jemalloc"
    LIVE = ("region", "large")

    def damage(self, memory):
        """A large allocation's extent descriptor (edata_t: e_bits, then
        e_addr, the program's pointer; 128-byte aligned) given a small size
        class: the walk can no longer make it one allocation."""
        for row in self.rows:
            if row["state"] != "large":
                continue
            for at in memory.find_qwords(int(row["address"], 16)):
                edata = at - 8
                if edata % 128:
                    continue
                bits = struct.unpack("<Q", memory.read(edata, 8))[0]
                slab, state, szind = bits >> 12 & 1, bits >> 17 & 7, bits >> 20 & 0xff
                if slab or state or szind < 36:
                    continue
                off = memory.offset(edata, 8)
                struct.pack_into("<Q", memory.data, off, bits & ~(0xff << 20) | 1 << 20)
                return edata, "bad-large"
        raise AssertionError("no large allocation's descriptor found in the core")


class MuslChunkTest(_ModelChunk, SameInEveryFrontEnd, unittest.TestCase):
    program = "musl_threads"
    allocator = "musl"
    LIVE = ("slot",)

    def damage(self, memory):
        """A group's meta with an avail mask past its last slot."""
        bins = lib.run_cli_json([self.core, "heap", "bins"])
        group = next(g for c in bins["classes"] for g in c["groups"] if g["slots"] < 32)
        meta = int(group["meta"], 16)
        struct.pack_into("<I", memory.data, memory.offset(meta + 24, 4), 1 << group["slots"])
        return meta, "bad-meta"


class JemallocCxxTypeTest(unittest.TestCase):
    """A live block whose first word is a vtable: heap chunk names its class,
    for each of the 375 Node objects jemalloc_cxx still holds."""

    def test_type_of_live_objects(self):
        core, _ = lib.run_scenario_to_core(lib.example_path("jemalloc_cxx"))
        nodes = lib.run_cli_json([core, "heap", "chunks", "--type", "Node"])
        self.assertEqual(nodes["matching"], 500 - 125)
        for row in nodes["chunks"][::60]:
            got = lib.run_cli_json([core, "heap", "chunk", hex(int(row["address"], 16) + 8)])
            self.assertEqual((got["address"], got["type"], got["offset"]), (row["address"], "Node", 8))
        text = lib.run_cli([core, "heap", "chunk", nodes["chunks"][0]["address"]])[1]
        self.assertIn("\n  type Node\n", text)
        free = lib.run_cli_json([core, "heap", "chunks", "--state", "free", "--limit", "1"])["chunks"][0]
        self.assertIsNone(lib.run_cli_json([core, "heap", "chunk", free["address"]])["type"])


if __name__ == "__main__":
    unittest.main()
