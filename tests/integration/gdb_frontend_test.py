"""The GDB front-end against the CLI: the same command on the same stop must
print the same bytes (or the same one-line error).

Runs the real `gdb -batch -nx` with share/heapscope/heapscope-gdb.py on
  - cores of the scenario programs (examples/ and programs/gdb_scenario.c),
  - a live process stopped at a breakpoint (compared with the CLI on a gcore
    of that stop),
  - the same through gdbserver (gdb's memory reads: the callback target),
and checks the error paths: no program, wrong arguments, no glibc heap.

Environment: HEAPSCOPE_BUILD_DIR (default ../../build), HEAPSCOPE_CLI,
HEAPSCOPE_GDB_SCENARIO (the built gdb_scenario), HEAPSCOPE_KEEP_TMP=1.
Standard library only.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heapscope_testlib as lib  # noqa: E402  (debugger_env in a sanitizer build)

SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("HEAPSCOPE_BUILD_DIR") or os.path.join(SOURCE, "build")
CLI = os.environ.get("HEAPSCOPE_CLI") or os.path.join(BUILD, "bin", "heapscope")
LOADER = os.path.join(BUILD, "share", "heapscope", "heapscope-gdb.py")
RUNNER = os.path.join(HERE, "gdb_runner.py")
GDB = os.environ.get("HEAPSCOPE_GDB") or shutil.which("gdb")
GDBSERVER = shutil.which("gdbserver")
NO_TARGET = "heapscope: no process or core file; use run, attach or core-file"
LOADED = re.compile(r"^heapscope \S+ loaded: 'heap help' and 'mems help' list the commands\n")
EXAMPLES = ["demo", "scenario_single", "scenario_threads", "scenario_mmap", "mems_demo",
            "leaks_basic", "leaks_cxx"]
# Argument forms worth comparing beyond the bare command (used when the
# command exists in the table).
EXTRA_LINES = {
    ("heap", "bins"): ["heap bins fast", "heap bins tcache --json", "heap bins nosuchkind"],
    ("heap", "chunks"): ["heap chunks --limit 5", "heap chunks --state tcache --json",
                         "heap chunks --arena 1 --limit 3", "heap chunks --limit x"],
    ("heap", "chunk"): ["heap chunk 0x10", "heap chunk 0x10+0x20"],
    ("mems", "chain"): ["mems chain --json"],
    ("heap", "leaks"): ["heap leaks --list --limit 5", "heap leaks --summary --json",
                        "heap leaks --type Widget", "heap leaks --summary --list"],
    ("heap", "stats"): ["heap stats --by-type", "heap stats --by-type --json"],
}

_tmp_dirs = []


def tmpdir():
    d = tempfile.mkdtemp(prefix="heapscope-gdb-")
    _tmp_dirs.append(d)
    return d


def tearDownModule():
    if not os.environ.get("HEAPSCOPE_KEEP_TMP"):
        for d in _tmp_dirs:
            shutil.rmtree(d, ignore_errors=True)


def require_frontend(test):
    if GDB is None:
        test.skipTest("gdb not installed")
    if not os.path.exists(LOADER):
        test.skipTest("GDB front-end not built (no %s)" % LOADER)


_scenario = {}


def scenario(static=False):
    """The gdb_scenario program: the built one, or compiled here."""
    key = "static" if static else "dynamic"
    if key in _scenario:
        return _scenario[key]
    built = os.environ.get("HEAPSCOPE_GDB_SCENARIO") or os.path.join(BUILD, "bin", "gdb_scenario")
    if not static and os.path.exists(built):
        _scenario[key] = built
        return built
    out = os.path.join(tmpdir(), "gdb_scenario" + ("_static" if static else ""))
    cmd = ["cc", "-g", "-O1", "-pthread", "-o", out,
           os.path.join(HERE, "programs", "gdb_scenario.c")] + (["-static"] if static else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    _scenario[key] = out if r.returncode == 0 else None
    return _scenario[key]


def make_core(exe, args=()):
    """Runs exe until it aborts and returns the path of its core."""
    d = tmpdir()
    subprocess.run(["bash", "-c", 'ulimit -c unlimited; exec "$0" "$@"', exe] + list(args),
                   cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)
    for _ in range(100):
        cores = [f for f in os.listdir(d) if f == "core" or f.startswith("core.")]
        if cores:
            return os.path.join(d, cores[0])
        time.sleep(0.05)
    raise unittest.SkipTest("no core file appeared (core_pattern or ulimit)")


def run_gdb(gdb_args, steps, before=(), timeout=300, load=True, ulimit_core=False):
    """gdb -batch with the loader, `before` commands, then the runner on steps.
    Returns (results, stdout, stderr)."""
    d = tmpdir()
    spec_path, out_path = os.path.join(d, "in.json"), os.path.join(d, "out.json")
    with open(spec_path, "w") as f:
        json.dump({"steps": steps}, f)
    cmd = [GDB, "-batch", "-nx", "-iex", "set debuginfod enabled off"]
    for c in lib.gdb_sanitizer_commands():
        cmd += ["-iex", c]
    if load:
        cmd += ["-ex", "source " + LOADER]
    for b in before:
        cmd += ["-ex", b]
    cmd += ["-ex", "source " + RUNNER] + list(gdb_args)
    env = lib.debugger_env(dict(HEAPSCOPE_GDB_RUNNER_IN=spec_path, HEAPSCOPE_GDB_RUNNER_OUT=out_path))
    if ulimit_core:  # the inferior inherits it and dumps core when it aborts
        cmd = ["bash", "-c", 'ulimit -c unlimited; exec "$0" "$@"'] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    results = None
    if os.path.exists(out_path):
        with open(out_path) as f:
            results = json.load(f)
    return results, p.stdout, p.stderr


def run_cli(core, line):
    p = subprocess.run([CLI, core] + shlex.split(line), capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def table():
    results, out, err = run_gdb([], [["py", "__import__('_heapscope_gdb').command_table()"]])
    assert results and results[0]["ok"], (out, err)
    import ast
    return ast.literal_eval(results[0]["out"])


def command_lines(address=None):
    """Every table command in text and --json, with help and a bad option."""
    lines = ["heap help", "mems help", "heap nosuch"]
    for c in table():
        base = "%s %s" % (c["group"], c["name"])
        lines += [base + " --help", base + " --no-such-option"]
        if c["min_positional"] == 0:
            lines += [base, base + " --json"]
        elif c["min_positional"] == 1 and address is not None:
            lines += ["%s %#x" % (base, address), "%s %#x --json" % (base, address)]
        lines += EXTRA_LINES.get((c["group"], c["name"]), [])
    return lines


def live_command_lines():
    """command_lines() for a live stop: `heap pages` reads /proc/PID/pagemap
    on a live process and the core's holes on a core, so it cannot equal the
    CLI on a core of the same stop (by design); its --help still must."""
    return [l for l in command_lines(address=None)
            if not l.startswith("heap pages") or "--help" in l or "--no-such" in l]


class Compare:
    """Mixin: compare gdb's answers with the CLI's on a core."""

    def assert_same_as_cli(self, core, lines, results):
        self.assertIsNotNone(results, "the gdb runner wrote no results")
        rc0, _, err0 = run_cli(core, "heap help")
        if "not supported yet" in err0:
            self.skipTest("the CLI cannot open cores yet: " + err0.strip())
        by_cmd = {r["arg"]: r for r in results if r["kind"] == "cmd"}
        checked = 0
        for line in lines:
            r = by_cmd[line]
            self.assertNotIn("PYTHON", r.get("error", ""), line)
            rc, out, err = run_cli(core, line)
            with self.subTest(command=line):
                if rc == 0:
                    self.assertTrue(r["ok"], "%s: gdb failed: %s" % (line, r.get("error")))
                    self.assertEqual(r["out"], out, line)
                else:
                    self.assertFalse(r["ok"], "%s: gdb printed %r, CLI failed %r" %
                                     (line, r.get("out", "")[:200], err))
                    self.assertEqual(r["error"] + "\n", err, line)
                checked += 1
        self.assertEqual(checked, len(lines))


def chunk_address_steps():
    # sink[1] in gdb_scenario is in use (odd slots are kept).
    return [["py", "int(gdb.parse_and_eval('(unsigned long)sink[1]'))"]]


class CoreTest(Compare, unittest.TestCase):
    """gdb on a core file: every command equals the CLI's on the same core."""

    def check_program(self, exe, args=("abort",), address=None):
        core = make_core(exe, args)
        lines = command_lines(address)
        results, out, err = run_gdb([exe, core], [["cmd", l] for l in lines] +
                                    [["py", "__import__('heapscope.session').session.current_kind()"]])
        self.assertNotIn("Traceback", out + err)
        self.assert_same_as_cli(core, lines, results)
        return results

    def test_gdb_scenario(self):
        require_frontend(self)
        exe = scenario()
        self.assertIsNotNone(exe, "cannot build gdb_scenario")
        # First learn a chunk address from gdb on the core.
        core = make_core(exe, ["abort"])
        res, _, _ = run_gdb([exe, core], [["py", "int(gdb.parse_and_eval('(unsigned long)sink[1]'))"]])
        address = int(res[0]["out"]) - 16 if res and res[0]["ok"] else None
        lines = command_lines(address)
        results, out, err = run_gdb([exe, core], [["cmd", l] for l in lines] + [
            ["py", "__import__('heapscope.session').session.current_kind()"]])
        self.assertNotIn("Traceback", out + err)
        self.assert_same_as_cli(core, lines, results)
        self.assertEqual(results[-1]["out"], repr("core"), "gdb did not read the core directly")

    def test_no_debuginfo_setting(self):
        """`set heapscope debuginfo off` is the CLI's --no-debuginfo."""
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        lines = ["heap stats", "heap arenas --json", "heap bins --json"]
        results, out, err = run_gdb([exe, core], [["cmd", "set heapscope debuginfo off"]] +
                                    [["cmd", l] for l in lines] +
                                    [["cmd", "show heapscope debuginfo"]])
        self.assertEqual(results[-1]["out"], "heapscope debuginfo is off.\n")
        for i, line in enumerate(lines):
            p = subprocess.run([CLI, "--no-debuginfo", core] + line.split(),
                               capture_output=True, text=True, timeout=300)
            r = results[i + 1]
            if p.returncode == 0:
                self.assertEqual(r.get("out"), p.stdout, line)
            else:
                self.assertEqual(r.get("error", "") + "\n", p.stderr, line)

    def test_examples(self):
        require_frontend(self)
        found = [n for n in EXAMPLES if os.path.exists(os.path.join(BUILD, "examples", n))]
        if not found:
            self.skipTest("no example programs built in %s/examples" % BUILD)
        for name in found:
            with self.subTest(example=name):
                self.check_program(os.path.join(BUILD, "examples", name), args=())


class AddressExpressionTest(unittest.TestCase):
    """ADDR arguments are gdb expressions (`heap chunk sink[1]`): the same
    bytes as the CLI on the number they evaluate to; a bad one is one line."""

    def test_expressions_equal_cli_numbers(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        lines = ["heap chunk sink[1]", "heap chunk sink[1] + 8", "heap chunk (char *)sink[1] + 24",
                 "heap refs sink[1]", "heap chunk sink[1] --json", "heap chunk no_such_symbol",
                 "heap chunk sink", "heap chunk main_arena"]
        results, out, err = run_gdb([exe, core], chunk_address_steps() + [["cmd", l] for l in lines])
        self.assertNotIn("Traceback", out + err)
        data = int(results[0]["out"])
        by_line = dict(zip(lines, results[1:]))
        for line, cli_line in [("heap chunk sink[1]", "heap chunk %#x" % data),
                               ("heap chunk sink[1] + 8", "heap chunk %#x+8" % data),
                               ("heap chunk (char *)sink[1] + 24", "heap chunk %#x + 24" % data),
                               ("heap refs sink[1]", "heap refs %d" % data),
                               ("heap chunk sink[1] --json", "heap chunk %#x --json" % data)]:
            rc, cli_out, cli_err = run_cli(core, cli_line)
            self.assertEqual(rc, 0, cli_err)
            self.assertTrue(by_line[line]["ok"], by_line[line].get("error"))
            self.assertEqual(by_line[line]["out"], cli_out, line)
        bad = by_line["heap chunk no_such_symbol"]
        self.assertFalse(bad["ok"])
        self.assertEqual(bad["error"], "heapscope: cannot evaluate 'no_such_symbol': "
                                       "No symbol \"no_such_symbol\" in current context.")
        # An array stands for its start (a global: not in the heap).
        self.assertRegex(by_line["heap chunk sink"]["error"], r"^heapscope: 0x[0-9a-f]+ is not inside any heap chunk$")
        self.assertRegex(by_line["heap chunk main_arena"]["error"],
                         r"^heapscope: cannot evaluate 'main_arena': it is a .*, not an address$")
        # The CLI keeps numbers: a symbol is one clear line there.
        rc, _, cli_err = run_cli(core, "heap chunk sink")
        self.assertEqual((rc, cli_err), (2, "heapscope: invalid address: 'sink'\n"))


class SmallFixesTest(unittest.TestCase):
    """The rough edges a pwndbg/gef user meets first, in gdb and the CLI."""

    def test_loader_says_it_loaded_in_one_line(self):
        require_frontend(self)
        p = subprocess.run([GDB, "-batch", "-nx", "-ex", "source " + LOADER], capture_output=True,
                           text=True, timeout=120, env=lib.debugger_env())
        self.assertEqual(p.stderr, "")
        self.assertRegex(p.stdout, LOADED)
        self.assertEqual(p.stdout.count("\n"), 1, p.stdout)

    def test_help_names_the_command_table(self):
        require_frontend(self)
        results, out, err = run_gdb([], [["cmd", "help heap"]])
        self.assertIn("\"heap help\" lists heapscope's command table", results[0]["out"])
        self.assertNotIn("the core's list", results[0]["out"])

    def test_misspelt_command_and_mmapped_chunk(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        lines = ["heap stast", "heap chunk sink[401]"]  # sink[401]: the mmapped chunk
        results, out, err = run_gdb([exe, core], [["cmd", l] for l in lines])
        self.assertEqual(results[0]["error"],
                         "heapscope: unknown command 'heap stast' (did you mean 'stats'? try 'heap help')")
        rc, cli_out, cli_err = run_cli(core, "heap stast")
        self.assertEqual(cli_err, results[0]["error"] + "\n")
        first = results[1]["out"].split("\n")[0]
        self.assertRegex(first, r"^chunk 0x[0-9a-f]+ \(data 0x[0-9a-f]+\), size \d+ \(1\.0 MiB\), mmapped$")

    def test_cli_help_needs_no_core(self):
        core = make_core(scenario(), ["abort"])
        for words in (["heap", "help"], ["mems", "help"], ["heap"], ["heap", "chunks", "--help"],
                      ["heap", "bins", "--help"]):
            with self.subTest(words=words):
                p = subprocess.run([CLI] + words, capture_output=True, text=True, timeout=60)
                rc, want, _ = run_cli(core, " ".join(words if len(words) > 1 else words + ["help"]))
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                self.assertEqual(p.stdout, want)
        p = subprocess.run([CLI, "heap", "bins", "--help"], capture_output=True, text=True, timeout=60)
        self.assertIn("[--limit N]", p.stdout)
        p = subprocess.run([CLI, "heap", "stats"], capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (2, "heapscope: no core file or --pid given (try --help)\n"))


class DefaultArenaTest(unittest.TestCase):
    """`heap arena 1` makes arena 1 the one every heap command looks at
    without --arena (the thread's arena of gdb_scenario), until `heap arena
    none`; `heap stats --arena I` is accepted."""

    def test_default_arena_is_the_option(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        steps = [("heap arena 1", None), ("heap chunks --limit 3", "heap chunks --arena 1 --limit 3"),
                 ("heap bins", "heap bins --arena 1"), ("heap stats", "heap stats --arena 1"),
                 ("heap stats --json", "heap stats --arena 1 --json"),
                 ("heap check --json", "heap check --arena 1 --json"),
                 ("heap chunks --arena 0 --limit 2", "heap chunks --arena 0 --limit 2"),
                 ("heap arena none", None), ("heap chunks --limit 3", "heap chunks --limit 3")]
        results, out, err = run_gdb([exe, core], [["cmd", s[0]] for s in steps])
        self.assertNotIn("Traceback", out + err)
        self.assertEqual(results[0]["out"],
                         "default arena: 1 (used when --arena is absent; 'heap arena none' clears it)\n")
        for (line, cli_line), r in zip(steps, results):
            if cli_line is None:
                continue
            rc, cli_out, cli_err = run_cli(core, cli_line)
            self.assertEqual(rc, 0, cli_err)
            self.assertTrue(r["ok"], r.get("error"))
            self.assertEqual(r["out"], cli_out, line)
        self.assertNotEqual(run_cli(core, "heap stats --arena 1")[1], run_cli(core, "heap stats")[1])
        self.assertEqual(json.loads(run_cli(core, "heap stats --arena 1 --json")[1])["arenas"][0]["index"], 1)
        rc, _, cli_err = run_cli(core, "heap stats --arena 7")
        self.assertEqual((rc, cli_err), (2, "heapscope: no arena 7 (the heap has 2 arenas: 0..1)\n"))


class MallocParametersTest(unittest.TestCase):
    """`heap mp` against gdb's own `p mp_` (libc6-dbg), and the CLI's bytes."""

    FIELDS = ("trim_threshold", "top_pad", "mmap_threshold", "n_mmaps_max", "n_mmaps", "mmapped_mem",
              "tcache_bins", "tcache_count", "arena_test", "arena_max")
    # malloc's statics outside mp_: heap mp's name -> glibc's variable.
    STATICS = (("max_fast", "global_max_fast"), ("perturb_byte", "perturb_byte"))

    def test_mp_equals_gdb_print(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        steps = [["cmd", "heap mp --json"], ["cmd", "heap mp"], ["py", "int(gdb.parse_and_eval('&mp_'))"]]
        steps += [["py", "int(gdb.parse_and_eval('mp_.%s'))" % f] for f in self.FIELDS]
        steps += [["py", "int(gdb.parse_and_eval('%s'))" % v] for _, v in self.STATICS]
        results, out, err = run_gdb([exe, core], steps)
        if not results[2]["ok"]:
            self.skipTest("gdb has no type for mp_ (no libc debug info)")
        doc = json.loads(results[0]["out"])
        self.assertEqual(int(doc["address"], 16), int(results[2]["out"]))
        for f, r in zip(self.FIELDS + tuple(n for n, _ in self.STATICS), results[3:]):
            self.assertTrue(r["ok"], r)
            self.assertEqual(doc[f], int(r["out"]), f)
        self.assertEqual(doc["n_mmaps"], 1)  # sink[401], the 1 MiB chunk
        self.assertEqual(results[1]["out"], run_cli(core, "heap mp")[1])
        self.assertEqual(results[0]["out"], run_cli(core, "heap mp --json")[1])


class ChunkDumpTest(unittest.TestCase):
    """`heap chunk ADDR --dump [N]`: the chunk's data bytes, as gdb reads
    them, in hex and ASCII; the CLI's bytes."""

    def test_dump_equals_gdb_memory(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        read = "bytes(gdb.selected_inferior().read_memory(int(gdb.parse_and_eval('(unsigned long)sink[1]')), 64)).hex()"
        lines = ["heap chunk sink[1] --dump --json", "heap chunk sink[1] --dump 8 --json",
                 "heap chunk sink[1] --dump", "heap chunk sink[1] --dump 20", "heap chunk --dump 0x10 sink[1]"]
        results, out, err = run_gdb([exe, core], chunk_address_steps() + [["py", read]] +
                                    [["cmd", l] for l in lines])
        self.assertNotIn("Traceback", out + err)
        data = int(results[0]["out"])
        memory = eval(results[1]["out"])
        whole, eight = json.loads(results[2]["out"]), json.loads(results[3]["out"])
        self.assertEqual(len(whole["dump"]), 2 * (whole["size"] - (data - int(whole["address"], 16))))
        self.assertTrue(memory.startswith(whole["dump"][:128]) or whole["dump"].startswith(memory))
        self.assertEqual(eight["dump"], memory[:16])
        text = results[5]["out"].splitlines()
        self.assertEqual(text[-3], "  data, 20 bytes:")
        self.assertTrue(text[-2].startswith("    %#x  %s " % (data, " ".join(memory[i:i + 2] for i in range(0, 32, 2)))),
                        text[-2])
        self.assertTrue(text[-1].startswith("    %#x  " % (data + 16)), text[-1])
        for line, r in zip(lines, results[2:]):
            cli_line = line.replace("sink[1]", "%#x" % data)
            self.assertEqual(r["out"], run_cli(core, cli_line)[1], line)


class LiveTest(Compare, unittest.TestCase):
    """gdb on a live process stopped at a breakpoint, natively and through
    gdbserver. The reference is the CLI on a gcore of that stop; when the
    CLI cannot read gdb's gcore, the kernel's core of the same heap (the
    program aborts right after the breakpoint, touching no heap memory)."""

    def live_steps(self, lines, gcore):
        return ([["cmd", l] for l in lines] +
                [["py", "__import__('heapscope.session').session.current_kind()"],
                 ["cmd", "gcore " + gcore],
                 ["cmd", "continue"],    # to the SIGABRT
                 ["cmd", "continue"]])   # the kernel dumps core

    def reference_core(self, gcore, workdir):
        rc, _, err = run_cli(gcore, "heap stats")
        if rc == 0 or "no glibc" not in err:
            return gcore
        sys.stderr.write("\n  note: the CLI cannot read gdb's gcore (%s); comparing with "
                         "the kernel's core of the same stop\n" % err.strip())
        cores = [f for f in os.listdir(workdir) if f == "core" or f.startswith("core.")]
        self.assertTrue(cores, "no kernel core in %s" % workdir)
        return os.path.join(workdir, cores[0])

    def test_native(self):
        require_frontend(self)
        exe = scenario()
        lines = live_command_lines()
        work = tmpdir()
        gcore = os.path.join(work, "live.gcore")
        results, out, err = run_gdb(
            [exe], self.live_steps(lines, gcore),
            before=["set cwd " + work, "break heapscope_stop", "run abort"],
            ulimit_core=True)
        self.assertNotIn("Traceback", out + err)
        self.assertIsNotNone(results, err[-2000:])
        self.assertTrue(os.path.exists(gcore), err[-2000:])
        kind = [r for r in results if r["kind"] == "py"][-1]["out"]
        self.assertEqual(kind, repr("live"), "a native process must be read through /proc")
        self.assert_same_as_cli(self.reference_core(gcore, work), lines, results)

    def test_gdbserver(self):
        require_frontend(self)
        if GDBSERVER is None:
            self.skipTest("gdbserver not installed")
        exe = scenario()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        work = tmpdir()
        server = subprocess.Popen(
            ["bash", "-c", 'ulimit -c unlimited; exec "$0" "$@"', GDBSERVER, "--once",
             "127.0.0.1:%d" % port, exe, "abort"],
            cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            lines = live_command_lines()
            gcore = os.path.join(work, "remote.gcore")
            time.sleep(0.5)
            results, out, err = run_gdb(
                [exe], self.live_steps(lines, gcore),
                before=["set sysroot /", "target remote 127.0.0.1:%d" % port,
                        "break heapscope_stop", "continue"])
            self.assertNotIn("Traceback", out + err)
            self.assertIsNotNone(results, err[-2000:])
            kind = [r for r in results if r["kind"] == "py"][-1]["out"]
            self.assertEqual(kind, repr("callback"), "gdbserver must use gdb's reads")
            self.assertTrue(os.path.exists(gcore), err[-2000:])
            server.wait(timeout=60)
            self.assert_same_as_cli(self.reference_core(gcore, work), lines, results)
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGKILL)
                server.wait(timeout=30)

    def test_session_reused_per_stop(self):
        require_frontend(self)
        exe = scenario()
        ident = "id(__import__('heapscope.session').session.cached())"
        results, out, err = run_gdb([exe], [
            ["cmd", "heap nosuch"], ["py", ident],
            ["cmd", "heap nosuch"], ["py", ident],
            ["cmd", "stepi"], ["py", "__import__('heapscope.session').session.cached() is None"],
        ], before=["break heapscope_stop", "run"])
        self.assertIsNotNone(results, err[-2000:])
        self.assertEqual(results[1]["out"], results[3]["out"], "session not reused on one stop")
        self.assertNotEqual(results[1]["out"], repr(id(None)))
        self.assertEqual(results[5]["out"], "True", "session kept after the inferior ran")


class PrinterTest(unittest.TestCase):
    """Pretty-printers (formatters/gdb) agree with the heap model."""

    def test_chunk_arena_tcache_printers(self):
        require_frontend(self)
        exe = scenario()
        core = make_core(exe, ["abort"])
        pick = ("[c['address'] for c in __import__('json').loads(gdb.execute("
                "'heap chunks --state %s --limit 1 --json', to_string=True))['chunks']]")
        res, out, err = run_gdb([exe, core], [["py", pick % "tcache"], ["py", pick % "fast"]])
        self.assertTrue(res and res[0]["ok"] and res[1]["ok"], (res, err[-1000:]))
        addrs = [eval(res[0]["out"])[0], eval(res[1]["out"])[0]]
        steps = []
        for a in addrs:
            steps += [["cmd", "print *(mchunkptr)%s" % a], ["cmd", "heap chunk %s --json" % a]]
        steps += [["cmd", "print main_arena"], ["cmd", "heap arenas --json"],
                  ["cmd", "print *tcache"], ["cmd", "heap bins tcache --json"],
                  ["py", "int(gdb.parse_and_eval('(unsigned long)tcache'))"]]
        res, out, err = run_gdb([exe, core], steps)
        self.assertNotIn("Traceback", out + err)
        for i, a in enumerate(addrs):
            text, model = res[2 * i]["out"], json.loads(res[2 * i + 1]["out"])
            self.assertIn("malloc_chunk %s: size %#x (%d)" % (a, model["size"], model["size"]), text)
            self.assertIn("state %s" % model["state"], text)
            self.assertIn("next %s" % model["fd"], text)  # safe-linking decoded
            self.assertIn("PREV_INUSE" if model["flags"]["prev_inuse"] else "flags none", text)
        arena_text, arenas = res[4]["out"], json.loads(res[5]["out"])["arenas"]
        self.assertIn("system_mem %d" % arenas[0]["system_bytes"], arena_text)
        tcache_text, lists = res[6]["out"], json.loads(res[7]["out"])["lists"]
        tcache_addr = int(res[8]["out"])
        main_tid = [l["tid"] for l in lists]
        mine = [l for l in lists if l["kind"] == "tcache" and l["tid"] == min(main_tid)]
        self.assertIn("tcache_perthread_struct %#x: %d chunks in %d bins" % (
            tcache_addr, sum(l["count"] for l in mine), len(mine)), tcache_text)


class ErrorTest(unittest.TestCase):
    """Each user error is one clear line; no traceback, gdb survives."""

    def one_line(self, gdb_args, command, before=()):
        results, out, err = run_gdb(gdb_args, [["cmd", command], ["cmd", "echo alive\\n"]],
                                    before=before)
        self.assertNotIn("Traceback", out + err)
        self.assertNotIn("Python Exception", out + err)
        self.assertIsNotNone(results)
        self.assertFalse(results[0]["ok"], "%s should fail" % command)
        self.assertNotIn("\n", results[0]["error"])
        self.assertTrue(results[0]["error"].startswith("heapscope: "), results[0]["error"])
        self.assertEqual(results[1]["out"], "alive\n")
        return results[0]["error"]

    def test_no_program(self):
        require_frontend(self)
        self.assertEqual(self.one_line([], "heap stats"), NO_TARGET)
        self.assertEqual(self.one_line([scenario()], "heap stats"), NO_TARGET)

    def test_no_program_plain_output(self):
        # Not through gdb.execute: what a user sees on the terminal.
        require_frontend(self)
        p = subprocess.run([GDB, "-batch", "-nx", "-ex", "source " + LOADER, "-ex", "heap stats",
                            "-ex", "echo alive\\n"], capture_output=True, text=True, timeout=120,
                           env=lib.debugger_env())
        self.assertEqual(p.stderr, NO_TARGET + "\n")
        self.assertRegex(p.stdout, LOADED)
        self.assertEqual(LOADED.sub("", p.stdout), "alive\n")

    def test_help_without_program(self):
        require_frontend(self)
        results, out, err = run_gdb([], [["cmd", "heap help"], ["cmd", "help heap"],
                                         ["cmd", "mems help"]])
        self.assertTrue(results[0]["ok"], results[0].get("error"))
        self.assertIn("Usage: heap SUBCOMMAND", results[0]["out"])
        for c in table():
            if c["group"] == "heap":
                self.assertIn("\n  %s " % c["name"], results[0]["out"])
                self.assertIn("heap %s -- %s" % (c["name"], c["summary"]), results[1]["out"])

    def test_subcommand_help_matches_table(self):
        require_frontend(self)
        specs = table()
        if not specs:
            self.skipTest("the command table is empty")
        steps = [["cmd", "help %s %s" % (c["group"], c["name"])] for c in specs]
        steps += [["cmd", "%s %s --help" % (c["group"], c["name"])] for c in specs]
        results, out, err = run_gdb([], steps)
        n = len(specs)
        for i, c in enumerate(specs):
            self.assertEqual(results[i]["out"], c["help"].rstrip("\n") + "\n")
            self.assertEqual(results[n + i]["out"], c["help"])

    def test_completion(self):
        require_frontend(self)
        specs = [c for c in table() if c["options"]]
        if not specs:
            self.skipTest("no command with options in the table")
        c = specs[0]
        opt = c["options"][0]["name"]
        results, out, err = run_gdb([], [["cmd", "complete %s %s %s" % (c["group"], c["name"],
                                                                      opt[:3])]])
        self.assertIn("%s %s %s" % (c["group"], c["name"], opt), results[0]["out"])

    def test_completion_of_values(self):
        """Option values and positionals complete from the table's choices."""
        require_frontend(self)
        # Typed as -ex lines: gdb.execute would drop the trailing space that
        # asks for the next word.
        lines = ["complete heap chunks --state t", "complete heap chunks --limit 3 --state ",
                 "complete heap bins ", "complete heap bins fast --l", "complete heap chunks --state=sm"]
        cmd = [GDB, "-batch", "-nx", "-ex", "source " + LOADER]
        for l in lines:
            cmd += ["-ex", l, "-ex", "echo --\\n"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=lib.debugger_env())
        self.assertEqual(p.stderr, "")
        answers = [a.strip("\n").splitlines() for a in p.stdout.split("--\n")[:len(lines)]]
        answers[0] = [l for l in answers[0] if l.startswith("heap ")]  # after the loader's line
        self.assertEqual(answers[0], ["heap chunks --state tcache", "heap chunks --state top"])
        self.assertEqual(sorted(l.split()[-1] for l in answers[1]),
                         sorted(["in_use", "tcache", "fast", "unsorted", "small", "large", "top",
                                 "mmapped", "metadata", "free", "cached"]))
        self.assertEqual(answers[2], ["heap bins %s" % k for k in ("fast", "large", "small", "tcache", "unsorted")])
        self.assertEqual(answers[3], ["heap bins fast --limit"])
        self.assertEqual(answers[4], ["heap chunks --state=small"])

    def test_loader_sourced_from_a_python_script(self):
        """The runner is a Python script gdb runs; it sources the loader
        itself (its __file__ is the runner's, not the loader's)."""
        require_frontend(self)
        results, out, err = run_gdb([], [["cmd", "source " + LOADER], ["cmd", "heap help"]], load=False)
        self.assertIsNotNone(results, err[-2000:])
        self.assertTrue(results[0]["ok"], results[0].get("error"))
        self.assertTrue(results[1]["ok"], results[1].get("error"))
        self.assertIn("Usage: heap SUBCOMMAND", results[1]["out"])

    def test_process_that_died_while_stopped(self):
        """Killed while gdb holds it stopped: the process is a zombie, and
        that is what heap stats says (not what a fallback reader makes of it)."""
        require_frontend(self)
        # SIGKILL is asynchronous: wait until the kernel shows the zombie.
        kill = ("python import os, time; pid = gdb.selected_inferior().pid; os.kill(pid, 9); "
                "[time.sleep(0.05) for _ in range(100) "
                "if 'State:\\tZ' not in open('/proc/%d/status' % pid).read()]")
        results, out, err = run_gdb(
            [scenario()], [["py", "gdb.selected_inferior().pid"], ["cmd", kill], ["cmd", "heap stats"]],
            before=["break heapscope_stop", "run"])
        self.assertIsNotNone(results, err[-2000:])
        self.assertTrue(results[1]["ok"], results[1].get("error"))
        pid = int(results[0]["out"])
        self.assertFalse(results[2]["ok"], results[2].get("out"))
        self.assertEqual(results[2]["error"],
                         "heapscope: pid %d: is a zombie (it has exited; its memory is gone)" % pid)

    def test_no_glibc_heap(self):
        """A process that never called malloc, and a static binary: the core's
        error line in gdb equals the CLI's (whatever it is)."""
        require_frontend(self)
        for static in (False, True):
            exe = scenario(static=static)
            if exe is None:
                continue
            with self.subTest(static=static):
                core = make_core(exe, ["nomalloc", "abort"])
                results, out, err = run_gdb([exe, core], [["cmd", "heap stats"]])
                self.assertNotIn("Traceback", out + err)
                rc, cli_out, cli_err = run_cli(core, "heap stats")
                if rc == 0:
                    self.assertEqual(results[0].get("out"), cli_out)
                else:
                    self.assertEqual(results[0].get("error", "") + "\n", cli_err)
                sys.stderr.write("\n  no-heap (static=%s): %s\n" % (
                    static, results[0].get("error") or results[0].get("out", "").strip()[:200]))


if __name__ == "__main__":
    unittest.main()
