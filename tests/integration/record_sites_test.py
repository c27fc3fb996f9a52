"""heap sites on a program whose allocation sites are known.

tests/recorder/programs/record_sites.c, run with libheapscope-record.so
preloaded, prints each allocation it keeps with the function that made it
and its thread, then aborts. Checks:
  - `heap sites --json` on the core: per site function, the count of live
    allocations is the program's, the bytes are those of its chunks in
    `heap chunks`, the recursive site has one stack per depth, frames carry
    file:line, totals add up;
  - --by count order, --limit, the text form;
  - gdb and lldb print the same bytes as the CLI;
  - without the recorder: one line saying how to get sites, exit 2;
  - a core whose tables are corrupt: findings, no crash.
Standard library only.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402
from frontend_parity import SameInEveryFrontEnd  # noqa: E402


def record_lib():
    return os.environ.get("HEAPSCOPE_RECORD_LIB") or os.path.join(lib.build_dir(), "lib", "libheapscope-record.so")


def sites_program():
    return os.environ.get("HEAPSCOPE_RECORD_SITES") or os.path.join(lib.build_dir(), "tests", "programs",
                                                                      "record_sites")


def parse_live(stdout):
    """LIVE lines -> [(address, site function, tid)]."""
    out = []
    for line in stdout.splitlines():
        w = line.split()
        if w and w[0] == "LIVE":
            out.append((int(w[1], 16), w[2], int(w[3])))
    if not out:
        raise AssertionError("record_sites printed no LIVE lines:\n" + stdout[-2000:])
    return out


def site_of(group):
    f = group["frames"]
    return f[0]["function"] if f else None


class RecordSitesTest(SameInEveryFrontEnd, unittest.TestCase):
    COMMANDS = ["heap sites", "heap sites --json", "heap sites --by count --limit 3"]

    @classmethod
    def setUpClass(cls):
        cls.exe = sites_program()
        if not os.path.exists(cls.exe):
            raise unittest.SkipTest("record_sites not built")
        try:
            cls.core, cls.stdout = lib.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + record_lib(), cls.exe])
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.live = parse_live(cls.stdout)
        cls.doc = lib.run_cli_json([cls.core, "heap", "sites"])

    def cli(self, *args):
        status, out, err = lib.run_cli([self.core] + list(args))
        self.assertEqual(status, 0, err)
        return out

    def test_counts_and_bytes_per_site_match_the_program(self):
        chunks = lib.run_cli_json([self.core, "heap", "chunks"])["chunks"]
        size_at = {int(c["data"], 16): c["size"] for c in chunks if c["state"] in ("in_use", "mmapped")}
        want_count, want_bytes = collections.Counter(), collections.Counter()
        for address, site, _ in self.live:
            self.assertIn(address, size_at, "0x%x (%s) is not an in-use chunk" % (address, site))
            want_count[site] += 1
            want_bytes[site] += size_at[address]
        got_count, got_bytes = collections.Counter(), collections.Counter()
        for g in self.doc["sites"]:
            if site_of(g) in want_count:
                got_count[site_of(g)] += g["count"]
                got_bytes[site_of(g)] += g["bytes"]
        self.assertEqual(got_count, want_count)
        self.assertEqual(got_bytes, want_bytes)

    def test_one_stack_per_depth_and_per_call(self):
        by_site = collections.defaultdict(list)
        for g in self.doc["sites"]:
            by_site[site_of(g)].append(g)
        depths = sorted(sum(1 for f in g["frames"] if f["function"] == "site_recursive")
                        for g in by_site["site_recursive"])
        self.assertEqual(depths, [1, 2, 3, 4])
        self.assertEqual(len(by_site["site_aligned"]), 4)
        self.assertEqual(len(by_site["site_thread"]), 1)
        self.assertEqual([g["count"] for g in by_site["site_thread"]], [18])
        for g in by_site["site_alpha"] + by_site["site_beta"]:
            f = g["frames"][0]
            self.assertTrue(f["file"].endswith("record_sites.c"), f)
            self.assertGreater(f["line"], 0)
            self.assertEqual(g["frames"][1]["function"], "main")

    def test_totals_add_up(self):
        d = self.doc
        self.assertEqual(d["total"]["count"], sum(g["count"] for g in d["sites"]))
        self.assertEqual(d["total"]["bytes"], sum(g["bytes"] for g in d["sites"]))
        self.assertEqual(d["total"]["sites"], len(d["sites"]))
        self.assertEqual(d["total"]["not_in_heap"], 0)
        self.assertEqual(d["findings"], [])
        self.assertTrue(d["recorder"]["by_symbol"])
        self.assertEqual([g["bytes"] for g in d["sites"]], sorted((g["bytes"] for g in d["sites"]), reverse=True))

    def test_by_count_and_limit(self):
        d = lib.run_cli_json([self.core, "heap", "sites", "--by", "count", "--limit", "2"])
        self.assertEqual(len(d["sites"]), 2)
        counts = sorted((g["count"] for g in self.doc["sites"]), reverse=True)
        self.assertEqual([g["count"] for g in d["sites"]], counts[:2])
        self.assertEqual(site_of(d["sites"][0]), "site_thread")
        status, _, err = lib.run_cli([self.core, "heap", "sites", "--by", "age"])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_text_form(self):
        out = self.cli("heap", "sites")
        self.assertTrue(out.startswith("%d live allocations in %d sites" % (self.doc["total"]["count"],
                                                                            self.doc["total"]["sites"])), out)
        for site in ("site_alpha", "site_beta", "site_gamma", "site_thread", "site_recursive"):
            self.assertRegex(out, r"\b%s \(record_sites\.c:\d+\)" % site)


    def test_without_the_recorder_one_line_says_how(self):
        core, _ = lib.run_scenario_to_core(self.exe)
        status, out, err = lib.run_cli([core, "heap", "sites"])
        self.assertEqual(status, 2, out)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("LD_PRELOAD=libheapscope-record.so", err)
        status, _, err = lib.run_cli([core, "heap", "stats"])
        self.assertEqual(status, 0, err)

    def test_live_process_gives_the_same_sites(self):
        proc = subprocess.Popen([self.exe, "wait"], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, LD_PRELOAD=record_lib()))
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("READY"):
                    break
            live = parse_live("".join(lines))
            d = lib.run_cli_json(["--pid", str(proc.pid), "heap", "sites"])
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        counts = collections.Counter(site for _, site, _ in live)
        got = collections.Counter()
        for g in d["sites"]:
            if site_of(g) in counts:
                got[site_of(g)] += g["count"]
        self.assertEqual(got, counts)
        self.assertEqual(d["recorder"]["pid"], proc.pid)
        self.assertEqual(d["findings"], [])

    def test_root_found_by_magic_without_symbols(self):
        # The library the process mapped is gone when heapscope reads the
        # core: no symbol, so the root is found by its magic in module data.
        work = lib.scratch_dir()
        copy = os.path.join(work, "libheapscope-record.so")
        shutil.copy(record_lib(), copy)
        core, stdout = lib.run_scenario_to_core("/usr/bin/env", ["LD_PRELOAD=" + copy, self.exe], workdir=work)
        os.remove(copy)
        d = lib.run_cli_json([core, "heap", "sites"])
        self.assertFalse(d["recorder"]["by_symbol"])
        self.assertEqual(d["total"]["count"], self.doc["total"]["count"])
        self.assertEqual(sorted(g["count"] for g in d["sites"]), sorted(g["count"] for g in self.doc["sites"]))
        self.assertEqual(d["findings"], [])

    def test_corrupt_tables_become_findings(self):
        with open(self.core, "rb") as f:
            data = bytearray(f.read())
        at = data.find(b"HSrecord")
        self.assertGreater(at, 0, "no recorder root in the core file")
        bad = os.path.join(lib.scratch_dir(), "core.corrupt")
        # records_used (offset 56) huge; stack segment 0 (offset 464) nowhere.
        data[at + 56:at + 64] = (1 << 40).to_bytes(8, "little")
        data[at + 464:at + 472] = (0xdead0000).to_bytes(8, "little")
        with open(bad, "wb") as f:
            f.write(data)
        d = lib.run_cli_json([bad, "heap", "sites"])
        self.assertTrue(d["findings"], d)
        self.assertTrue(any("stack segment 0" in x for x in d["findings"]), d["findings"])
        status, out, err = lib.run_cli([bad, "heap", "sites"])
        self.assertEqual(status, 0, err)
        self.assertIn("warning:", out)
        # A root of another layout version: one line, exit 2.
        data[at + 8:at + 12] = (99).to_bytes(4, "little")
        with open(bad, "wb") as f:
            f.write(data)
        status, out, err = lib.run_cli([bad, "heap", "sites"])
        self.assertEqual(status, 2, out)
        self.assertIn("layout version 99", err)


if __name__ == "__main__":
    unittest.main()
