"""Listings are streamed (issue 16 item 7): `heap chunks` writes each row as
it finds it, so heapscope's memory does not grow with the output's size and
the first line is out long before the last is made.

On a bench/gen_heap core of 400k chunks (`heap chunks --json` is about 36
MB), the CLI's peak RSS for the listing must stay within a few MiB of its
peak for `heap stats --json` (the same walk and heap check, a few hundred
bytes of output). Before streaming the whole listing was one string (plus a
vector of the chunks shown): RSS grew by twice the output's size. When the
first bytes arrive we stop reading: a streaming heapscope then waits on the
full pipe with only a piece in hand, where the old one already held it all.

HEAPSCOPE_STREAMING_REPORT=1 prints the figures."""

import json
import os
import selectors
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

CHUNKS = 400000
SLACK = 16 << 20  # bytes a streamed listing may add to the walk's peak RSS


def gen_heap():
    return os.path.join(lib.build_dir(), "bench", "gen_heap")


def vm_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Run:
    """The CLI with stdout on a pipe, read under our control, under time(1)
    for its peak RSS."""

    def __init__(self, argv):
        self.report = os.path.join(lib.scratch_dir(), "rss")
        self.start = time.monotonic()
        self.proc = subprocess.Popen(lib.peak_rss_argv([lib.cli_path()] + argv, self.report),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.first_byte = None
        self.out = bytearray()

    def heapscope_pid(self):
        """time(1)'s one child."""
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            children = f.read().split()
        if not children:
            raise AssertionError("heapscope had exited before its output was read")
        return int(children[0])

    def read_first(self, timeout=120):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError("no output within %ss" % timeout)
        self.first_byte = time.monotonic() - self.start
        self.out += os.read(self.proc.stdout.fileno(), 65536)

    def finish(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            self.out += chunk
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc.wait()
        self.total = time.monotonic() - self.start
        self.peak_rss = lib.read_peak_rss(self.report)
        return self.proc.returncode, bytes(self.out), err.decode()


class StreamingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(gen_heap()):
            raise AssertionError("bench/gen_heap not built: " + gen_heap())
        cls.core, out = lib.run_scenario_to_core(gen_heap(), [str(CHUNKS)])

    def baseline(self):
        run = Run([self.core, "heap", "stats", "--json"])
        status, out, err = run.finish()
        self.assertEqual(status, 0, err)
        return run

    def check_listing(self, argv, parse):
        base = self.baseline()
        run = Run([self.core] + argv)
        run.read_first()
        time.sleep(0.5)  # not reading: a streaming heapscope waits on the full pipe
        alive = run.proc.poll() is None
        rss_at_first = vm_rss(run.heapscope_pid()) if alive else None
        status, out, err = run.finish()
        self.assertEqual(status, 0, err)
        parse(out)
        if os.environ.get("HEAPSCOPE_STREAMING_REPORT"):
            print("\n%-24s %6.1f MB out: first byte %.2f s, done %.2f s, peak RSS %.1f MB "
                  "(heap stats: %.2f s, %.1f MB)" % (
                      " ".join(argv), len(out) / 1e6, run.first_byte, run.total, run.peak_rss / 1e6,
                      base.total, base.peak_rss / 1e6), file=sys.stderr)
        self.assertGreater(len(out), 20 << 20, "the listing is too small to tell")
        self.assertTrue(alive, "heapscope finished before its first %d bytes were read: it did "
                        "not wait on the pipe, so it held the whole %d-byte listing"
                        % (len(run.out), len(out)))
        self.assertLess(rss_at_first, base.peak_rss + SLACK,
                        "RSS %d when the first bytes came (heap stats peaks at %d)"
                        % (rss_at_first, base.peak_rss))
        self.assertLess(run.peak_rss, base.peak_rss + SLACK,
                        "peak RSS %d for a %d-byte listing (heap stats peaks at %d)"
                        % (run.peak_rss, len(out), base.peak_rss))

    def test_chunks_json(self):
        def parse(out):
            self.assertTrue(out.endswith(b"\n") and out.count(b"\n") == 1)
            doc = json.loads(out)
            self.assertEqual(len(doc["chunks"]), doc["matching"])
            self.assertGreater(doc["matching"], CHUNKS * 9 // 10)
        self.check_listing(["heap", "chunks", "--json"], parse)

    def test_chunks_text(self):
        def parse(out):
            lines = out.decode().splitlines()
            self.assertTrue(lines[0].startswith("address"))
            self.assertRegex(lines[-1], r"^\d+ chunks$")
            self.assertEqual(int(lines[-1].split()[0]), len(lines) - 2)
        self.check_listing(["heap", "chunks"], parse)

    def test_reader_gone(self):
        """`| head`: heapscope stops at once (SIGPIPE), like any filter."""
        proc = subprocess.Popen([lib.cli_path(), self.core, "heap", "chunks"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.read(100)
        proc.stdout.close()
        proc.wait(timeout=60)
        err = proc.stderr.read()
        proc.stderr.close()
        self.assertIn(proc.returncode, (-13, 141), err)


if __name__ == "__main__":
    unittest.main()
