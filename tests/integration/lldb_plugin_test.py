#!/usr/bin/env python3
"""The LLDB plugin against the CLI and glibc, in the real lldb.

Every `heap`/`mems` command of the core's table runs in `lldb -b` (with the
plugin loaded) and through the CLI, in text and --json, and the bytes must be
equal: on a core file; on a live process stopped at a breakpoint (the CLI
then reads the core the same process dumps when it goes on); on a process
lldb attached to (the CLI then reads the same, still waiting process). `heap stats --json` must
agree with glibc's own malloc_info/mallinfo2, printed by the program just
before the stop. Bad arguments and missing targets give one error line and
never crash lldb. Skipped only when no lldb is installed.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lldb_support as ls  # noqa: E402
from lldb_support import testlib  # noqa: E402


def setUpModule():
    problem = ls.plugin_problem()
    if problem and problem[0] == "skip":
        raise unittest.SkipTest(problem[1])
    if problem:
        raise AssertionError(problem[1])


def find_core(directory):
    cores = [p for p in glob.glob(os.path.join(directory, "core*")) if os.path.isfile(p)]
    return max(cores, key=os.path.getmtime) if cores else None


def cli_usage(core, group, name):
    status, out, err = ls.cli([core, group, name, "--help"])
    if status != 0:
        raise AssertionError("%s %s --help: %s" % (group, name, err))
    for line in out.splitlines():
        if line.startswith("Usage: "):
            return line[len("Usage: "):]
    raise AssertionError("no Usage line in %s %s --help" % (group, name))


def command_lines(core):
    """Every command of the table as a command line, text and --json, with
    its required arguments filled in from the heap itself where we can."""
    lines = []
    for group in ("heap", "mems"):
        status, out, err = ls.cli([core, group, "help"])
        if status != 0:
            raise AssertionError("%s help failed: %s" % (group, err))
        lines.append("%s help" % group)
        for name in ls.parse_group_help(out):
            args = []
            for word in ls.required_positionals(cli_usage(core, group, name)):
                args.append(sample_argument(core, word))
            base = " ".join([group, name] + args)
            lines += [base, base + " --json", base + " --help"]
    return lines


_samples = {}


def sample_argument(core, word):
    """A value for a required argument: an address from the heap for ADDR
    (the first in-use chunk `heap chunks --json` lists), else 1."""
    key = (core, word)
    if key in _samples:
        return _samples[key]
    value = "1"
    if "ADDR" in word:
        status, out, _ = ls.cli([core, "heap", "chunks", "--json"])
        if status == 0:
            doc = json.loads(out)
            chunks = doc.get("chunks", []) if isinstance(doc, dict) else []
            for c in chunks:
                if isinstance(c, dict) and c.get("state") == "in_use" and "address" in c:
                    value = str(c["address"])
                    break
    _samples[key] = value
    return value


class CompareMixin:
    """Runs command lines in lldb and the CLI and compares them."""

    def compare(self, lldb_outputs, target_args, lines, lldb_errors=None):
        """lldb_outputs[i] is lldb's output of lines[i] (None: not run).
        lldb_errors maps a line to its lldb error line, for lines the CLI
        rejects."""
        compared = 0
        for line, got in zip(lines, lldb_outputs):
            status, out, err = ls.cli(target_args + line.split())
            with self.subTest(command=line):
                self.assertGreaterEqual(status, 0, "the CLI crashed on " + line)
                if status == 0:
                    self.assertIsNotNone(got, "lldb did not run '%s'" % line)
                    self.assertEqual(got, out, "lldb and the CLI differ on '%s'" % line)
                    if line.endswith("--json"):
                        json.loads(out)  # one valid JSON document
                else:
                    want = err.strip()
                    self.assertTrue(want.startswith("heapscope: "), want)
                    self.assertIn(line, lldb_errors or {}, "no lldb run for failing '%s'" % line)
                    self.assertEqual(lldb_errors[line], want[len("heapscope: "):])
                compared += 1
        return compared

    def lldb_errors_for(self, failing, **where):
        """Each failing line in its own lldb run (batch mode stops at an
        error): its one error line."""
        errors = {}
        for line in failing:
            status, outputs, out, err = ls.run_lldb([line], **where)
            self.assertGreaterEqual(status, 0, "lldb crashed on '%s': %s" % (line, err))
            self.assertNotEqual(status, 0, "lldb accepted '%s' that the CLI rejects" % line)
            errors[line] = ls.lldb_error_line(err)
        return errors


class PluginLoading(unittest.TestCase):
    def test_exports_only_plugin_initialize(self):
        nm = shutil.which("nm")
        if not nm:
            self.skipTest("nm not installed")
        out = subprocess.run([nm, "-D", "--defined-only", ls.plugin_path()],
                             capture_output=True, text=True, check=True).stdout
        names = [l.split()[-1] for l in out.splitlines() if l.strip()]
        self.assertEqual(names, ["_ZN4lldb16PluginInitializeENS_10SBDebuggerE"])

    def test_help_without_target(self):
        status, outputs, out, err = ls.run_lldb(["heap help", "mems help"])
        self.assertEqual(status, 0, err)
        self.assertTrue(outputs[0].startswith("Inspect the glibc malloc heap"), outputs[0])
        self.assertIn('Run "heap SUBCOMMAND --help" for its options.\n', outputs[0])
        self.assertIn('Run "mems SUBCOMMAND --help" for its options.\n', outputs[1])

    def test_lldb_help_shows_table(self):
        status, outputs, out, err = ls.run_lldb(["help heap"])
        self.assertEqual(status, 0, err)
        names = ls.parse_group_help(ls.run_lldb(["heap help"])[1][0])
        for name in names:
            self.assertIn(name, outputs[0])

    def test_tab_completes_subcommand_names_from_the_table(self):
        # HandleCompletion is what TAB runs. LLDB 19 completes a plugin's
        # subcommand names (its multiword commands); options and their values
        # have no hook there (docs/commands.md, LLDB).
        lines = ["heap sta", "heap ", "mems "]
        probe = ("script ci = lldb.debugger.GetCommandInterpreter(); complete = lambda line: "
                 "(lambda m: (ci.HandleCompletion(line, len(line), 0, -1, m), "
                 "sorted(m.GetStringAtIndex(i) for i in range(1, m.GetSize())))[1])(lldb.SBStringList()); "
                 "[print('completions %r: %s' % (l, ' '.join(complete(l)))) for l in " + repr(lines) + "]")
        status, outputs, out, err = ls.run_lldb(["heap help", "mems help", probe])
        self.assertEqual(status, 0, err)
        tables = {"heap": ls.parse_group_help(outputs[0]), "mems": ls.parse_group_help(outputs[1])}
        for line in lines:
            group, partial = line.split(" ")
            want = sorted(n for n in tables[group] + ["help"] if n.startswith(partial))
            with self.subTest(line=line):
                self.assertIn("completions %r: %s\n" % (line, " ".join(want)), outputs[2])

    def test_load_twice(self):
        status, outputs, out, err = ls.run_lldb(["plugin load " + ls.plugin_path(), "heap help"])
        self.assertGreaterEqual(status, 0, err)
        self.assertIn("Subcommands:", out)

    def first_command(self):
        names = ls.parse_group_help(ls.run_lldb(["heap help"])[1][0])
        if not names:
            self.fail("the core's command table has no heap commands")
        return "stats" if "stats" in names else names[0]

    def test_no_target(self):
        cmd = "heap " + self.first_command()
        status, outputs, out, err = ls.run_lldb([cmd])
        self.assertGreater(status, 0)
        self.assertIn("no target", ls.lldb_error_line(err))

    def test_no_process(self):
        cmd = "heap " + self.first_command()
        status, outputs, out, err = ls.run_lldb([cmd], exe=ls.scenario_program())
        self.assertGreater(status, 0)
        self.assertIn("no process", ls.lldb_error_line(err))

    def test_help_needs_no_process(self):
        cmd = "heap %s --help" % self.first_command()
        status, outputs, out, err = ls.run_lldb([cmd], exe=ls.scenario_program())
        self.assertEqual(status, 0, err)
        self.assertIn("Usage: heap ", outputs[0])


class OnCoreFile(unittest.TestCase, CompareMixin):
    @classmethod
    def setUpClass(cls):
        cls.exe = ls.scenario_program()
        cls.core, stdout = testlib.run_scenario_to_core(cls.exe)
        cls.oracle = testlib.parse_oracle(stdout)
        status, out, err = ls.cli([cls.core, "heap", "help"])
        if status != 0:
            raise AssertionError("the CLI cannot read the core: " + err)

    def test_every_command_matches_cli(self):
        lines = command_lines(self.core)
        ok = [l for l in lines if ls.cli([self.core] + l.split())[0] == 0]
        failing = [l for l in lines if l not in ok]
        status, outputs, out, err = ls.run_lldb(ok, exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        errors = self.lldb_errors_for(failing, exe=self.exe, core=self.core)
        results = dict(zip(ok, outputs))
        n = self.compare([results.get(l) for l in lines], [self.core], lines, errors)
        self.assertGreater(n, 3)

    def test_callback_backend_matches_cli(self):
        # The slow path (SBProcess::ReadMemory behind the core's page cache,
        # regions, modules and threads from the SB API) must print the same.
        lines = [l for l in command_lines(self.core)
                 if ls.cli([self.core] + l.split())[0] == 0]
        status, outputs, out, err = ls.run_lldb(lines, exe=self.exe, core=self.core,
                                                env={"HEAPSCOPE_LLDB_TARGET": "callback"})
        self.assertEqual(status, 0, err)
        self.assertGreater(self.compare(outputs, [self.core], lines), 3)

    def test_stats_agree_with_glibc(self):
        self.assertFalse(self.oracle["unstable"])
        status, outputs, out, err = ls.run_lldb(["heap stats --json"], exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        stats = json.loads(outputs[0])
        self.assertEqual(testlib.compare_stats_with_oracle(stats, self.oracle), [])

    def test_bad_arguments_one_line(self):
        for line in ["heap stats --no-such-option", "heap stats extra-argument",
                     "heap stats --json=1", "heap stats 'unterminated"]:
            with self.subTest(command=line):
                status, outputs, out, err = ls.run_lldb([line], exe=self.exe, core=self.core)
                self.assertGreater(status, 0, "accepted: " + line)
                msg = ls.lldb_error_line(err)
                self.assertIsNotNone(msg, err)
                self.assertNotIn("internal error", msg)

    def test_address_expressions(self):
        """ADDR arguments are LLDB expressions (`heap chunk keep[3]`), evaluated
        without running code: the same bytes as the CLI on the number; a bad
        expression is one error line."""
        lines = ["heap chunk keep[3] --json", "heap chunk keep[3]", "heap chunk (char *)keep[3] + 8",
                 "heap refs keep[3]"]
        status, outputs, out, err = ls.run_lldb(lines, exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        data = json.loads(outputs[0])["asked"]
        for got, cli_line in zip(outputs, ["heap chunk %s --json" % data, "heap chunk %s" % data,
                                           "heap chunk %s+8" % data, "heap refs %s" % data]):
            cstatus, cout, cerr = ls.cli([self.core] + cli_line.split())
            self.assertEqual(cstatus, 0, cerr)
            self.assertEqual(got, cout, cli_line)
        status, outputs, out, err = ls.run_lldb(["heap chunk no_such_symbol + 8"], exe=self.exe, core=self.core)
        self.assertGreater(status, 0)
        self.assertRegex(ls.lldb_error_line(err),
                         r"^cannot evaluate 'no_such_symbol \+ 8': .*no_such_symbol.*$")

    def test_default_arena(self):
        """`heap arena 0` leaves the mmapped chunk (in no arena) out of what
        the commands see, as --arena 0 does, until `heap arena none`."""
        lines = ["heap arena 0", "heap chunks --state mmapped", "heap stats", "heap arena none",
                 "heap chunks --state mmapped"]
        status, outputs, out, err = ls.run_lldb(lines, exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        want = [ls.cli([self.core] + l.split())[1] for l in
                ["heap chunks --state mmapped --arena 0", "heap stats --arena 0", "heap chunks --state mmapped"]]
        self.assertEqual([outputs[1], outputs[2], outputs[4]], want)
        self.assertNotEqual(want[0], want[2])

    def test_arena_pointer_keeps_its_address(self):
        """A malloc_state pointer (`av` in a backtrace) prints as its address,
        as any pointer does; the arena itself still gets the summary."""
        status, outputs, out, err = ls.run_lldb(["expression -- &main_arena", "expression -- main_arena"],
                                                exe=self.exe, core=self.core)
        if "main_arena" in err and "undeclared" in err:
            self.skipTest("no libc debug info (libc6-dbg): LLDB has no malloc_state type")
        self.assertEqual(status, 0, err)
        self.assertRegex(outputs[0], r"^\(malloc_state \*\) \$0 = 0x[0-9a-f]+\n$")
        self.assertRegex(outputs[1], r"^\(malloc_state\) \$1 = top=0x[0-9a-f]+ system_mem=")

    def test_repeated_command_same_output(self):
        status, outputs, out, err = ls.run_lldb(["heap stats", "heap stats"],
                                                exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        self.assertEqual(outputs[0], outputs[1])


class OnLiveProcess(unittest.TestCase, CompareMixin):
    """Launched by lldb and stopped at abort(): after the commands, lldb
    lets it go on and it dumps core; the CLI reads that core."""

    # Batch mode quits (killing the process) when it stops on a signal: let
    # SIGABRT through unseen so the process dumps core.
    LET_ABORT_THROUGH = ["process handle SIGABRT -s false -n false -p true", "process continue"]

    @classmethod
    def run_under_lldb(cls, middle):
        d = testlib.scratch_dir("heapscope-lldb-live-")
        oracle_file = os.path.join(d, "oracle.txt")
        commands = ["breakpoint set -n abort", "process launch -o %s" % oracle_file]
        commands += middle + cls.LET_ABORT_THROUGH
        status, outputs, out, err = ls.run_lldb(commands, exe=cls.exe, cwd=d, core_dumps=True)
        return d, oracle_file, dict(zip(commands, outputs)), out, err

    @classmethod
    def setUpClass(cls):
        cls.exe = ls.scenario_program()
        # A first run under lldb gives the command lines: lldb turns ASLR off,
        # so the addresses a command needs are the same in the second run.
        probe_dir, _, _, _, err = cls.run_under_lldb([])
        probe_core = find_core(probe_dir)
        if not probe_core:
            raise AssertionError("no core from the process run under lldb: " + err)
        # `heap pages` answers from /proc/PID/pagemap on a live process and
        # from the core's holes on a core: by design not the same bytes.
        cls.lines = [l for l in command_lines(probe_core)
                     if not l.startswith("heap pages") or "--help" in l]
        ok = [l for l in cls.lines if ls.cli([probe_core] + l.split())[0] == 0]
        cls.dir, cls.oracle_file, cls.outputs, cls.out, cls.err = cls.run_under_lldb(ok)
        cls.core = find_core(cls.dir)

    def test_stopped_at_abort(self):
        self.assertIn("stop reason = breakpoint", self.outputs.get(
            "process launch -o %s" % self.oracle_file) or "", self.out + self.err)

    def test_every_command_matches_cli_on_its_core(self):
        self.assertIsNotNone(self.core, "the process left no core in %s: %s" % (self.dir, self.err))
        ok = [l for l in self.lines if ls.cli([self.core] + l.split())[0] == 0]
        failing = [l for l in self.lines if l not in ok]
        errors = self.lldb_errors_for(failing, exe=self.exe, core=self.core)
        n = self.compare([self.outputs.get(l) for l in self.lines], [self.core], self.lines, errors)
        self.assertGreater(n, 3)

    def test_stats_agree_with_glibc(self):
        with open(self.oracle_file) as f:
            oracle = testlib.parse_oracle(f.read())
        self.assertFalse(oracle["unstable"])
        stats = json.loads(self.outputs["heap stats --json"])
        self.assertEqual(testlib.compare_stats_with_oracle(stats, oracle), [])


class OnAttachedProcess(unittest.TestCase):
    """lldb attaches to a process waiting on stdin (its heap cannot change);
    after lldb has detached, the CLI reads the same process (--pid)."""

    def test_attach_matches_cli(self):
        exe = ls.scenario_program()
        with testlib.LiveScenario(exe, ["0", "wait"]) as live:
            oracle = testlib.parse_oracle(live.stdout)
            commands = ["heap stats", "heap stats --json", "process detach"]
            status, outputs, out, err = ls.run_lldb(commands, pid=live.pid)
            self.assertEqual(status, 0, err)
            self.assertTrue(live.alive(), "lldb killed the process")
            stats = json.loads(outputs[1])
            self.assertEqual(testlib.compare_stats_with_oracle(stats, oracle), [])
            cstatus, cout, cerr = ls.cli(["--pid", str(live.pid), "heap", "stats"])
            self.assertEqual(cstatus, 0, cerr)
            self.assertEqual(outputs[0], cout)
            cstatus, cout, cerr = ls.cli(["--pid", str(live.pid), "heap", "stats", "--json"])
            self.assertEqual(cstatus, 0, cerr)
            self.assertEqual(outputs[1], cout)
            self.assertEqual(live.finish()[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
