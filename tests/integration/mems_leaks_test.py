"""mems leaks on a program whose MeMS leaks are known.

examples/mems_leaks.c prints every segment and pool block it leaks with its
expected class (masked: the program keeps no pointer to them), then aborts.
Checks:
  - `mems leaks --json` on the core lists exactly that set of segments (by
    MeMS virtual address) and blocks (by address), with those classes; what
    the program keeps alive (through a global, its stack, or only through a
    malloc'ed struct, or through stale pointers in freed memory) is not listed;
  - totals add up, segments carry the allocating function as their site, with
    file:line, and their sequence numbers are those of `mems chain`;
  - text and --summary forms;
  - gdb and lldb print the same bytes as the CLI.
`heap leaks` scans the union of the heaps (glibc's and MeMS'):
  - it lists exactly the recorded MeMS objects (by physical address) and the
    recorded malloc'ed leaks (LEAK lines), with their classes, including the
    leaks across heaps: a leaked malloc'ed struct holding a segment's MeMS
    virtual address, a leaked segment holding the only pointer to a chunk;
  - `--allocator NAME` shows that heap's part of the same analysis;
  - `heap map --html --allocator mems` marks exactly those MeMS leaks.
`heap refs` searches the same union:
  - a segment held only through a malloc'ed struct's MeMS virtual address
    (asked by that virtual address) is held by that glibc chunk; a chunk held
    only by a segment is held by that segment;
  - `--path` to the segment g_held's struct keeps goes through the struct;
    every block heap leaks lists has a path exactly when it is possible;
  - gdb and lldb print the same bytes.
Standard library only.
"""

import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402


def parse_record(stdout):
    """-> ({virtual address: (class, function)}, {block address: class},
    {malloc'ed data address: class})."""
    mask = None
    segments, blocks, chunks = {}, {}, {}
    for line in stdout.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "LEAK-MASK":
            mask = int(w[1], 16)
        elif w[0] == "MLEAK" and w[1] == "segment":
            segments[int(w[3], 16) ^ mask] = (w[2], w[4])
        elif w[0] == "MLEAK" and w[1] == "block":
            blocks[int(w[3], 16) ^ mask] = w[2]
        elif w[0] == "LEAK":
            chunks[int(w[2], 16) ^ mask] = w[1]
    if mask is None or "LEAKS-END" not in stdout:
        raise AssertionError("the scenario did not finish its record:\n" + stdout[-2000:])
    return segments, blocks, chunks


class MemsLeaksTest(SameInEveryFrontEnd, unittest.TestCase):
    COMMANDS = ["mems leaks", "mems leaks --json", "mems leaks --summary", "mems leaks --summary --json",
                "heap leaks", "heap leaks --json", "heap leaks --allocator mems"]

    @classmethod
    def setUpClass(cls):
        cls.exe = lib.example_path("mems_leaks")
        if not os.path.exists(cls.exe):
            raise unittest.SkipTest("mems_leaks not built")
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core(cls.exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.segments, cls.blocks, cls.chunks = parse_record(cls.stdout)
        cls.doc = lib.run_cli_json([cls.core, "mems", "leaks"])
        cls.union = lib.run_cli_json([cls.core, "heap", "leaks"])
        chain = lib.run_cli_json([cls.core, "mems", "chain"])
        cls.process = [s for n in chain["nodes"] for s in n["segments"] if s["type"] == "PROCESS"]
        # The across-heaps leaks: struct (direct chunk) -> segment (indirect),
        # segment (direct) -> chunk (indirect).
        cls.held_by_chunk = cls.across("indirect")
        cls.holding_chunk = cls.across("direct")
        # g_held's segment: the smaller of make_reachable's two.
        kept = [s for s in cls.process if s["site"].startswith("make_reachable+")]
        cls.kept = min(kept, key=lambda s: s["size"])
        chunk = next(a for a, c in cls.chunks.items() if c == "indirect")
        cls.COMMANDS = cls.COMMANDS + [
            "heap refs %s" % hex(cls.held_by_chunk), "heap refs %s --path --json" % hex(cls.held_by_chunk),
            "heap refs %s --path" % cls.kept["physical"], "heap refs %s --json" % hex(chunk)]

    @classmethod
    def across(cls, want):
        return next(v for v, (c, fn) in cls.segments.items() if fn == "leak_across_heaps" and c == want)

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def test_record_covers_every_kind(self):
        classes = [c for c, _ in self.segments.values()] + list(self.blocks.values())
        for cls_ in ("direct", "indirect", "possible"):
            self.assertIn(cls_, classes)
        self.assertEqual(len(self.segments), 7)
        self.assertEqual(len(self.blocks), 6)
        self.assertEqual(sorted(self.chunks.values()), ["direct", "indirect"])

    def test_exact_set_and_classes(self):
        got_s = {int(s["virtual"], 16): s["class"] for s in self.doc["segments"]}
        want_s = {v: c for v, (c, _) in self.segments.items()}
        self.assertEqual(got_s, want_s, "segments: got vs recorded")
        got_b = {int(b["address"], 16): b["class"] for b in self.doc["blocks"]}
        self.assertEqual(got_b, self.blocks, "blocks: got vs recorded")

    def test_totals_add_up(self):
        d = self.doc
        for k in ("direct", "indirect", "possible"):
            segs = [s for s in d["segments"] if s["class"] == k]
            blocks = [b for b in d["blocks"] if b["class"] == k]
            self.assertEqual(d[k]["segments"], len(segs), k)
            self.assertEqual(d[k]["segment_bytes"], sum(s["size"] for s in segs), k)
            self.assertEqual(d[k]["blocks"], len(blocks), k)
            self.assertEqual(d[k]["block_bytes"], sum(b["size"] for b in blocks), k)
            self.assertEqual(d[k]["bytes"], d[k]["segment_bytes"] + d[k]["block_bytes"])
        self.assertEqual(d["leaked"]["segments"], d["direct"]["segments"] + d["indirect"]["segments"])
        self.assertEqual(d["leaked"]["blocks"], d["direct"]["blocks"] + d["indirect"]["blocks"])
        # What the program keeps: the 1 MiB segment, the one held by the
        # malloc'ed struct, the one on main's stack; the struct's block.
        self.assertEqual(d["reachable"]["segments"], 3)
        self.assertEqual(d["reachable"]["blocks"], 1)
        self.assertTrue(d["glibc_scanned"])
        # Every PROCESS segment that is not a pool arena is in one class.
        stats = lib.run_cli_json([self.core, "mems", "stats"])
        chain = lib.run_cli_json([self.core, "mems", "chain"])
        arenas = sum(1 for n in chain["nodes"] for s in n["segments"]
                     if s["type"] == "PROCESS" and s["arena"])
        total = sum(d[k]["segments"] for k in ("direct", "indirect", "possible", "reachable"))
        self.assertEqual(total, stats["process_segments"] - arenas)
        self.assertEqual(sum(d[k]["blocks"] for k in ("direct", "indirect", "possible", "reachable")),
                         stats["pool"]["blocks_used"])

    def test_sites_and_sequence_numbers(self):
        chain = lib.run_cli_json([self.core, "mems", "chain"])
        by_virtual = {int(s["virtual"], 16): s for n in chain["nodes"] for s in n["segments"]}
        for s in self.doc["segments"]:
            v = int(s["virtual"], 16)
            fn = self.segments[v][1]
            with self.subTest(segment=s["virtual"]):
                self.assertTrue(s["site"].startswith(fn + "+0x"), s)
                self.assertTrue(s["file"].endswith("mems_leaks.c"), s)
                self.assertGreater(s["line"], 0)
                self.assertEqual(s["sequence"], by_virtual[v]["sequence"])
                self.assertEqual(s["site"], by_virtual[v]["site"])

    def test_text_forms(self):
        out = self.cli("mems", "leaks")
        d = self.doc
        self.assertIn("leaked: %d segments and %d blocks" % (d["leaked"]["segments"], d["leaked"]["blocks"]),
                      out)
        for s in d["segments"]:
            self.assertRegex(out, r"%s\s+%s\s+%s" % (s["class"], s["virtual"], s["physical"]))
            self.assertIn("%s at mems_leaks.c:%d" % (s["site"], s["line"]), out)
        for b in d["blocks"]:
            self.assertRegex(out, r"%s\s+%s\s+%d" % (b["class"], b["address"], b["size"]))
        summary = self.cli("mems", "leaks", "--summary")
        self.assertTrue(out.startswith(summary))
        self.assertNotIn("segments:", summary)


    def section(self, allocator):
        parts = {p["allocator"]: p for p in self.union["allocators"]}
        self.assertEqual(sorted(parts), ["glibc", "mems"])
        return parts[allocator]

    def test_heap_leaks_union_is_the_recorded_set(self):
        # MeMS: every recorded segment (at the physical address mems leaks
        # translated its virtual one to) and block, nothing else.
        physical = {int(s["virtual"], 16): int(s["physical"], 16) for s in self.doc["segments"]}
        want = {physical[v]: c for v, (c, _) in self.segments.items()}
        want.update(self.blocks)
        got = {int(c["data"], 16): c["class"] for c in self.section("mems")["chunks"]}
        self.assertEqual(got, want, "mems part of heap leaks vs recorded")
        # glibc: exactly the recorded malloc'ed leaks; the struct that holds a
        # segment's virtual address from a global keeps it (not listed above).
        got = {int(c["data"], 16): c["class"] for c in self.section("glibc")["chunks"]}
        self.assertEqual(got, self.chunks, "glibc part of heap leaks vs recorded")

    def test_allocator_shows_its_part_of_the_union(self):
        for name in ("mems", "glibc"):
            with self.subTest(allocator=name):
                part = dict(self.section(name))
                del part["allocator"]
                self.assertEqual(lib.run_cli_json([self.core, "heap", "leaks", "--allocator", name]), part)

    def test_mems_leaks_is_the_same_analysis(self):
        part = self.section("mems")
        for k in ("direct", "indirect", "possible", "reachable"):
            self.assertEqual(part[k]["chunks"], self.doc[k]["segments"] + self.doc[k]["blocks"], k)
            self.assertEqual(part[k]["bytes"], self.doc[k]["bytes"], k)

    def test_map_marks_the_mems_leaks(self):
        want = sorted((c["class"], c["address"]) for c in self.section("mems")["chunks"])
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "map.html")
            lib.run_cli_json([self.core, "heap", "map", "--allocator", "mems", "--html", page])
            with open(page, encoding="utf-8") as f:
                text = f.read()
        data = json.loads(re.search(r'id="heapscope-data"[^>]*>(.*?)</script>', text, re.S).group(1))
        got = sorted((m["kind"], m["address"]) for m in data["marks"] if m["kind"] != "finding")
        self.assertEqual(got, want)

    def test_refs_to_a_segment_held_by_a_chunk_by_virtual_address(self):
        struct = next(a for a, c in self.chunks.items() if c == "direct")
        r = lib.run_cli_json([self.core, "heap", "refs", hex(self.held_by_chunk), "--path"])
        self.assertEqual(r["chunk"]["allocator"], "mems")
        self.assertTrue(r["virtual"])
        holders = [(x.get("allocator"), int(x["chunk_data"], 16), x.get("virtual"))
                   for x in r["refs"] if x["from"] == "chunk"]
        self.assertIn(("glibc", struct, True), holders)
        self.assertIsNone(r["path"], "a leaked segment has no path")
        text = self.cli("heap", "refs", hex(self.held_by_chunk), "--path")
        self.assertIn("(MeMS virtual address %s)" % hex(self.held_by_chunk), text.splitlines()[0])
        self.assertIn("no path from any root: the chunk is leaked", text)

    def test_refs_to_a_chunk_held_by_a_segment(self):
        chunk = next(a for a, c in self.chunks.items() if c == "indirect")
        physical = next(int(s["physical"], 16) for s in self.process
                        if int(s["virtual"], 16) == self.holding_chunk)
        r = lib.run_cli_json([self.core, "heap", "refs", hex(chunk)])
        self.assertEqual(r["chunk"]["allocator"], "glibc")
        self.assertEqual([(x.get("allocator"), int(x["chunk_data"], 16), x["chunk_offset"]) for x in r["refs"]],
                         [("mems", physical, 24)])

    def test_refs_path_to_a_kept_segment_goes_through_the_struct(self):
        r = lib.run_cli_json([self.core, "heap", "refs", self.kept["virtual"], "--path"])
        path = r["path"]
        self.assertEqual(len(path), 2, path)
        self.assertEqual(path[0]["from"], "global")
        self.assertTrue(path[0]["symbol"].startswith("g_held"), path[0])
        self.assertEqual(path[0]["to_allocator"], "glibc")
        self.assertEqual((path[1]["from"], path[1]["allocator"], path[1]["to_allocator"]), ("chunk", "glibc", "mems"))
        self.assertEqual(int(path[1]["value"], 16), int(self.kept["virtual"], 16))
        self.assertTrue(path[1]["virtual"])
        self.assertEqual(path[1]["to"], self.kept["physical"])
        self.assertIn("(MeMS virtual address)", self.cli("heap", "refs", self.kept["virtual"], "--path"))

    def test_refs_path_exactly_for_what_heap_leaks_keeps(self):
        for name in ("mems", "glibc"):
            for c in self.section(name)["chunks"]:
                with self.subTest(allocator=name, chunk=c["data"]):
                    r = lib.run_cli_json([self.core, "heap", "refs", c["data"], "--path", "--allocator", name])
                    self.assertEqual(r["path"] is not None, c["class"] == "possible", r)


if __name__ == "__main__":
    unittest.main()
