"""heapscope --pid PID --watch SECONDS [--count N] [--html FILE] heap stats.

growth_heap --stdin grows its heap by one step per line it reads and prints
its own record after each (the chunk bytes each thread holds, and glibc's
mallinfo2 uordblks); between lines it allocates nothing. The test reads one
sample, then makes the program take a step and waits for its record, so the
next sample (taken after that record, by its timestamp) must show exactly
the record's bytes: per arena, the growth since the first sample equals the
thread's own count, and in_use + metadata + tcache equals uordblks. The
steps themselves show the process ran between samples.
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

INTERVAL = 0.4
SAMPLES = 4
RECORD = re.compile(r"step (\d+) main (\d+) worker (\d+) uordblks (\d+)")


class Growth:
    """growth_heap --stdin, stepped by the test."""

    def __init__(self):
        self.proc = subprocess.Popen([lib.example_path("growth_heap"), "--stdin"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.records = [self.read_record()]
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY"):
            raise AssertionError("growth_heap printed %r, not READY" % line)
        self.pid = self.proc.pid

    def read_record(self):
        line = self.proc.stdout.readline().decode()
        m = RECORD.match(line)
        if not m:
            raise AssertionError("growth_heap printed %r, not its record" % line)
        k, main, worker, uord = map(int, m.groups())
        return {"step": k, "main": main, "worker": worker, "uordblks": uord, "seen": time.time()}

    def step(self):
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()
        self.records.append(self.read_record())
        return self.records[-1]

    def finish(self):
        self.proc.stdin.close()
        status = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return status

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def watch(pid, *extra, count=SAMPLES, html=None):
    argv = [lib.cli_path(), "--pid", str(pid), "--watch", str(INTERVAL)]
    if count:
        argv += ["--count", str(count)]
    if html:
        argv += ["--html", html]
    return subprocess.Popen(argv + ["heap", "stats"] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def owner(sample, label):
    for o in sample["owners"]:
        if o["label"] == label:
            return o
    raise AssertionError("no owner %r in %s" % (label, [o["label"] for o in sample["owners"]]))


def uordblks_of(sample):
    """glibc counts tcache and its own metadata chunks as in use."""
    t = sample["stats"]["total"]
    return t["in_use"]["bytes"] + t["metadata"]["bytes"] + t["tcache"]["bytes"]


class WatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One watched run shared by the checks: samples, records, the page."""
        cls.html = os.path.join(lib.scratch_dir(), "growth.html")
        g = Growth()
        try:
            w = watch(g.pid, html=cls.html)
            cls.samples, cls.exact = [], 0
            for k in range(SAMPLES):
                line = w.stdout.readline().decode()
                if not line:
                    break
                cls.samples.append(__import__("json").loads(line))
                if k + 1 < SAMPLES:
                    g.step()
            cls.rest, cls.err = (s.decode() for s in w.communicate(timeout=60))
            cls.status = w.returncode
            cls.records = g.records
            cls.alive_after = g.proc.poll() is None
            cls.final = g.step()  # it still runs after the watch
        finally:
            cls.exit_status = g.finish() if g.proc.poll() is None else g.proc.returncode
            g.kill()

    def test_one_line_per_sample_then_exit_0(self):
        self.assertEqual(self.status, 0, self.err)
        self.assertEqual(len(self.samples), SAMPLES)
        self.assertEqual(self.rest, "")
        self.assertEqual(self.err, "")
        self.assertEqual([s["sample"] for s in self.samples], list(range(SAMPLES)))
        self.assertTrue(self.alive_after, "the process died while it was watched")
        self.assertEqual(self.exit_status, 0)

    def test_time_is_monotonic_and_paced(self):
        times = [s["time"] for s in self.samples]
        elapsed = [s["elapsed"] for s in self.samples]
        self.assertEqual(elapsed[0], 0.0)
        for a, b in zip(times, times[1:]):
            self.assertGreater(b, a)
        for k, e in enumerate(elapsed):
            # Samples keep to the schedule from the first: never early (late
            # only when a busy machine makes a sample slow).
            self.assertGreaterEqual(e, k * INTERVAL - 0.005)
            self.assertLess(e, k * INTERVAL + 2.0)
            self.assertAlmostEqual(times[k] - times[0], e, delta=0.05)

    def test_stop_ms_is_reported_and_small(self):
        for s in self.samples:
            self.assertIsInstance(s["stop_ms"], float)
            self.assertGreater(s["stop_ms"], 0)
            # About 10 ms on an idle machine; the bound leaves room for a loaded one.
            self.assertLess(s["stop_ms"], 2000, "a sample stopped the process for seconds")

    def test_in_use_bytes_follow_the_programs_record(self):
        base = self.samples[0]
        base_main = owner(base, "arena 0 (main)")["in_use"]["bytes"]
        base_worker = owner(base, "arena 1")["in_use"]["bytes"]
        self.assertEqual(uordblks_of(base), self.records[0]["uordblks"])
        exact = 0
        for k, s in enumerate(self.samples[1:], 1):
            before, after = self.records[k - 1], self.records[k]
            main = owner(s, "arena 0 (main)")["in_use"]["bytes"] - base_main
            worker = owner(s, "arena 1")["in_use"]["bytes"] - base_worker
            if s["time"] > after["seen"]:
                # Taken after the program printed its record, and it allocates
                # nothing until the test's next line: exactly the record.
                self.assertEqual((main, worker), (after["main"], after["worker"]), "sample %d" % k)
                self.assertEqual(uordblks_of(s), after["uordblks"], "sample %d" % k)
                exact += 1
            else:
                self.assertTrue(before["main"] <= main <= after["main"], "sample %d" % k)
                self.assertTrue(before["worker"] <= worker <= after["worker"], "sample %d" % k)
            # The totals are the owners' sums.
            self.assertEqual(s["in_use"]["bytes"], sum(o["in_use"]["bytes"] for o in s["owners"]))
            self.assertEqual(s["system_bytes"], s["stats"]["total"]["system_bytes"] + s["stats"]["mmapped"]["bytes"])
        self.assertGreater(exact, 0, "no sample came after the program's record")
        # The program made progress between samples: each sample saw a later step.
        self.assertGreater(self.records[-1]["main"], self.records[0]["main"])
        self.assertEqual(self.final["step"], SAMPLES)

    def test_html_page_draws_every_series(self):
        import frag_html_test as fh
        with open(self.html, encoding="utf-8") as f:
            page = f.read()
        for bad in ("http://", "https://", "<script src", "<link ", "@import"):
            self.assertNotIn(bad, page)
        if fh.chromium_path() is None:
            self.skipTest("chromium is not installed (Debian: apt-get install -y chromium)")
        status, dom, err = fh.chromium(["--virtual-time-budget=5000", "--window-size=1400,900", "--dump-dom",
                                        "file://" + self.html])
        lines = Polylines()
        lines.feed(dom)
        labels = ["total"] + [o["label"] for o in self.samples[0]["owners"]]
        self.assertEqual(lines.body.get("data-lines-drawn"), str(3 * len(labels)), err[-1500:])
        self.assertEqual(lines.body.get("data-samples"), str(SAMPLES))
        drawn = {(l["data-label"], l["data-figure"]): l for l in lines.lines}
        self.assertEqual(set(drawn), {(lb, f) for lb in labels for f in ("in_use", "free", "system")})
        for l in lines.lines:
            self.assertEqual(l["data-points"], str(SAMPLES))
            self.assertEqual(len(l["points"].split()), SAMPLES)
        # The plotted values are the JSON lines' figures.
        self.assertEqual([int(v) for v in drawn[("total", "in_use")]["data-values"].split(",")],
                         [s["in_use"]["bytes"] for s in self.samples])
        self.assertEqual([int(v) for v in drawn[("arena 1", "system")]["data-values"].split(",")],
                         [owner(s, "arena 1")["system_bytes"] for s in self.samples])
        # Growth goes up the page: a higher value, a smaller y.
        ys = [float(p.split(",")[1]) for p in drawn[("total", "in_use")]["points"].split()]
        self.assertLess(ys[-1], ys[0])


class Polylines(__import__("html.parser").parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.lines, self.body = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "polyline" and a.get("class") == "line":
            self.lines.append(a)


class WatchEndsTest(unittest.TestCase):
    def test_process_exit_ends_the_watch_cleanly(self):
        g = Growth()
        try:
            w = watch(g.pid, count=None)
            first = w.stdout.readline()
            self.assertTrue(first.startswith(b"{"), first)
            g.finish()  # it exits at end of input
            out, err = w.communicate(timeout=30)
        finally:
            g.kill()
        self.assertEqual(w.returncode, 0, err)
        self.assertRegex(err.decode(), r"^heapscope: note: the process exited; \d+ samples? taken\n$")

    def test_ctrl_c_ends_the_watch_and_writes_the_page(self):
        html = os.path.join(lib.scratch_dir(), "interrupted.html")
        g = Growth()
        try:
            w = watch(g.pid, count=None, html=html)
            lines = [w.stdout.readline(), w.stdout.readline()]
            w.send_signal(signal.SIGINT)
            out, err = w.communicate(timeout=30)
            self.assertEqual(g.step()["step"], 1, "the process does not run after the watch")
        finally:
            g.finish()
            g.kill()
        self.assertEqual(w.returncode, 0, err)
        samples = len(lines) + len(out.splitlines())
        self.assertEqual(err.decode(), "heapscope: note: interrupted; %d samples taken\n" % samples)
        with open(html, encoding="utf-8") as f:
            self.assertIn("%d samples, allocator glibc" % samples, f.read())

    def test_user_errors_are_one_line_and_exit_2(self):
        g = Growth()
        try:
            cases = [
                ([], "--watch samples a live process"),  # no --pid
                (["--pid", g.pid, "heap", "chunks"], "--watch works with heap stats only, not 'heap chunks'"),
                (["--pid", g.pid, "mems", "stats"], "--watch works with heap stats only"),
                (["--pid", g.pid, "heap", "stats", "--arena", "0"], "--watch takes heap stats [--allocator NAME]"),
                (["--pid", g.pid, "--count", "0", "heap", "stats"], "--count must be at least 1"),
                (["--pid", g.pid, "--count", "x", "heap", "stats"], "--count"),
            ]
            for extra, message in cases:
                with self.subTest(extra=extra):
                    argv = ["--watch", "0.1"] + [str(a) for a in extra]
                    if not extra:
                        argv += ["heap", "stats"]
                    status, out, err = lib.run_cli(argv, timeout=30)
                    self.assertEqual(status, 2, err)
                    self.assertEqual(out, "")
                    self.assertEqual(err.count("\n"), 1, err)
                    self.assertIn(message, err)
            for interval in ("0", "-1", "abc", "nan", "1e9"):
                status, out, err = lib.run_cli(["--pid", g.pid, "--watch", interval, "heap", "stats"], timeout=30)
                self.assertEqual((status, err.count("\n")), (2, 1), err)
                self.assertIn("--watch takes a number of seconds", err)
            status, out, err = lib.run_cli(["--pid", g.pid, "--count", "3", "heap", "stats"], timeout=30)
            self.assertEqual((status, err.count("\n")), (2, 1), err)
            self.assertIn("go with --watch", err)
            self.assertEqual(g.step()["step"], 1, "the process stopped running")
        finally:
            g.finish()
            g.kill()
        # A process that has gone.
        status, out, err = lib.run_cli(["--pid", g.pid, "--watch", "0.1", "--count", "2", "heap", "stats"], timeout=30)
        self.assertEqual((status, out, err.count("\n")), (2, "", 1), err)
        self.assertIn("pid %d: no such process" % g.pid, err)


if __name__ == "__main__":
    unittest.main()


class SnapshotAgainstLiveTest(unittest.TestCase):
    """heapscope diff SNAPSHOT --pid PID: a snapshot file saved from the live
    process, then the same process two steps later: the in-use growth is the
    program's own record of what it allocated meanwhile."""

    def test_diff_of_a_snapshot_and_the_live_process(self):
        snap = os.path.join(lib.scratch_dir(), "before.json")
        g = Growth()
        try:
            status, out, err = lib.run_cli(["--pid", str(g.pid), "heap", "snapshot", "save", "before",
                                            "--file", snap])
            self.assertEqual(status, 0, err)
            before = g.records[-1]
            g.step()
            after = g.step()
            diff = lib.run_cli_json(["diff", snap, "--pid", str(g.pid)])
            self.assertIsNone(g.proc.poll(), "the process died while it was read")
        finally:
            if g.proc.poll() is None:
                g.finish()
            g.kill()
        grown = (after["main"] + after["worker"]) - (before["main"] + before["worker"])
        self.assertGreater(grown, 0)
        self.assertEqual(diff["in_use"]["bytes_change"], grown)
        self.assertEqual(diff["before"], "before")
        self.assertIn(str(g.pid), diff["after"])
