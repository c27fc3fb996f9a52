"""Colour: the CLI's --color and NO_COLOR, gdb's `set style enabled`, lldb's
`use-color`. One scheme in the core: a front-end only says whether colour is
on, so at equal settings the three print the same bytes, and with colour off
(or --json) no escape code at all. Standard library only.
"""

import json
import os
import pty
import re
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402

ESC = "\x1b["
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The scheme's colours for what the tests look at (core/src/render/style.cc).
FAST = "\x1b[36mfast\x1b[0m"
FINDING_KIND = "\x1b[1;31mtcache-double-free\x1b[0m"

_cores = {}


def core(name, args=()):
    key = (name,) + tuple(args)
    if key not in _cores:
        try:
            path, _ = lib.run_scenario_to_core(lib.example_path(name), list(args))
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest("cannot produce core files here: %s" % e)
        _cores[key] = path
    return _cores[key]


def run_on_terminal(argv, env):
    """argv with a pseudo-terminal as stdout (stderr and stdin elsewhere) ->
    (status, what it wrote, with the terminal's \\r\\n made \\n)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed it
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    status = proc.wait(timeout=300)
    reader.join(timeout=60)
    os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def cli(*args, env=None):
    status, out, err = lib.run_cli(list(args), env=env)
    assert status in (0, 1), "heapscope %s: %s" % (" ".join(args), err)
    return out


def fast_chunk(core_path):
    return cli(core_path, "heap", "chunks", "--state", "fast", "--limit", "1", "--json").split('"address":"')[1][:14]


class CliColorTest(unittest.TestCase):
    def setUp(self):
        self.core = core("demo")

    def test_always_colours_a_free_chunk_and_never_does_not(self):
        coloured = cli("--color=always", self.core, "heap", "chunks", "--state", "fast", "--limit", "2")
        self.assertIn(FAST, coloured)
        self.assertIn("\x1b[34m0x", coloured)  # addresses
        plain = cli("--color", "never", self.core, "heap", "chunks", "--state", "fast", "--limit", "2")
        self.assertNotIn("\x1b", plain)
        # Colour only adds escapes: the text and its columns are the same.
        self.assertEqual(ANSI.sub("", coloured), plain)

    def test_every_text_command_is_the_plain_text_under_its_colours(self):
        for args in (["heap", "stats"], ["heap", "bins", "--limit", "3"], ["heap", "chunk", fast_chunk(self.core)],
                     ["heap", "check"], ["heap", "chunks", "--limit", "40"]):
            with self.subTest(args=args):
                coloured = cli("--color=always", self.core, *args)
                self.assertIn(ESC, coloured)
                self.assertEqual(ANSI.sub("", coloured), cli("--color=never", self.core, *args))

    def test_map_leaks_frag_refs_are_the_plain_text_under_their_colours(self):
        leaky = core("leaks_basic")
        doc = json.loads(cli(leaky, "heap", "leaks", "--json"))
        direct = next(c["data"] for c in doc["chunks"] if c["class"] == "direct")
        in_use = json.loads(cli(leaky, "heap", "chunks", "--state", "in_use", "--limit", "1", "--json"))
        reachable = in_use["chunks"][0]["data"]
        runs = [(self.core, ["heap", "map"], "\x1b[36mf"),            # a run of fast chunks in the strip
                (self.core, ["heap", "frag"], "\x1b[35mtcache\x1b[0m"),  # a free class in its state's colour
                (leaky, ["heap", "leaks"], "\x1b[1;31mdirect\x1b[0m"),    # leaks are findings
                (leaky, ["heap", "leaks", "--list"], "\x1b[1;31mdirect\x1b[0m"),
                (leaky, ["heap", "refs", direct], "\x1b[34m" + direct + "\x1b[0m"),
                (leaky, ["heap", "refs", reachable, "--path"], "\x1b[32min_use\x1b[0m")]
        for path, args, mark in runs:
            with self.subTest(args=args):
                coloured = cli("--color=always", path, *args)
                plain = cli("--color=never", path, *args)
                self.assertIn(mark, coloured)
                self.assertNotIn("\x1b", plain)
                # Colour only adds escapes: the same text, the same columns.
                self.assertEqual(ANSI.sub("", coloured), plain)

    def test_json_is_never_coloured(self):
        out = cli("--color=always", self.core, "heap", "chunks", "--limit", "3", "--json")
        self.assertNotIn("\x1b", out)
        json.loads(out)

    def test_auto_colours_a_terminal_unless_no_color(self):
        env = dict(os.environ)
        env.pop("NO_COLOR", None)
        argv = [lib.cli_path(), self.core, "heap", "chunks", "--state", "fast", "--limit", "1"]
        status, out = run_on_terminal(argv, env)
        self.assertEqual(status, 0)
        self.assertIn(FAST, out)
        env["NO_COLOR"] = "1"
        status, out = run_on_terminal(argv, env)
        self.assertEqual(status, 0)
        self.assertNotIn("\x1b", out)
        self.assertIn("fast", out)
        # A pipe is no terminal: no colour by default.
        self.assertNotIn("\x1b", cli(self.core, "heap", "chunks", "--state", "fast", "--limit", "1"))

    def test_bad_value_is_one_line(self):
        status, out, err = lib.run_cli(["--color=sometimes", self.core, "heap", "stats"])
        self.assertEqual(status, 2)
        self.assertEqual(err, "heapscope: --color takes auto, always or never\n")

    def test_findings_are_red(self):
        corrupt = core("corrupt_heap", ["tcache_double"])
        out = cli("--color=always", corrupt, "heap", "check")
        self.assertIn(FINDING_KIND, out)
        self.assertIn("\x1b[1;31mwarning:\x1b[0m", cli("--color=always", corrupt, "heap", "stats"))


def commands(core_path):
    return ["heap chunks --limit 30", "heap bins --limit 3", "heap stats", "heap chunk " + fast_chunk(core_path),
            "heap map", "heap frag"]


class GdbColorTest(unittest.TestCase):
    """gdb colours as it colours its own output: `style enabled` (gdb -batch
    turns it off) and a terminal on stdout."""

    def run_gdb(self, core_path, lines, before, terminal):
        import gdb_frontend_test as g
        if not g.GDB:
            self.skipTest("no gdb")
        d = lib.scratch_dir("heapscope-color-gdb-")
        spec, out = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        with open(spec, "w") as f:
            json.dump({"steps": [["cmd", l] for l in lines]}, f)
        cmd = [g.GDB, "-batch", "-nx", "-iex", "set debuginfod enabled off"]
        for c in lib.gdb_sanitizer_commands():
            cmd += ["-iex", c]
        cmd += ["-ex", "source " + g.LOADER]
        for b in before:
            cmd += ["-ex", b]
        cmd += ["-ex", "source " + g.RUNNER, lib.example_path("demo"), core_path]
        env = lib.debugger_env(dict(HEAPSCOPE_GDB_RUNNER_IN=spec, HEAPSCOPE_GDB_RUNNER_OUT=out, TERM="xterm"))
        if terminal:
            run_on_terminal(cmd, env)
        else:
            subprocess.run(cmd, capture_output=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
        with open(out) as f:
            results = json.load(f)
        for r in results:
            self.assertTrue(r["ok"], r.get("error"))
        return [r["out"] for r in results]

    def test_style_enabled_on_a_terminal_gives_the_clis_colours(self):
        c = core("demo")
        lines = commands(c)
        got = self.run_gdb(c, lines, ["set style enabled on"], terminal=True)
        for line, out in zip(lines, got):
            with self.subTest(command=line):
                self.assertIn(ESC, out)
                self.assertEqual(out, cli("--color=always", c, *line.split()))

    def test_batch_default_pipe_and_style_off_give_plain_text(self):
        c = core("demo")
        lines = commands(c)[:2]
        for before, terminal in (([], True), (["set style enabled off"], True),
                                 (["set style enabled on"], False)):
            got = self.run_gdb(c, lines, before, terminal)
            for line, out in zip(lines, got):
                with self.subTest(command=line, before=before, terminal=terminal):
                    self.assertEqual(out, cli("--color=never", c, *line.split()))


class LldbColorTest(unittest.TestCase):
    """lldb colours when `use-color` is on (lldb -b starts with it off)."""

    def test_use_color_true_gives_the_clis_colours_and_false_plain_text(self):
        import lldb_support as ls
        problem = ls.plugin_problem()
        if problem:
            self.skipTest(problem[1])
        c = core("demo")
        lines = commands(c)
        for setting, color in (("true", "always"), ("false", "never"), (None, "never")):
            pre = ["settings set use-color " + setting] if setting else []
            status, outputs, out, err = ls.run_lldb(pre + lines, exe=lib.example_path("demo"), core=c)
            self.assertEqual(status, 0, err)
            for line, got in zip(lines, outputs[len(pre):]):
                with self.subTest(command=line, use_color=setting):
                    expected = cli("--color=" + color, c, *line.split())
                    if color == "always":
                        self.assertIn(ESC, got)
                    self.assertEqual(got, expected)


if __name__ == "__main__":
    unittest.main()
