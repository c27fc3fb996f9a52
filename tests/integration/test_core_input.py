"""Cores as users have them, and the CLI's target arguments.

- Truncated cores (disk full, ulimit -c): every front-end says how much is
  missing and analyses what is whole; it refuses only when the heap is gone.
- Compressed cores as systemd-coredump stores them (.zst, .lz4, .xz).
- A core path that is a FIFO or a device: one line, never a hang.
- A core whose NT_FILE note lists a million files: bounded memory.
- --pid that does not fit a pid: refused, never wrapped to another process.
"""

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494C45


def program_headers(data):
    """[(type, offset, vaddr, filesz, memsz)] of an ELF64 core, and e_phoff."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    out = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        out.append((p_type, off, vaddr, filesz, memsz))
    return out, phoff


def truncation_line(phdrs, size):
    """What heapscope must say about a core cut to `size` bytes."""
    total = missing = 0
    first = None
    for p_type, off, vaddr, filesz, memsz in phdrs:
        if p_type != PT_LOAD:
            continue
        n = min(filesz, memsz)
        total += n
        have = max(0, min(n, size - off)) if off < size else 0
        if have < n:
            missing += n - have
            first = vaddr + have if first is None else min(first, vaddr + have)
    return ("the core is truncated: %d of %d bytes of its segments are missing (first missing at %#x)"
            % (missing, total, first))


def write_prefix(src, dst, size):
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read(size))
    return dst


def run_limited(args, timeout=120):
    """The CLI in a child of a fresh interpreter -> (status, out, err, peak RSS in MiB)."""
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
             "sys.stdout.buffer.write(b'%d %d\\n' % (p.returncode, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
             "sys.stdout.buffer.write(p.stdout); sys.stderr.buffer.write(p.stderr)\n")
    p = subprocess.run([sys.executable, "-c", probe, lib.cli_path()] + [str(a) for a in args],
                       capture_output=True, timeout=timeout)
    head, _, out = p.stdout.partition(b"\n")
    status, rss_kib = map(int, head.split())
    return status, out.decode(), p.stderr.decode(), rss_kib // 1024


class _CoreCase(unittest.TestCase):
    """One scenario_single core, its oracle and its whole `heap stats`."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = lib.scratch_dir("heapscope-coreinput-")
        try:
            cls.core, out = lib.run_scenario_to_core(lib.example_path("scenario_single"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.oracle = lib.parse_oracle(out)
        with open(cls.core, "rb") as f:
            cls.data = f.read()
        cls.phdrs, cls.phoff = program_headers(cls.data)
        cls.whole_stats = lib.run_cli_json([cls.core, "heap", "stats"])

    def assert_one_line(self, args, status=2, **kw):
        got, out, err = lib.run_cli(args, **kw)
        self.assertEqual(got, status, "heapscope %s: status %d, stderr %r" % (args, got, err[-600:]))
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % err[-600:])
        self.assertTrue(lines[0].startswith("heapscope: "), lines[0])
        return lines[0][len("heapscope: "):]

    def assert_stats_exact(self, stats, label):
        bad = lib.compare_stats_with_oracle(stats, self.oracle)
        self.assertEqual(bad, [], "%s: heap stats differs from glibc's figures" % label)


class TruncatedCoreTest(_CoreCase):
    def loads(self):
        return [p for p in self.phdrs if p[0] == PT_LOAD and p[3] > 0]

    def heap_segment(self):
        """The PT_LOAD holding the first chunk of the main arena."""
        chunks = lib.run_cli_json([self.core, "heap", "chunks", "--limit", "1"])
        first = int(chunks["chunks"][0]["address"], 16)
        for p in self.loads():
            if p[2] <= first < p[2] + p[4]:
                return p
        self.fail("no PT_LOAD holds the first chunk %#x" % first)

    def test_cut_after_the_heap_is_analysed_exactly(self):
        """Cut inside the last big segment (the stack): heap stats is glibc's, with the warning first."""
        last = [p for p in self.loads() if p[3] >= 2 * 4096][-1]
        size = last[1] + last[3] // 2
        path = write_prefix(self.core, os.path.join(self.tmp, "cut-stack"), size)
        want = truncation_line(self.phdrs, size)
        status, out, err = lib.run_cli([path, "heap", "stats"])
        self.assertEqual(status, 0, err)
        self.assertEqual(out.splitlines()[0], "warning: " + want)
        _, whole, _ = lib.run_cli([self.core, "heap", "stats"])
        self.assertEqual(out, "warning: %s\n%s" % (want, whole))
        stats = lib.run_cli_json([path, "heap", "stats"])
        self.assertEqual(stats.pop("warnings"), [want])
        self.assertEqual(stats, self.whole_stats)
        self.assert_stats_exact(stats, "cut in the stack")
        structural = lib.run_cli_json(["--no-debuginfo", path, "heap", "stats"])
        self.assertEqual(structural.pop("warnings"), [want])
        self.assert_stats_exact(structural, "cut in the stack, no debug info")
        # Every heap command runs and says it first.
        for cmd in (["heap", "check"], ["heap", "leaks"], ["heap", "frag"]):
            status, out, err = lib.run_cli([path] + cmd)
            self.assertIn(status, (0,), "%s: %s" % (cmd, err))
            self.assertTrue(out.startswith("warning: " + want + "\n"), "%s: %r" % (cmd, out[:300]))

    def test_cut_inside_the_heap_says_the_heap_is_missing(self):
        heap = self.heap_segment()
        size = heap[1] + heap[3] // 2
        path = write_prefix(self.core, os.path.join(self.tmp, "cut-heap"), size)
        line = self.assert_one_line([path, "heap", "stats"])
        self.assertTrue(line.startswith(truncation_line(self.phdrs, size) + "; "), line)
        self.assertIn("glibc's main arena lies in the missing part", line)
        line = self.assert_one_line([path, "heap", "chunks", "--json"])
        self.assertIn("glibc's main arena lies in the missing part", line)

    def test_cut_inside_the_headers(self):
        notes = [p for p in self.phdrs if p[0] == PT_NOTE][0]
        for name, size in (("elf-header", 40), ("program-headers", self.phoff + 60),
                           ("notes", notes[1] + notes[3] // 2)):
            with self.subTest(cut=name):
                path = write_prefix(self.core, os.path.join(self.tmp, "cut-" + name), size)
                line = self.assert_one_line([path, "heap", "stats"])
                self.assertIn("truncated core", line)

    def frontends_agree(self, path, want):
        cli_status, cli_out, _ = lib.run_cli([path, "heap", "stats"])
        self.assertEqual(cli_status, 0)
        exe = lib.example_path("scenario_single")
        outputs = {}
        if lib.gdb_path() and os.path.exists(os.path.join(lib.build_dir(), "share", "heapscope",
                                                          "heapscope-gdb.py")):
            loader = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
            status, out, err = lib.run_gdb_batch(exe, core=path, init_commands=[
                "set debuginfod enabled off"], commands=["source " + loader, "echo @@BEGIN\\n",
                                                         "heap stats", "echo @@END\\n"])
            outputs["gdb"] = (out.partition("@@BEGIN\n")[2].partition("@@END\n")[0], err)
        plugin = os.environ.get("HEAPSCOPE_LLDB_PLUGIN") or os.path.join(
            lib.build_dir(), "lib", "heapscope", "libheapscope-lldb.so")
        if lib.lldb_path() and os.path.exists(plugin):
            status, out, err = lib.run_lldb_batch(exe, core=path, commands=[
                "plugin load " + plugin, "heap stats"])
            outputs["lldb"] = (out.partition("(lldb) heap stats\n")[2], err)
        if not outputs:
            self.skipTest("no debugger front-end built")
        for name, (out, err) in outputs.items():
            self.assertEqual(out, cli_out, "%s differs from the CLI; stderr: %s" % (name, err[-800:]))
            self.assertTrue(out.startswith("warning: " + want + "\n"))

    def test_debuggers_say_it_too(self):
        last = [p for p in self.loads() if p[3] >= 2 * 4096][-1]
        size = last[1] + last[3] // 2
        path = write_prefix(self.core, os.path.join(self.tmp, "cut-stack-dbg"), size)
        self.frontends_agree(path, truncation_line(self.phdrs, size))


class CompressedCoreTest(_CoreCase):
    TOOLS = {"zstd": ["zstd", "-q", "-c"], "lz4": ["lz4", "-q", "-c"], "xz": ["xz", "-c", "-T1", "-1"]}

    def compressed(self, kind, source=None, name=None):
        tool = self.TOOLS[kind]
        if not shutil.which(tool[0]):
            self.fail("%s is not installed (scripts/install-deps.sh installs it)" % tool[0])
        # A name that says nothing: the format is told by its magic bytes.
        path = os.path.join(self.tmp, name or ("core-" + kind + ".bin"))
        with open(source or self.core, "rb") as src, open(path, "wb") as dst:
            subprocess.run(tool, stdin=src, stdout=dst, check=True)
        return path

    def test_each_format_reads_as_the_core(self):
        for kind in ("zstd", "lz4", "xz"):
            with self.subTest(format=kind):
                path = self.compressed(kind)
                stats = lib.run_cli_json([path, "heap", "stats"])
                self.assertEqual(stats, self.whole_stats)
                self.assert_stats_exact(stats, kind)
                _, text, _ = lib.run_cli([path, "heap", "chunks", "--limit", "20"])
                _, whole, _ = lib.run_cli([self.core, "heap", "chunks", "--limit", "20"])
                self.assertEqual(text, whole)

    def test_pages_of_a_compressed_core(self):
        # The target decompressed the core; page residency asks it, not the
        # file on disk (which is not an ELF file): same regions, every page
        # of unknown state, and a note saying why.
        whole = lib.run_cli_json([self.core, "heap", "pages"])
        got = lib.run_cli_json([self.compressed("zstd"), "heap", "pages"])
        self.assertEqual([(r["begin"], r["end"]) for r in got["regions"]],
                         [(r["begin"], r["end"]) for r in whole["regions"]])
        for mine, plain in zip(got["regions"], whole["regions"]):
            self.assertEqual(mine["pages"]["unknown"], sum(plain["pages"].values()))
        self.assertTrue(any("compressed" in n for n in got["notes"]), got["notes"])

    def test_corrupt_data_is_one_line(self):
        for kind in ("zstd", "lz4", "xz"):
            with self.subTest(format=kind):
                with open(self.compressed(kind), "rb") as f:
                    data = bytearray(f.read())
                for i in range(len(data) // 3, len(data) // 3 + 64):
                    data[i] ^= 0x5A
                path = os.path.join(self.tmp, "corrupt-" + kind)
                with open(path, "wb") as f:
                    f.write(data)
                line = self.assert_one_line([path, "heap", "stats"])
                self.assertIn("corrupt %s data" % kind, line)

    def test_cut_compressed_core_is_a_truncated_core(self):
        """What decodes is a truncated core; lz4's one block of 4 MiB decodes to nothing."""
        for kind, words in (("zstd", "the core is truncated: "), ("xz", "the core is truncated: "),
                            ("lz4", "the lz4 data holds no whole block (the file is cut short)")):
            with self.subTest(format=kind):
                path = self.compressed(kind)
                cut = write_prefix(path, path + ".cut", os.path.getsize(path) * 9 // 10)
                status, out, err = lib.run_cli([cut, "heap", "stats"])
                said = out.splitlines()[0] if status == 0 else err.strip()
                self.assertIn(words, said)
                if status != 0:
                    self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_decompression_bomb_is_capped(self):
        zeros = os.path.join(self.tmp, "zeros")
        with open(zeros, "wb") as f:
            f.truncate(64 << 20)
        path = self.compressed("zstd", source=zeros, name="bomb")
        env = dict(os.environ, HEAPSCOPE_MAX_CORE_SIZE="16M")
        line = self.assert_one_line([path, "heap", "stats"], env=env)
        self.assertIn("the decompressed core would exceed 16 MiB", line)
        # The whole core passes under a cap it fits in.
        env["HEAPSCOPE_MAX_CORE_SIZE"] = str(len(self.data))
        status, _, err = lib.run_cli([self.compressed("xz"), "heap", "stats"], env=env)
        self.assertEqual(status, 0, err)
        env["HEAPSCOPE_MAX_CORE_SIZE"] = str(len(self.data) - 1)
        line = self.assert_one_line([self.compressed("lz4"), "heap", "stats"], env=env)
        self.assertIn("would exceed", line)


class CorePathTest(unittest.TestCase):
    def test_fifo_is_refused_without_hanging(self):
        path = os.path.join(lib.scratch_dir("heapscope-fifo-"), "core.fifo")
        os.mkfifo(path)
        status, _, err = lib.run_cli([path, "heap", "stats"], timeout=30)
        self.assertEqual(status, 2, err)
        self.assertEqual(err.strip(), "heapscope: %s: not a regular file (a FIFO)" % path)

    def test_device_and_directory(self):
        status, _, err = lib.run_cli(["/dev/zero", "heap", "stats"], timeout=30)
        self.assertEqual((status, err.strip()),
                         (2, "heapscope: /dev/zero: not a regular file (a character device)"))
        status, _, err = lib.run_cli(["/", "heap", "stats"], timeout=30)
        self.assertEqual((status, err.strip()), (2, "heapscope: /: is a directory"))


class FileNoteBoundTest(_CoreCase):
    """A core whose NT_FILE note names a million files that are nowhere."""

    ENTRIES = 1_000_000

    def crafted(self):
        data = bytearray(self.data)
        names = b"".join(b"/nonexistent/heapscope-%07d\0" % i for i in range(self.ENTRIES))
        base = 0x7e0000000000
        table = b"".join(struct.pack("<QQQ", base + i * 0x2000, base + i * 0x2000 + 0x1000, 0)
                         for i in range(self.ENTRIES))
        desc = struct.pack("<QQ", self.ENTRIES, 4096) + table + names
        note = struct.pack("<III", 5, len(desc), NT_FILE) + b"CORE\0\0\0\0" + desc
        note += b"\0" * (-len(note) % 4)
        note_off = len(data)
        data += note
        data += b"\0" * (-len(data) % 8)
        # The original program headers, then one more PT_NOTE: the new table at the end.
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        table_off = len(data)
        data += self.data[self.phoff:self.phoff + phentsize * phnum]
        data += struct.pack("<IIQQQQQQ", PT_NOTE, 0, note_off, 0, 0, len(note), 0, 4)
        struct.pack_into("<Q", data, 32, table_off)
        struct.pack_into("<H", data, 56, phnum + 1)
        path = os.path.join(self.tmp, "many-files")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_memory_stays_bounded(self):
        path = self.crafted()
        status, out, err, rss_mib = run_limited([path, "heap", "stats", "--json"], timeout=300)
        self.assertEqual(status, 0, err[-800:])
        stats = json.loads(out)
        self.assertEqual(stats, self.whole_stats)
        # 128 MiB in a plain build (1.1 GiB before the bound); ASan's shadow and quarantine add more.
        limit = 800 if lib.sanitizer_runtime() else 400
        self.assertLess(rss_mib, limit, "heapscope took %d MiB for %d NT_FILE entries" % (rss_mib, self.ENTRIES))

    def test_out_of_memory_while_opening_is_one_line(self):
        if lib.sanitizer_runtime():
            self.skipTest("an address-space limit and the sanitizers' shadow memory do not mix")
        path = self.crafted()

        def run(core, limit):
            def cap():
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            return subprocess.run([lib.cli_path(), core, "heap", "stats"], capture_output=True,
                                  timeout=300, preexec_fn=cap)
        # The least address space in which heap stats runs on the clean core
        # (4 MiB steps); the crafted core gets that plus its extra size: room
        # to map it, not for its notes' entries.
        low, high = 8 << 20, 1 << 30
        while high - low > (4 << 20):
            mid = (low + high) // 2
            if run(self.core, mid).returncode == 0:
                high = mid
            else:
                low = mid
        p = run(path, high + os.path.getsize(path) - len(self.data))
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 2, err[-800:])
        self.assertEqual(len(err.strip().splitlines()), 1, err[-800:])
        self.assertIn("out of memory", err)


class PidArgumentTest(unittest.TestCase):
    def test_pid_beyond_32_bits_is_not_another_process(self):
        with lib.LiveScenario(lib.example_path("scenario_live")) as live:
            for text in (str(2 ** 32 + live.pid), "0x%x" % live.pid, "%d.0" % live.pid, "-%d" % live.pid):
                with self.subTest(pid=text):
                    status, out, err = lib.run_cli(["--pid", text, "heap", "stats"])
                    self.assertEqual(status, 2, out[:300])
                    self.assertEqual(err.strip().splitlines(),
                                     ["heapscope: invalid process id '%s' (a decimal number from 1 to %d)"
                                      % (text, int(open("/proc/sys/kernel/pid_max").read()) - 1)])
            # The real pid still works.
            status, _, err = lib.run_cli(["--pid", str(live.pid), "heap", "stats"])
            self.assertEqual(status, 0, err)
            live.finish()


if __name__ == "__main__":
    unittest.main()
