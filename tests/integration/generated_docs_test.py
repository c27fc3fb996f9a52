"""The man page and the bash and zsh completions the build generates from the
command table (packaging/docgen), held against what the CLI itself says: the
commands `heap help` and `mems help` list, the options each `COMMAND --help`
lists, and the options of `heapscope --help`. A command or option the table
gains must show up in all three without anyone editing them.

The completions run in the real shells: bash with COMP_WORDS/COMP_CWORD set
as readline sets them; zsh with its completion builtins (compadd,
_describe, _files) replaced by functions that print what they were given.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as testlib  # noqa: E402

SHARE = os.path.join(testlib.build_dir(), "share")
MAN_PAGE = os.path.join(SHARE, "man", "man1", "heapscope.1")
BASH = os.path.join(SHARE, "bash-completion", "completions", "heapscope")
ZSH = os.path.join(SHARE, "zsh", "vendor-completions", "_heapscope")

_interface = None


def option_names(help_text):
    """Option names in an "Options:" list ("  --name VALUE  help")."""
    return {m.group(1) for m in re.finditer(r"^  (--[a-z][a-z0-9-]*)", help_text, re.M)}


def option_choices(help_text):
    """{option: its values} for the options whose help ends with the list of
    values the table accepts, as `--help` prints it: "(in_use, tcache, fast)"."""
    found = re.finditer(r"^  (--[a-z][a-z0-9-]*) \S+ .*\(([a-z0-9_-]+(?:, [a-z0-9_-]+)+)\)$", help_text, re.M)
    return {m.group(1): set(m.group(2).split(", ")) for m in found}


def interface():
    """{"cli": options, "groups": {group: {command: options}}} from the CLI's help."""
    global _interface
    if _interface:
        return _interface
    core, _ = testlib.run_scenario_to_core(testlib.example_path("demo"))
    status, cli_help, err = testlib.run_cli(["--help"])
    assert status == 0, err
    cli = option_names(cli_help) | set(re.findall(r"(--[a-z][a-z0-9-]*) [A-Z]+", cli_help))
    groups, choices = {}, {}
    for group in ("heap", "mems"):
        status, out, err = testlib.run_cli([core, group, "help"])
        assert status == 0, err
        listed = out.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
        commands = [line.split()[0] for line in listed.splitlines() if line.strip()]
        assert commands, out
        groups[group] = {}
        for c in commands:
            status, out, err = testlib.run_cli([core, group, c, "--help"])
            assert status == 0, err
            options = out.split("Options:\n", 1)[1]
            groups[group][c] = option_names(options)
            for option, values in option_choices(options).items():
                choices[(group, c, option)] = values
    _interface = {"core": core, "cli": cli, "groups": groups, "choices": choices}
    return _interface


def shell_lines(argv, script):
    proc = subprocess.run(argv + [script], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("%s failed: %s" % (argv[0], proc.stderr[-2000:]))
    return proc.stdout


class ManPageTest(unittest.TestCase):
    def test_every_command_and_option(self):
        self.assertTrue(os.path.exists(MAN_PAGE), MAN_PAGE + " was not generated")
        man = shutil.which("man")
        if not man:
            self.skipTest("man (man-db) is not installed")
        proc = subprocess.run([man, "--warnings", "-l", MAN_PAGE], capture_output=True, text=True,
                              env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="", PAGER="cat"),
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.strip(), "", "groff warnings")
        page = proc.stdout
        for o in interface()["cli"]:
            self.assertRegex(page, r"\n\s+" + re.escape(o) + r"\b", "CLI option " + o)
        sections = re.split(r"\n   (?=\S)", page)  # .SS headings: three spaces
        for group, commands in interface()["groups"].items():
            for c, options in commands.items():
                section = next((s for s in sections if s.startswith("%s %s\n" % (group, c))), None)
                self.assertIsNotNone(section, "no section for '%s %s'" % (group, c))
                for o in options - {"--json"}:
                    self.assertIn(o, section, "'%s %s' option %s" % (group, c, o))


class CompletionCases:
    """Runs completions for word lists; subclasses say how in complete()."""

    def check_all(self):
        it = interface()
        core = it["core"]
        cases = [(["heapscope", "--"], it["cli"], {"--help", "--version"}),
                 (["heapscope", core, ""], set(it["groups"]), set())]
        for group, commands in it["groups"].items():
            cases.append((["heapscope", core, group, ""], set(commands), set()))
            cases.append((["heapscope", "--pid", "1", group, ""], set(commands), set()))
            for c, options in commands.items():
                # --help: every command answers it, though its own list omits it.
                cases.append((["heapscope", core, group, c, "--"], options, {"--help"}))
        for (group, c, option), values in it["choices"].items():
            cases.append((["heapscope", core, group, c, option, ""], values, set()))
        got = self.complete([words for words, _, _ in cases])
        for (words, want, extra), answer in zip(cases, got):
            self.assertTrue(want <= answer, "%r: missing %s" % (words, sorted(want - answer)))
            self.assertTrue(answer - want <= extra, "%r: unexpected %s" % (words, sorted(answer - want - extra)))


class BashCompletionTest(CompletionCases, unittest.TestCase):
    def complete(self, cases):
        self.assertTrue(os.path.exists(BASH), BASH + " was not generated")
        script = ["source %s" % BASH]
        for words in cases:
            quoted = " ".join("'%s'" % w for w in words)
            script.append("COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); _heapscope; echo \"${COMPREPLY[*]}\""
                          % (quoted, len(words) - 1))
        out = shell_lines(["bash", "-c"], "\n".join(script)).split("\n")
        return [set(line.split()) for line in out[:len(cases)]]

    def test_commands_and_options(self):
        self.check_all()

    def test_paths(self):
        sysroot, html = self.complete([["heapscope", "--sysroot", "/us"],
                                       ["heapscope", "core", "heap", "map", "--html", "/et"]])
        self.assertIn("/usr", sysroot)
        self.assertIn("/etc", html)


class ZshCompletionTest(CompletionCases, unittest.TestCase):
    def complete(self, cases):
        self.assertTrue(os.path.exists(ZSH), ZSH + " was not generated")
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        # compadd and _describe only work inside a completion widget: these
        # stand-ins print the words they would offer, one line per case.
        script = [
            "compadd() { [[ $1 == -- ]] && shift; print -r -- \"$*\" }",
            "_describe() { local -a items; items=(${(P)${@[-1]}}); print -r -- \"${(@)items%%:*}\" }",
            "_files() { print -r -- FILES }",
            "_pids() { print -r -- PIDS }",
            "words=(heapscope ''); CURRENT=2",
            "source %s" % ZSH,  # runs _heapscope once, as autoload does: one line
        ]
        for words in cases:
            quoted = " ".join("'%s'" % w for w in words)
            script.append("words=(%s); CURRENT=%d; _heapscope" % (quoted, len(words)))
        out = shell_lines(["zsh", "-f", "-c"], "\n".join(script)).split("\n")
        return [set(line.split()) for line in out[1:len(cases) + 1]]

    def test_commands_and_options(self):
        self.check_all()


if __name__ == "__main__":
    unittest.main()
