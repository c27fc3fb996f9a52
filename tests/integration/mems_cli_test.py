"""heapscope `mems ...` commands against what mems_demo printed itself.

mems_demo builds a small heap of the project's own allocators, prints
mems_print_stats(), `mems_get V -> P` lines and two oracle lines (the
figures of mems_get_stats and mems_pool_get_stats), then abort()s. The tests
run it to a core (also stripped of its symbols, so the root must be found by
scanning memory) and, through an LD_PRELOAD shim that makes abort() wait,
as a live process for --pid; each time the CLI's answers must equal what the
program printed.
"""

import os
import re
import select
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

NO_MEMS = "no mems allocator in the target (symbol mems_root not found)"

_SEGMENT_LINE = re.compile(
    r"^  (PROCESS|HOLE) +virtual \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) physical (0x[0-9a-f]+) size (\d+)"
    r"(?: requested (\d+) seq (\d+) site (0x[0-9a-f]+))?")
_NODE_LINE = re.compile(r"^node (\d+): virtual \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) physical (0x[0-9a-f]+)"
                        r" length (\d+) .* segments (\d+)$")


def parse_demo(stdout):
    """What mems_demo printed -> {"stats": {...}, "pool": {...}, "gets": [(v, p)],
    "chain_length": N, "sub_chains": [N...], "nodes": [{..., "segments": [...]}],
    "root": int}."""
    out = {"gets": [], "nodes": []}
    for line in stdout.splitlines():
        if line.startswith("oracle mems_stats "):
            out["stats"] = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[2:])}
        elif line.startswith("oracle mems_pool_stats "):
            out["pool"] = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[2:])}
        elif line.startswith("oracle mems_root "):
            out["root"] = int(line.split()[2], 16)
        elif line.startswith("mems_get "):
            parts = line.split()
            out["gets"].append((parts[1], parts[3]))
        elif line.startswith("main chain length: "):
            out["chain_length"] = int(line.split(": ")[1])
        elif line.startswith("sub-chain lengths: "):
            inner = line.split(": ")[1].strip("[]")
            out["sub_chains"] = [int(x) for x in inner.split(",") if x.strip()]
        else:
            m = _NODE_LINE.match(line)
            if m:
                out["nodes"].append({"index": int(m.group(1)), "virtual": m.group(2),
                                     "physical": m.group(4), "length": int(m.group(5)),
                                     "count": int(m.group(6)), "segments": []})
                continue
            m = _SEGMENT_LINE.match(line)
            if m and out["nodes"]:
                seg = {"type": m.group(1), "virtual": m.group(2), "physical": m.group(4),
                       "size": int(m.group(5))}
                if m.group(1) == "PROCESS":
                    seg["sequence"] = int(m.group(7))
                out["nodes"][-1]["segments"].append(seg)
    for key in ("stats", "pool", "chain_length", "sub_chains"):
        if key not in out:
            raise AssertionError("mems_demo printed no %s: %r" % (key, stdout[-500:]))
    return out


def expected_stats_json(demo):
    doc = dict(demo["stats"])
    doc["pool"] = dict(demo["pool"])
    return doc


class _MemsChecks:
    """The checks shared by the core and the live target. Subclasses set
    cls.where (the CLI arguments naming the target) and cls.demo."""

    where = ()
    demo = None
    expect_sites = True

    def cli(self, *args):
        return lib.run_cli(list(self.where) + ["mems"] + list(args))

    def cli_json(self, *args):
        return lib.run_cli_json(list(self.where) + ["mems"] + list(args))

    def test_stats_equal_the_oracle(self):
        self.assertEqual(self.cli_json("stats"), expected_stats_json(self.demo))

    def test_stats_text(self):
        status, out, err = self.cli("stats")
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        for key, value in self.demo["stats"].items():
            self.assertRegex(out, r"\n  %s +%d\b" % (key, value), key)

    def test_get_gives_the_printed_physical_address(self):
        self.assertGreaterEqual(len(self.demo["gets"]), 5)
        for virt, phys in self.demo["gets"]:
            doc = self.cli_json("get", virt)
            self.assertEqual(int(doc["physical"], 16), int(phys, 16), "mems get %s" % virt)
            self.assertEqual(doc["type"], "PROCESS")
            status, out, err = self.cli("get", virt)
            self.assertEqual(status, 0, err)
            self.assertIn("-> %#x" % int(phys, 16), out)

    def test_get_of_a_hole_or_outside_is_one_line_error(self):
        chain = self.cli_json("chain")["nodes"]
        hole = next(s for n in chain for s in n["segments"] if s["type"] == "HOLE")
        last = chain[-1]
        outside = int(last["virtual"], 16) + last["length"]
        for addr, word in ((hole["virtual"], "HOLE"), (hex(outside), "outside every node"),
                           ("0x10", "outside every node")):
            status, out, err = self.cli("get", addr)
            self.assertEqual(status, 2, addr)
            self.assertEqual(out, "")
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(word, err)

    def test_chain_matches_print_stats(self):
        nodes = self.cli_json("chain")["nodes"]
        self.assertEqual(len(nodes), self.demo["chain_length"])
        self.assertEqual([len(n["segments"]) for n in nodes], self.demo["sub_chains"])
        self.assertEqual(len(nodes), len(self.demo["nodes"]))
        for got, want in zip(nodes, self.demo["nodes"]):
            self.assertEqual(got["index"], want["index"])
            self.assertEqual(got["virtual"], want["virtual"])
            self.assertEqual(int(got["physical"], 16), int(want["physical"], 16))
            self.assertEqual(got["length"], want["length"])
            for gs, ws in zip(got["segments"], want["segments"]):
                for key, value in ws.items():
                    if key == "physical":
                        self.assertEqual(int(gs[key], 16), int(value, 16))
                    else:
                        self.assertEqual(gs[key], value, "node %d %s" % (got["index"], key))
                if gs["type"] == "PROCESS" and self.expect_sites:
                    self.assertIsNotNone(gs["site"])
                    self.assertRegex(gs["site"], r"^(make_records|make_objects)\+0x[0-9a-f]+$")
        one = self.cli_json("chain", "--node", "1")["nodes"]
        self.assertEqual(len(one), 1)
        self.assertEqual(one[0], nodes[1])

    def test_map_covers_every_node_and_segment(self):
        rows = self.cli_json("map")["rows"]
        self.assertEqual(len(rows), self.demo["chain_length"] + sum(self.demo["sub_chains"]))
        for virt, phys in self.demo["gets"]:
            v = int(virt, 16)
            seg = [r for r in rows if r["type"] == "PROCESS"
                   and int(r["virtual"], 16) <= v < int(r["virtual_end"], 16)]
            self.assertEqual(len(seg), 1, virt)
            self.assertEqual(int(seg[0]["physical"], 16) + v - int(seg[0]["virtual"], 16), int(phys, 16))

    def test_pools(self):
        doc = self.cli_json("pools")
        for key, value in self.demo["pool"].items():
            self.assertEqual(doc[key], value, key)
        # mems_demo allocates blocks of classes 1 (24 bytes), 6 (100) and 31 (500).
        self.assertEqual([c["class"] for c in doc["classes"]], [1, 6, 31])
        self.assertEqual(sum(c["blocks_used"] for c in doc["classes"]), self.demo["pool"]["blocks_used"])
        self.assertEqual(sum(c["blocks_free"] for c in doc["classes"]), self.demo["pool"]["blocks_free"])
        status, out, err = self.cli("pools")
        self.assertEqual(status, 0, err)
        self.assertIn("Type: Arena, Count: %d" % self.demo["pool"]["arenas"], out)
        self.assertIn("Type: Pool, Count: %d" % self.demo["pool"]["pools"], out)
        self.assertIn("Type: Block, Count: %d" % self.demo["pool"]["blocks_used"], out)

    def test_check_is_clean(self):
        doc = self.cli_json("check")
        self.assertEqual(doc["findings"], [])
        self.assertEqual(doc["checked"]["nodes"], self.demo["chain_length"])
        self.assertEqual(doc["checked"]["segments"], sum(self.demo["sub_chains"]))
        status, out, err = self.cli("check")
        self.assertEqual(status, 0, err)
        self.assertIn("no problems found", out)


class MemsCoreTest(_MemsChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            core, stdout = lib.run_scenario_to_core(lib.example_path("mems_demo"))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.where = (core,)
        cls.demo = parse_demo(stdout)

    def test_root_is_where_the_program_says(self):
        status, out, err = self.cli("stats")
        self.assertEqual(status, 0, err)
        self.assertIn("mems root at %#x," % self.demo["root"], out)


class MemsStrippedTest(_MemsChecks, unittest.TestCase):
    """The same program without a symbol table: the root is found by scanning."""

    expect_sites = False

    @classmethod
    def setUpClass(cls):
        strip = shutil.which("strip")
        if strip is None:
            raise unittest.SkipTest("no strip(1)")
        d = lib.scratch_dir()
        exe = os.path.join(d, "mems_demo_stripped")
        shutil.copy(lib.example_path("mems_demo"), exe)
        subprocess.run([strip, exe], check=True)
        try:
            core, stdout = lib.run_scenario_to_core(exe, workdir=d)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        cls.where = (core,)
        cls.demo = parse_demo(stdout)

    def test_root_found_by_scanning(self):
        status, out, err = self.cli("stats")
        self.assertEqual(status, 0, err)
        self.assertIn("mems root at %#x (found by scanning memory)" % self.demo["root"], out)


class MemsAbsentTest(unittest.TestCase):
    """A program that never linked mems: every mems command says so in one line."""

    def test_glibc_only_core(self):
        exe = lib.example_path("scenario_single")
        if not os.path.exists(exe):
            raise unittest.SkipTest("scenario_single not built")
        try:
            core, _ = lib.run_scenario_to_core(exe)
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        for cmd in (["stats"], ["chain"], ["get", "0x3e8"], ["map"], ["pools"], ["check", "--json"]):
            status, out, err = lib.run_cli([core, "mems"] + cmd)
            self.assertEqual(status, 2, cmd)
            self.assertEqual(out, "")
            self.assertEqual(err, "heapscope: %s\n" % NO_MEMS, cmd)


class MemsLiveTest(_MemsChecks, unittest.TestCase):
    """mems_demo kept alive at its abort() by the mems_abort_wait shim."""

    @classmethod
    def setUpClass(cls):
        shim = os.environ.get("HEAPSCOPE_MEMS_ABORT_WAIT") or os.path.join(
            lib.build_dir(), "tests", "programs", "mems_abort_wait.so")
        if not os.path.exists(shim):
            raise unittest.SkipTest("abort() shim not built: %s" % shim)
        env = lib.preload_env([shim])
        cls.proc = subprocess.Popen([lib.example_path("mems_demo")], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        buf = b""
        deadline = time.monotonic() + 60
        fd = cls.proc.stdout.fileno()
        while b"READY\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                cls.proc.kill()
                raise AssertionError("mems_demo printed no READY: %r" % buf[-300:])
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    cls.proc.kill()
                    raise AssertionError("mems_demo exited before READY: %r" % buf[-300:])
                buf += chunk
        cls.where = ("--pid", str(cls.proc.pid))
        cls.demo = parse_demo(buf.decode("utf-8", "replace"))

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()

    def test_zz_process_survives_and_finishes(self):
        # Named to run last: every other test has attached and detached by now.
        self.assertIsNone(self.proc.poll(), "mems_demo died while heapscope looked at it")
        with open("/proc/%d/stat" % self.proc.pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        self.assertNotIn(state, ("T", "t"), "mems_demo was left stopped (state %s)" % state)
        out, _ = self.proc.communicate(b"go\n", timeout=30)
        self.assertEqual(self.proc.returncode, 0)
        self.assertIn(b"BYE", out)


if __name__ == "__main__":
    unittest.main()
