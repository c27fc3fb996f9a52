"""gdb's pager and Ctrl-C on a streamed listing (issue 16 item 7).

The gdb front-end hands `heap chunks` to gdb.write piece by piece. Run as a
user would, on a terminal (a pty): with a screen of 20 lines the pager must
stop the listing after the first screen, `q` must end it at once (and the
session must work afterwards), and Ctrl-C must stop an unpaged listing long
before its end. The core is bench/gen_heap's (200k chunks, a 14 MB listing).
"""

import os
import pty
import re
import select
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

CHUNKS = 200000
LOADER = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
PAGER = re.compile(rb"--Type <RET> for more, q to quit")
PROMPT = b"(gdb) "


class Gdb:
    """An interactive gdb on a pty."""

    def __init__(self, exe, core, init=()):
        argv = [lib.gdb_path(), "-nx", "-q", "-iex", "set confirm off", "-ex", "source " + LOADER]
        for c in lib.gdb_sanitizer_commands():
            argv += ["-iex", c]
        for c in init:
            argv += ["-ex", c]
        argv += [exe, core]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            env = lib.debugger_env({"TERM": "dumb", "LINES": "20", "COLUMNS": "200"})
            os.execve(argv[0], argv, env)
        self.buf = b""

    def expect(self, pattern, timeout=120):
        """Reads until pattern (bytes regex) matches the unread output;
        returns what came before the match and drops it with the match."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                before = self.buf[:m.start()]
                self.buf = self.buf[m.end():]
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("gdb: no %r within %ss; last output: %r"
                                     % (rx.pattern, timeout, self.buf[-400:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("gdb exited; last output: %r" % self.buf[-400:])
                self.buf += chunk

    def send(self, text):
        os.write(self.fd, text)

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class GdbPagerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not lib.gdb_path() or not os.path.exists(LOADER):
            raise unittest.SkipTest("gdb or the GDB front-end is missing")
        cls.exe = os.path.join(lib.build_dir(), "bench", "gen_heap")
        cls.core, _ = lib.run_scenario_to_core(cls.exe, [str(CHUNKS)])

    def start(self, init):
        g = Gdb(self.exe, self.core, init)
        self.addCleanup(g.close)
        g.expect(re.escape(PROMPT))
        return g

    def test_pager_quit(self):
        g = self.start(["set height 20", "set width 200"])
        g.send(b"heap chunks\n")
        first = g.expect(PAGER)
        self.assertIn(b"address", first)
        g.send(b"q\n")
        g.expect(re.escape(PROMPT), timeout=10)
        # The session is intact: the next command answers.
        g.send(b"set height 0\n")
        g.expect(re.escape(PROMPT))
        g.send(b"heap stats\n")
        out = g.expect(re.escape(PROMPT))
        self.assertIn(b"system bytes", out)

    def test_ctrl_c_stops_listing(self):
        g = self.start(["set pagination off", "set width 200"])
        g.send(b"heap chunks\n")
        g.expect(rb"0x[0-9a-f]+ +0x[0-9a-f]+ +\d+  in_use")  # rows are coming
        g.send(b"\x03")
        rest = g.expect(re.escape(PROMPT), timeout=20)
        self.assertNotRegex(rest, rb"\n\d+ chunks\r?\n", "the listing ran to its end")
        self.assertRegex(rest, rb"interrupted|Quit")
        g.send(b"heap stats\n")
        self.assertIn(b"system bytes", g.expect(re.escape(PROMPT)))


if __name__ == "__main__":
    unittest.main()
