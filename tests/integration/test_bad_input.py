"""Bad input to the CLI: one clear line on stderr and exit 2, never a crash."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = lib.scratch_dir()
        cls.core = None
        try:
            cls.core, _ = lib.run_scenario_to_core(lib.example_path("scenario_single"))
        except lib.CoreUnavailable as e:
            cls.no_core_reason = str(e)

    def need_core(self):
        if not self.core:
            self.skipTest("cannot produce core files here: %s" % self.no_core_reason)

    def assert_user_error(self, args):
        status, out, err = lib.run_cli(args)
        self.assertEqual(status, 2, "heapscope %s: status %d, stderr %r" % (args, status, err))
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % err)
        self.assertTrue(lines[0].startswith("heapscope: "), lines[0])
        self.assertNotIn("terminate called", err)
        return lines[0]

    def test_not_a_core(self):
        self.assert_user_error(["/etc/passwd", "heap", "stats"])

    def test_not_a_core_json(self):
        self.assert_user_error(["/etc/passwd", "heap", "stats", "--json"])

    def test_missing_file(self):
        line = self.assert_user_error([os.path.join(self.tmp, "no-such-core"), "heap", "stats"])
        self.assertIn("no-such-core", line)

    def test_directory(self):
        self.assert_user_error([self.tmp, "heap", "stats"])

    def test_empty_file(self):
        path = os.path.join(self.tmp, "empty")
        open(path, "w").close()
        self.assert_user_error([path, "heap", "stats"])

    def test_unknown_global_option(self):
        self.assert_user_error(["--frobnicate", "core", "heap", "stats"])

    def test_unknown_command_option(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "stats", "--frobnicate"])

    def test_unknown_command(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "frobnicate"])

    def test_address_in_no_chunk(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "chunk", "0x10"])

    def test_malformed_address(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "chunk", "0xzz"])

    def test_bad_arena(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "chunks", "--arena", "999"])

    def test_bad_state(self):
        self.need_core()
        self.assert_user_error([self.core, "heap", "chunks", "--state", "sleepy"])

    def test_truncated_core(self):
        """A core cut at half: a clear line (exit 2) or a result (exit 0), never a crash."""
        self.need_core()
        for fraction in (0.5, 0.1, 0.9):
            path = os.path.join(self.tmp, "truncated-%d" % int(fraction * 100))
            size = os.path.getsize(self.core)
            with open(self.core, "rb") as src, open(path, "wb") as dst:
                dst.write(src.read(int(size * fraction)))
            for extra in ([], ["--json"]):
                status, out, err = lib.run_cli([path, "heap", "stats"] + extra)
                self.assertIn(status, (0, 2), "cut at %.0f%%: status %d, stderr %r"
                              % (fraction * 100, status, err[-500:]))
                if status == 2:
                    self.assertEqual(len(err.strip().splitlines()), 1, err)
                elif extra:
                    self.assertEqual(len(out.rstrip("\n").splitlines()), 1)

    def test_garbage_core(self):
        """An ELF header followed by garbage."""
        self.need_core()
        path = os.path.join(self.tmp, "garbage")
        with open(self.core, "rb") as src:
            head = src.read(64)
        with open(path, "wb") as dst:
            dst.write(head + bytes((i * 131 + 7) & 0xFF for i in range(1 << 16)))
        status, out, err = lib.run_cli([path, "heap", "stats"])
        self.assertIn(status, (0, 2), err[-500:])


    def edited_core(self, name, offset, fmt, value):
        """A copy of the scenario core with one header field rewritten."""
        import struct
        self.need_core()
        with open(self.core, "rb") as f:
            data = bytearray(f.read())
        struct.pack_into(fmt, data, offset, value)
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_wrong_architecture(self):
        line = self.assert_user_error([self.edited_core("riscv", 18, "<H", 243), "heap", "stats"])
        self.assertIn("unsupported architecture: ELF machine 243 (RISC-V)", line)
        line = self.assert_user_error([self.edited_core("elf32", 4, "<B", 1), "heap", "check"])
        self.assertIn("32-bit ELF", line)

    def test_zero_length_json(self):
        path = os.path.join(self.tmp, "zero")
        open(path, "w").close()
        line = self.assert_user_error([path, "heap", "check", "--json"])
        self.assertIn("empty file", line)

    def test_inconsistent_headers(self):
        """Program headers past the end of the file, a bad entry size, none at all."""
        for name, off, fmt, value, words in (
                ("phoff", 32, "<Q", 1 << 40, "truncated core"),
                ("phentsize", 54, "<H", 7, "program header size 7"),
                ("phnum", 56, "<H", 0, "no program headers")):
            with self.subTest(field=name):
                line = self.assert_user_error([self.edited_core(name, off, fmt, value), "heap", "check"])
                self.assertIn(words, line)

    def test_truncated_core_heap_check(self):
        """heap check on a core cut short: findings or one clear line, never a crash."""
        self.need_core()
        size = os.path.getsize(self.core)
        path = os.path.join(self.tmp, "cut-check")
        with open(self.core, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read(int(size * 0.6)))
        status, out, err = lib.run_cli([path, "heap", "check", "--json"])
        self.assertIn(status, (0, 1, 2), err[-500:])
        if status == 2:
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        else:
            self.assertEqual(len(out.rstrip("\n").splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
