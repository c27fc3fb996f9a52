"""Helpers for the LLDB plugin's integration tests (lldb_*_test.py).

Runs the real `lldb -b` with the plugin loaded and cuts its stdout into the
output of each command, so a test can hold every command's bytes against the
CLI's. Standard library only, plus heapscope_testlib (shared with the gdb
and CLI tests) for scenarios, the oracle and the CLI.

Environment: HEAPSCOPE_LLDB (the lldb binary), HEAPSCOPE_LLDB_PLUGIN (the
plugin .so), HEAPSCOPE_LLDB_SCENARIO (tests/integration/programs/lldb_scenario
built by CMake; compiled here with cc when unset), HEAPSCOPE_BUILD_DIR.
"""

import os
import re
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import heapscope_testlib as testlib  # noqa: E402


def lldb_binary():
    """The lldb to test with: $HEAPSCOPE_LLDB, lldb-19 (Debian's name), lldb."""
    return testlib.lldb_path()


def plugin_path():
    return os.environ.get("HEAPSCOPE_LLDB_PLUGIN") or os.path.join(
        testlib.build_dir(), "lib", "heapscope", "libheapscope-lldb.so")


def plugin_problem():
    """None when the tests can run; else why not. No lldb at all is the only
    reason to skip; lldb without the plugin is a failure."""
    if not lldb_binary():
        return "skip", "no lldb installed (lldb-19 or lldb on PATH, or HEAPSCOPE_LLDB)"
    if not os.path.exists(plugin_path()):
        return "fail", ("lldb is installed but the plugin was not built: %s "
                        "(install liblldb-19-dev and rebuild)" % plugin_path())
    return None


_scenario = None


def scenario_program():
    """Path of the lldb_scenario program (CMake's, or compiled here)."""
    global _scenario
    if _scenario:
        return _scenario
    env = os.environ.get("HEAPSCOPE_LLDB_SCENARIO")
    if env and os.path.exists(env):
        _scenario = env
        return env
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise AssertionError("no C compiler to build lldb_scenario")
    out = os.path.join(testlib.scratch_dir("heapscope-lldb-prog-"), "lldb_scenario")
    subprocess.run([cc, "-O0", "-g", "-o", out, os.path.join(_HERE, "programs", "lldb_scenario.c")],
                   check=True)
    _scenario = out
    return out


def run_lldb(commands, exe=None, core=None, pid=None, cwd=None, load_plugin=True,
             core_dumps=False, env=None, timeout=600):
    """Runs `lldb -b --no-lldbinit` with `plugin load` (unless load_plugin is
    False) followed by commands; env adds variables (HEAPSCOPE_LLDB_TARGET=
    callback forces the plugin's SBProcess::ReadMemory backend). Returns (status, outputs, stdout, stderr):
    outputs[i] is what commands[i] printed on stdout (None when it did not
    run: batch mode stops at the first error, whose message is on stderr)."""
    lldb = lldb_binary()
    cmds = (["plugin load " + plugin_path()] if load_plugin else []) + list(commands)
    argv = [lldb, "-b", "--no-lldbinit"]
    for c in testlib.lldb_sanitizer_commands():
        argv += ["-O", c]
    for c in cmds:
        argv += ["-o", c]
    if pid is not None:
        argv += ["-p", str(pid)]
    if exe is not None:
        argv.append(exe)
    if core is not None:
        argv += ["-c", core]
    if core_dumps:
        argv = ["bash", "-c", 'ulimit -c unlimited 2>/dev/null; exec "$0" "$@"'] + argv
    full_env = testlib.debugger_env(env)
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=cwd, env=full_env,
                          stdin=subprocess.DEVNULL)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    return proc.returncode, split_outputs(out, cmds)[-len(commands):] if commands else [], out, err


def split_outputs(stdout, commands):
    """Cuts lldb's stdout at its echo lines "(lldb) CMD": the text after the
    echo of commands[i] up to the next echo is that command's output."""
    echoes = []
    pos = 0
    for c in commands:
        marker = "(lldb) " + c + "\n"
        at = stdout.find(marker, pos) if pos == 0 else stdout.find("\n" + marker, pos - 1)
        if at < 0:
            echoes.append(None)
            continue
        if pos != 0 or not stdout.startswith(marker, at):
            at += 1
        start = at + len(marker)
        echoes.append((at, start))
        pos = start
    outputs = []
    for i, e in enumerate(echoes):
        if e is None:
            outputs.append(None)
            continue
        nxt = next((x[0] for x in echoes[i + 1:] if x is not None), len(stdout))
        outputs.append(stdout[e[1]:nxt])
    return outputs


def lldb_error_line(stderr):
    """The one `error: ...` line lldb printed, without the prefix; None if
    there is none; AssertionError when there are several lines of error."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    if not errors:
        return None
    if len(errors) != 1:
        raise AssertionError("more than one error line: %r" % lines)
    return errors[0][len("error: "):]


def cli(args):
    """The CLI's (status, stdout, stderr)."""
    return testlib.run_cli(args)


def parse_group_help(text):
    """Subcommand names from group_help() text ("Subcommands:" block)."""
    names = []
    inside = False
    for line in text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = re.match(r"  (\S+)\s", line + " ")
            if m:
                names.append(m.group(1))
    return names


def required_positionals(usage):
    """Upper-case words of a usage line outside brackets: the arguments a
    command must be given (ADDR, VADDR, ...)."""
    depth = 0
    words = []
    for tok in re.findall(r"\[|\]|[^\s\[\]]+", usage):
        if tok == "[":
            depth += 1
        elif tok == "]":
            depth -= 1
        elif depth == 0 and re.fullmatch(r"[A-Z][A-Z_]*\.*", tok):
            words.append(tok)
    return words
