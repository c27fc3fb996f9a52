"""heap frag / heap pages on examples/scenario_frag, whose free chunks are
known by construction: the program prints every chunk it freed (address,
size, where glibc put it) and the main arena's top (sbrk(0) and mallinfo2's
keepcost). The figures heapscope prints must match, exactly:

  - free bytes per class per arena, the largest free chunk, external
    fragmentation, the free-size histogram;
  - what malloc_trim(0) would release, from an independent model of glibc
    2.36's mtrim() written here from the program's own list;
  - live: `heap pages` free-but-resident equals what this test reads from
    /proc/PID/pagemap itself over the same ranges; after the program calls
    malloc_trim(0), the brk moved down by heapscope's predicted top trim and
    free-but-resident is zero.
"""

import ctypes
import mmap
import os
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

PAGE = 4096
MINSIZE = 32
MALLOC_CHUNK = 48  # sizeof(struct malloc_chunk), x86-64


def parse_program(out):
    """FREE and TOP lines -> (frees, top)."""
    frees, top = [], None
    for line in out.splitlines():
        if line.startswith("FREE ") or line.startswith("TOP "):
            d = dict(kv.split("=", 1) for kv in line.split()[1:])
            rec = {"arena": int(d["arena"]), "addr": int(d["addr"], 16), "size": int(d["size"])}
            if line.startswith("FREE "):
                rec["cls"] = d["class"]
                frees.append(rec)
            else:
                top = rec
    if not frees or top is None:
        raise AssertionError("scenario_frag printed no FREE/TOP lines:\n" + out[-2000:])
    return frees, top


def arena_top_from_oracle(oracle, arena, frees):
    """Top size of an arena from malloc_info: "rest" = top + bin chunks, each
    bin chunk counted with its PREV_INUSE bit."""
    h = oracle["malloc_info"]["heaps"][arena]
    bins = [f for f in frees if f["arena"] == arena and f["cls"] in ("unsorted", "small", "large")]
    return h["rest"]["size"] - sum(f["size"] for f in bins) - len(bins)


def interior(addr, size):
    """glibc 2.36 mtrim(): the madvise'd whole pages of a bin chunk."""
    if size <= PAGE - 1 + MALLOC_CHUNK:
        return None
    paligned = (addr + MALLOC_CHUNK + PAGE - 1) & ~(PAGE - 1)
    left = size - (paligned - addr)
    if left <= PAGE - 1:
        return None
    return (paligned, paligned + (left & ~(PAGE - 1)))


def model_trim(frees, arena, top_addr, top_size, main):
    """-> (bin interior bytes, top bytes, list of (begin, end) ranges)."""
    cand = sorted((f for f in frees if f["arena"] == arena and f["cls"] != "tcache"),
                  key=lambda f: f["addr"])
    pieces = []  # each: {"addr", "size", "members": [...], "fast": bool, "last_fast": bool}
    for f in cand:
        fast = f["cls"] == "fast"
        p = pieces[-1] if pieces else None
        if p and p["addr"] + p["size"] == f["addr"] and (p["last_fast"] or fast):
            p["size"] += f["size"]
            p["members"].append(f)
            p["fast"] = p["fast"] or fast
            p["last_fast"] = fast
        else:
            pieces.append({"addr": f["addr"], "size": f["size"], "members": [f], "fast": fast,
                           "last_fast": fast})
    grow, ranges = 0, []
    for p in pieces:
        if top_addr is not None and p["last_fast"] and p["addr"] + p["size"] == top_addr:
            grow += p["size"]
            continue
        parts = [(p["addr"], p["size"])] if p["fast"] else [(m["addr"], m["size"]) for m in p["members"]]
        for a, s in parts:
            r = interior(a, s)
            if r:
                ranges.append(r)
    bins = sum(e - b for b, e in ranges)
    top_trim = 0
    if main:
        t = top_size + grow
        if t > MINSIZE + 1:
            top_trim = (t - MINSIZE - 1) & ~(PAGE - 1)
        if top_trim:
            end = top_addr + top_size
            ranges.append((end - top_trim, end))
    return bins, top_trim, ranges


def bucket(size):
    return size.bit_length() - 1


class FragFigures:
    """What heap frag --json must say, from the program's own list."""

    def __init__(self, frees, top, oracle):
        self.frees = frees
        self.arenas = sorted({f["arena"] for f in frees} | {0})
        self.tops = {0: (top["addr"], top["size"])}
        for a in self.arenas:
            if a != 0:
                self.tops[a] = (None, arena_top_from_oracle(oracle, a, frees))

    def check(self, test, frag):
        got_arenas = {a["index"]: a for a in frag["arenas"]}
        test.assertEqual(sorted(got_arenas), self.arenas)
        for a in self.arenas:
            g = got_arenas[a]
            mine = [f for f in self.frees if f["arena"] == a]
            for cls in ("tcache", "fast", "unsorted", "small", "large"):
                c = [f for f in mine if f["cls"] == cls]
                test.assertEqual((g["free"][cls]["chunks"], g["free"][cls]["bytes"]),
                                 (len(c), sum(f["size"] for f in c)), "arena %d %s" % (a, cls))
            top_addr, top_size = self.tops[a]
            test.assertEqual(g["free"]["top"]["bytes"], top_size, "arena %d top" % a)
            total = sum(f["size"] for f in mine) + top_size
            test.assertEqual(g["free_bytes"], total, "arena %d free bytes" % a)
            largest = max([f["size"] for f in mine] + [top_size])
            test.assertEqual(g["largest_free"]["bytes"], largest, "arena %d largest" % a)
            test.assertAlmostEqual(g["external_fragmentation"], 1 - largest / total, places=12)
            hist = {}
            for f in mine:
                b = bucket(f["size"])
                hist[b] = (hist.get(b, (0, 0))[0] + 1, hist.get(b, (0, 0))[1] + f["size"])
            got_hist = {bucket(h["from"]): (h["chunks"], h["bytes"]) for h in g["histograms"]["free"]}
            test.assertEqual(got_hist, hist, "arena %d free histogram" % a)
            bins, top_trim, _ = model_trim(self.frees, a, top_addr, top_size, a == 0)
            test.assertEqual(g["trim"]["bin_interiors"], bins, "arena %d malloc_trim bin interiors" % a)
            test.assertEqual(g["trim"]["top"], top_trim, "arena %d malloc_trim top" % a)
        # The scenario is built so that every rule of the model matters.
        g0 = got_arenas[0]
        test.assertGreater(g0["trim"]["bin_interiors"], 0)
        test.assertGreater(g0["trim"]["top"], 0)
        test.assertEqual(g0["trim"]["fast_bytes_into_top"], 64)  # Z
        test.assertEqual(g0["trim"]["fast_chunks_consolidated"], 12)

    def trim_ranges(self):
        out = []
        for a in self.arenas:
            top_addr, top_size = self.tops[a]
            out += model_trim(self.frees, a, top_addr, top_size, a == 0)[2]
        return out


def own_zero_pfn():
    """The kernel zero page's frame number, from a fresh page of our own that
    we only read (None when frame numbers are hidden from us)."""
    m = mmap.mmap(-1, PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buf = ctypes.c_char.from_buffer(m)
        addr = ctypes.addressof(buf)
        _ = m[0]
        with open("/proc/self/pagemap", "rb") as f:
            f.seek(addr // PAGE * 8)
            v = int.from_bytes(f.read(8), "little")
        del buf
    finally:
        m.close()
    pfn = v & ((1 << 55) - 1)
    return pfn if v >> 63 & 1 and pfn else None


def pagemap_present(pid, ranges):
    """Pages of the ranges that hold memory of the process according to
    /proc/PID/pagemap: present (and not the shared zero page) or swapped."""
    zero = own_zero_pfn()
    n = 0
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        for b, e in ranges:
            f.seek(b // PAGE * 8)
            data = f.read((e - b) // PAGE * 8)
            for i in range(0, len(data), 8):
                v = int.from_bytes(data[i:i + 8], "little")
                if v >> 62 & 1:
                    n += 1
                elif v >> 63 & 1:
                    pfn = v & ((1 << 55) - 1)
                    is_zero = (pfn == zero) if pfn else not (v >> 56 & 1)
                    if not is_zero:
                        n += 1
    return n


def pagemap_pfn(pid, addr):
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(addr // PAGE * 8)
        v = int.from_bytes(f.read(8), "little")
    return v & ((1 << 55) - 1) if v >> 63 & 1 else None


class FragCoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.core, cls.out = lib.run_scenario_to_core(lib.example_path("scenario_frag"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest(str(e))
        cls.oracle = lib.parse_oracle(cls.out)
        cls.frees, cls.top = parse_program(cls.out)

    def test_frag_figures_exact(self):
        self.assertFalse(self.oracle["unstable"])
        stats = lib.run_cli_json([self.core, "heap", "stats"])
        self.assertEqual(lib.compare_stats_with_oracle(stats, self.oracle), [])
        frag = lib.run_cli_json([self.core, "heap", "frag"])
        FragFigures(self.frees, self.top, self.oracle).check(self, frag)
        # --arena selects one; totals add up.
        one = lib.run_cli_json([self.core, "heap", "frag", "--arena", "1"])
        self.assertEqual([a["index"] for a in one["arenas"]], [1])
        self.assertEqual(frag["total"]["free_bytes"], sum(a["free_bytes"] for a in frag["arenas"]))
        self.assertEqual(frag["total"]["trim"]["bytes"], sum(a["trim"]["bytes"] for a in frag["arenas"]))

    def test_frag_text(self):
        status, out, err = lib.run_cli([self.core, "heap", "frag"])
        self.assertEqual(status, 0, err)
        for s in ("arena 0 (main)", "arena 1 at", "external fragmentation", "malloc_trim(0) would release",
                  "top: kept (malloc_trim trims only the main arena's top)", "free chunk sizes", "#"):
            self.assertIn(s, out)
        status, out, err = lib.run_cli([self.core, "heap", "frag", "--arena", "9"])
        self.assertEqual(status, 2)
        self.assertIn("no arena 9", err)

    def test_pages_on_core(self):
        pages = lib.run_cli_json([self.core, "heap", "pages"])
        self.assertEqual(pages["source"], "core")
        model = FragFigures(self.frees, self.top, self.oracle)
        bin_ranges = [r for r in model.trim_ranges()]
        self.assertEqual(pages["trim"]["bytes"], sum(e - b for b, e in bin_ranges))
        notes = " ".join(pages["notes"])
        self.assertIn("cannot tell swapped", notes)
        total = pages["total"]
        self.assertIn("in_dump", total)
        self.assertNotIn("swapped", total)
        # Every freed block was written in full: its pages are in the dump.
        big = max((f for f in self.frees if f["cls"] == "large"), key=lambda f: f["size"])
        one = lib.run_cli_json([self.core, "heap", "pages", hex(big["addr"] + 4096)])
        if total["unknown"] == 0:
            # The core kept its holes: untouched top pages are not in the dump.
            self.assertIn("not in the dump are holes", notes)
            self.assertGreater(total["not_in_dump"], 0)
            self.assertEqual(one["address"]["state"], "in_dump")
        self.assertIsNone(one["address"].get("pfn"))
        status, out, err = lib.run_cli([self.core, "heap", "pages", "0x10"])
        self.assertEqual(status, 2)
        self.assertIn("not mapped", err)

    def test_map_text(self):
        status, out, err = lib.run_cli([self.core, "heap", "map", "--width", "48"])
        self.assertEqual(status, 0, err)
        self.assertIn("legend:", out)
        strips = [l for l in out.splitlines() if l.startswith("  |")]
        self.assertEqual(len(strips), 2)  # main heap and arena 1's heap
        for s in strips:
            self.assertEqual(len(s), len("  |") + 48 + len("|"), s)
        j = lib.run_cli_json([self.core, "heap", "map"])
        self.assertEqual(j["arenas"], 2)


class LiveProgram:
    """scenario_frag --live: READY, (line) -> TRIMMED ... READY2, (line) -> BYE."""

    def __init__(self, exe):
        self.proc = subprocess.Popen([exe, "--live"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self.buf = b""

    def read_until(self, marker, timeout=60):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker.encode() not in self.buf or not self.buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s from scenario_frag: %r" % (marker, self.buf[-500:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError("scenario_frag exited before %s: %r" % (marker, self.buf[-500:]))
                self.buf += chunk
        return self.buf.decode("utf-8", "replace")

    def send_line(self):
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class FragLiveTest(unittest.TestCase):
    def test_pages_free_resident_drops_after_malloc_trim(self):
        prog = LiveProgram(lib.example_path("scenario_frag"))
        try:
            out = prog.read_until("READY pid=")
            oracle = lib.parse_oracle(out)
            frees, top = parse_program(out)
            model = FragFigures(frees, top, oracle)
            frag = lib.run_cli_json(["--pid", prog.pid, "heap", "frag"])
            model.check(self, frag)
            predicted_top = frag["arenas"][0]["trim"]["top"]

            before = lib.run_cli_json(["--pid", prog.pid, "heap", "pages"])
            self.assertEqual(before["source"], "pagemap")
            ranges = model.trim_ranges()
            mine = pagemap_present(prog.pid, ranges) * PAGE
            self.assertEqual(before["trim"]["bytes"], sum(e - b for b, e in ranges))
            self.assertEqual(before["trim"]["free_resident_bytes"], mine)
            # The freed blocks were written in full: their interiors are resident.
            bins_only = [r for r in ranges if r[1] != top["addr"] + top["size"]]
            self.assertEqual(pagemap_present(prog.pid, bins_only) * PAGE, sum(e - b for b, e in bins_only))
            self.assertGreater(before["trim"]["free_resident_bytes"], 0)

            # One page: frame number as the kernel reports it to us.
            big = max((f for f in frees if f["cls"] == "large"), key=lambda f: f["size"])
            addr = big["addr"] + 4096
            one = lib.run_cli_json(["--pid", prog.pid, "heap", "pages", hex(addr)])
            a = one["address"]
            self.assertEqual(a["state"], "present")
            self.assertEqual(a["chunk"]["address"], hex(big["addr"]))
            pfn = pagemap_pfn(prog.pid, addr)
            if pfn:
                self.assertEqual(a["pfn"], pfn)
                self.assertFalse(a["pfn_hidden"])
            else:
                self.assertTrue(a["pfn_hidden"])
            status, text, err = lib.run_cli(["--pid", prog.pid, "heap", "pages", hex(addr)])
            self.assertEqual(status, 0, err)
            self.assertIn("frame number", text)

            prog.send_line()
            out = prog.read_until("READY2")
            line = [l for l in out.splitlines() if l.startswith("TRIMMED ")][0]
            d = dict(kv.split("=", 1) for kv in line.split()[1:])
            released_by_sbrk = int(d["brk_before"], 16) - int(d["brk_after"], 16)
            self.assertEqual(released_by_sbrk, predicted_top, "glibc's systrim vs heapscope's prediction")
            self.assertEqual(d["result"], "1")

            after = lib.run_cli_json(["--pid", prog.pid, "heap", "pages"])
            self.assertEqual(after["trim"]["free_resident_bytes"], 0)
            self.assertGreater(after["trim"]["free_released_bytes"], 0)
            # The ranges madvise'd by glibc are gone from memory, as the pagemap says.
            self.assertEqual(pagemap_present(prog.pid, bins_only), 0)
            frag_after = lib.run_cli_json(["--pid", prog.pid, "heap", "frag"])
            self.assertEqual(frag_after["arenas"][0]["trim"]["top"], 0)
            self.assertEqual(frag_after["arenas"][0]["free"]["fast"]["chunks"], 0)  # consolidated
            prog.send_line()
            rest, _ = prog.proc.communicate(timeout=30)
            self.assertIn(b"BYE", rest)
        finally:
            prog.close()


if __name__ == "__main__":
    unittest.main()
