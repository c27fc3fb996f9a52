"""The real-world corpus (CTest label realworld): programs from Debian
packages, none written here, stopped mid-work under gdb.

For each program: gdb runs it to a breakpoint on a function it calls mid-work
(with an ignore count where it calls it often), with its stderr redirected to
a file at launch. At that stop, with no thread inside glibc's malloc
(gdb_stop.py), gdb runs the heapscope commands on the live process, then
calls glibc's own malloc_info(0, stderr) and mallinfo2() (libc6-dbg gives gdb
their types), then gcore. Required on every program:
  - `heap stats --json` equals glibc's figures exactly, with and without
    debug info (--no-debuginfo);
  - `heap check` reports nothing, and no command says findings exist;
  - the CLI on the core, gdb on the live process and lldb on the core print
    the same bytes.
A program that is not installed is skipped, saying which Debian package has
it. Each test prints one line of figures (arenas, chunks, bytes, seconds).

Environment: as tests/integration (HEAPSCOPE_BUILD_DIR, HEAPSCOPE_CLI,
HEAPSCOPE_LLDB_PLUGIN, HEAPSCOPE_KEEP_TMP=1 keeps the scratch directories and
cores). Standard library only.
"""

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)
sys.path.insert(0, HERE)
import heapscope_testlib as lib  # noqa: E402
import lldb_support  # noqa: E402
import workloads  # noqa: E402

RUNNER = os.path.join(INTEGRATION, "gdb_runner.py")
STOP = os.path.join(HERE, "gdb_stop.py")
LOADER = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
# What every front-end must print identically; `heap check` must be clean.
COMMANDS = ["heap stats", "heap stats --json", "heap check", "heap check --json"]
MALLINFO2 = ("printf \"mallinfo2 " + " ".join("%s=%%lu" % f for f in lib.MALLINFO2_FIELDS)
             + "\\n\", " + ", ".join("$heapscope_mi.%s" % f for f in lib.MALLINFO2_FIELDS))


class Stop:
    """How to run one program to its stop: argv (argv[0] the executable, by
    absolute path), the function to break on and how many calls to let pass,
    files for its stdin and stdout, environment variables, gdb settings
    before `run`."""

    def __init__(self, argv, breakpoint, ignore=0, stdin=None, stdout=os.devnull, env=None,
                 settings=()):
        self.argv, self.breakpoint, self.ignore = argv, breakpoint, ignore
        self.stdin, self.stdout, self.env, self.settings = stdin, stdout, env or {}, list(settings)


def require(test, path, package):
    if not path or not os.path.exists(path):
        test.skipTest("%s is not installed (Debian package %s)" % (path, package))
    return path


def run_to_stop(stop, work, core):
    """gdb -batch: the program to its stop, the heapscope commands, glibc's
    oracle, gcore, kill. Returns (gdb_stop.py's report, the runner's results,
    gdb's output, the file that has the program's stderr)."""
    err_file = os.path.join(work, "stderr.txt")
    stop_out, spec, out = (os.path.join(work, n) for n in ("stop.json", "in.json", "out.json"))
    steps = [["cmd", c] for c in COMMANDS]
    steps += [["py", "__import__('heapscope.session').session.current_kind()"],
              ["py", "__import__('os').path.getsize('/proc/%d/fd/2' % gdb.selected_inferior().pid)"],
              # Only this thread runs the calls: the others stay where they stopped.
              ["cmd", "set scheduler-locking on"],
              ["cmd", "call (int) malloc_info(0, *(void **) &stderr)"],
              ["cmd", "set $heapscope_mi = mallinfo2()"],
              ["cmd", MALLINFO2],
              ["cmd", "gcore " + core]]
    with open(spec, "w") as f:
        json.dump({"steps": steps}, f)
    run = " ".join(shlex.quote(a) for a in stop.argv[1:])
    if stop.stdin:
        run += " < " + shlex.quote(stop.stdin)
    run += " > %s 2> %s" % (shlex.quote(stop.stdout), shlex.quote(err_file))
    argv = [lib.gdb_path(), "-batch", "-nx", "-iex", "set debuginfod enabled off",
            "-iex", "set confirm off", "-iex", "set pagination off"]
    for c in lib.gdb_sanitizer_commands():
        argv += ["-iex", c]
    before = ["source " + LOADER, "set cwd " + work]
    before += ["set environment %s=%s" % kv for kv in sorted(stop.env.items())]
    before += stop.settings + ["set breakpoint pending on", "break " + stop.breakpoint]
    if stop.ignore:
        before.append("ignore 1 %d" % stop.ignore)
    before += ["run " + run, "source " + STOP, "source " + RUNNER, "kill"]
    for c in before:
        argv += ["-ex", c]
    argv.append(stop.argv[0])
    env = lib.debugger_env(dict(HEAPSCOPE_GDB_RUNNER_IN=spec, HEAPSCOPE_GDB_RUNNER_OUT=out,
                                HEAPSCOPE_RW_STOP_OUT=stop_out))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=240, env=env,
                       stdin=subprocess.DEVNULL, cwd=work)
    report = results = None
    if os.path.exists(stop_out):
        with open(stop_out) as f:
            report = json.load(f)
    if os.path.exists(out):
        with open(out) as f:
            results = json.load(f)
    return report, results, p.stdout + p.stderr, err_file


def read_oracle(err_file, offset, mallinfo2_line):
    """glibc's malloc_info XML (what the program's stderr received after
    `offset`) and the mallinfo2 line, parsed by heapscope_testlib."""
    with open(err_file, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    begin, end = text.find("<malloc"), text.find("</malloc>")
    if begin < 0 or end < 0:
        raise AssertionError("no malloc_info XML on the program's stderr: %r" % text[:300])
    return {"malloc_info": lib.parse_malloc_info(text[begin:end + len("</malloc>")]),
            "mallinfo2": lib.parse_mallinfo2(mallinfo2_line)}


def chunk_count(stats):
    """Every chunk `heap stats --json` counted: all classes and the mmapped."""
    total = stats["total"]
    return (sum(v["chunks"] for v in total.values() if isinstance(v, dict) and "chunks" in v)
            + stats.get("mmapped", {}).get("chunks", 0))


class Corpus(unittest.TestCase):
    def setUp(self):
        if not lib.gdb_path():
            self.skipTest("gdb is not installed (Debian package gdb)")
        if not os.path.exists(LOADER):
            self.fail("the GDB front-end is not built: " + LOADER)
        self.work = lib.scratch_dir("heapscope-rw-")
        self.started = time.monotonic()

    def tearDown(self):
        if not os.environ.get("HEAPSCOPE_KEEP_TMP"):  # cores are large: not until exit
            shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------ the checks

    def check_program(self, name, stop):
        core = os.path.join(self.work, name + ".core")
        report, results, gdb_output, err_file = run_to_stop(stop, self.work, core)
        tail = gdb_output[-3000:]
        self.assertIsNotNone(report, "gdb did not reach the stop script: " + tail)
        self.assertTrue(report["stopped"], "%s never stopped at %s with no thread inside malloc: %s\n%s"
                        % (name, stop.breakpoint, report, tail))
        self.assertIsNotNone(results, "the gdb runner wrote no results: " + tail)
        gdb_said = {r["arg"]: r for r in results}
        for r in results[len(COMMANDS):]:  # the stop's own steps: oracle and gcore
            self.assertTrue(r["ok"], "gdb: %s: %s\n%s" % (r["arg"], r.get("error"), tail))
        self.assertEqual(results[len(COMMANDS)]["out"], repr("live"), "gdb must read the live process")
        self.assertEqual(gdb_said["call (int) malloc_info(0, *(void **) &stderr)"]["out"].split()[-1], "0")
        oracle = read_oracle(err_file, int(results[len(COMMANDS) + 1]["out"]), gdb_said[MALLINFO2]["out"])
        self.assertTrue(os.path.exists(core), "gcore wrote no core: " + tail)

        cli = {line: lib.run_cli([core] + line.split()) for line in COMMANDS}
        with self.subTest(check="gdb (live) prints the CLI's bytes"):
            for line in COMMANDS:
                status, out, err = cli[line]
                r = gdb_said[line]
                if status == 0:
                    self.assertTrue(r["ok"], "%s: gdb failed: %s" % (line, r.get("error")))
                    self.assertEqual(r["out"], out, line)
                else:
                    self.assertFalse(r["ok"], "%s: the CLI failed (%s), gdb did not" % (line, err))
                    self.assertEqual(r["error"] + "\n", err, line)
        with self.subTest(check="lldb (core) prints the CLI's bytes"):
            self.check_lldb(stop.argv[0], core, cli)
        stats = None
        with self.subTest(check="heap stats equals malloc_info and mallinfo2"):
            status, out, err = cli["heap stats --json"]
            self.assertEqual(status, 0, "heapscope CORE heap stats: " + err)
            stats = json.loads(out)
            self.assertEqual(lib.compare_stats_with_oracle(stats, oracle), [])
        with self.subTest(check="heap check reports nothing"):
            status, out, err = cli["heap check --json"]
            self.assertEqual(status, 0, "heapscope CORE heap check: " + err)
            self.assertEqual(json.loads(out).get("findings"), [], cli["heap check"][1][:3000])
            self.assertEqual(stats and stats.get("findings"), 0, cli["heap stats"][1][-1000:])
        with self.subTest(check="--no-debuginfo"):
            status, out, err = lib.run_cli(["--no-debuginfo", core, "heap", "stats", "--json"])
            self.assertEqual(status, 0, "heapscope --no-debuginfo CORE heap stats: " + err)
            self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), oracle), [])
            status, out, err = lib.run_cli(["--no-debuginfo", core, "heap", "check", "--json"])
            self.assertEqual(status, 0, "heapscope --no-debuginfo CORE heap check: " + err)
            self.assertEqual(json.loads(out).get("findings"), [], out[:3000])
        with self.subTest(check="a second thread changes no answer"):
            # The helpers (lists chased ahead, heap check beside the command,
            # chunk rows formatted on two threads, the leak marking's
            # threads) against one thread, on a heap nobody here wrote.
            for args in (["heap", "chunks", "--json"], ["heap", "leaks", "--json"], ["heap", "bins", "--json"],
                         ["heap", "stats"]):
                answers = []
                for threads in (None, "1", "2"):
                    env = dict(os.environ)
                    env.pop("HEAPSCOPE_THREADS", None)
                    if threads:
                        env["HEAPSCOPE_THREADS"] = threads
                    status, out, err = lib.run_cli([core] + args, env=env)
                    answers.append((status, hashlib.sha256(out.encode()).hexdigest(), len(out), err))
                self.assertEqual(answers[0][0], 0, " ".join(args) + ": " + answers[0][3])
                self.assertEqual(answers[1], answers[0], " ".join(args) + " with HEAPSCOPE_THREADS=1")
                self.assertEqual(answers[2], answers[0], " ".join(args) + " with HEAPSCOPE_THREADS=2")
        self.report(name, stats, report, oracle)

    def check_lldb(self, exe, core, cli):
        """lldb prints what the CLI printed; where the CLI failed, lldb fails
        with the same line (the first such command, alone: batch mode stops
        at an error)."""
        problem = lldb_support.plugin_problem()
        if problem and problem[0] == "skip":
            self.skipTest(problem[1])
        self.assertIsNone(problem, problem and problem[1])
        ok = [line for line in COMMANDS if cli[line][0] == 0]
        failing = [line for line in COMMANDS if cli[line][0] != 0]
        if ok:
            status, outputs, out, err = lldb_support.run_lldb(ok, exe=exe, core=core)
            self.assertEqual(status, 0, err[-2000:])
            for line, got in zip(ok, outputs):
                self.assertEqual(got, cli[line][1], line)
        if failing:
            line = failing[0]
            status, outputs, out, err = lldb_support.run_lldb([line], exe=exe, core=core)
            self.assertGreater(status, 0, "lldb accepted '%s' that the CLI rejects" % line)
            self.assertEqual("heapscope: %s\n" % lldb_support.lldb_error_line(err), cli[line][2], line)

    def report(self, name, stats, stop_report, oracle):
        """One line of figures, glibc's (and heapscope's chunk count when it
        answered)."""
        mi = oracle["malloc_info"]
        main = mi["heaps"][0]
        sys.stderr.write("\n  realworld %s: %d threads, %d arenas, %s chunks, system bytes %d, "
                         "mmapped %d chunks %d bytes, main arena bins in use %d fast + %d, "
                         "%.1f s%s\n"
                         % (name, stop_report["threads"], len(mi["heaps"]),
                            chunk_count(stats) if stats else "?",
                            sum(h["system_current"] for h in mi["heaps"]),
                            mi["total"]["mmap"]["count"], mi["total"]["mmap"]["size"],
                            len(main["fast_sizes"]), len(main["bin_sizes"]),
                            time.monotonic() - self.started,
                            ", %d continues to leave malloc" % stop_report["continues"]
                            if stop_report["continues"] else ""))

    # ------------------------------------------------------------ the corpus

    def python_stop(self, script):
        exe = require(self, "/usr/bin/python3", "python3")
        path = workloads.write(self.work, "work.py", script)
        return Stop([os.path.realpath(exe), path], "getppid",
                    env={"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"})

    def test_python_one_thread(self):
        self.check_program("python3", self.python_stop(workloads.PYTHON_ONE_THREAD))

    def test_python_threads(self):
        self.check_program("python3-threads", self.python_stop(workloads.PYTHON_THREADS))

    def test_python_thread_waves(self):
        self.check_program("python3-waves", self.python_stop(workloads.PYTHON_THREAD_WAVES))

    def test_perl(self):
        exe = require(self, "/usr/bin/perl", "perl")
        script = workloads.write(self.work, "work.pl", workloads.PERL)
        self.check_program("perl", Stop([exe, script], "getppid"))

    def test_sqlite3(self):
        exe = require(self, "/usr/bin/sqlite3", "sqlite3")
        sql = workloads.write(self.work, "work.sql", workloads.SQLITE)
        self.check_program("sqlite3", Stop([exe, ":memory:"], "system", stdin=sql))

    def git_stop(self, args, breakpoint, ignore, settings=()):
        exe = require(self, "/usr/bin/git", "git")
        repo = workloads.git_repository(self.work)
        env = {k: v for k, v in workloads.git_env(self.work).items()
               if k.startswith("GIT_") or k == "HOME"}
        return Stop([exe, "-C", repo] + args, breakpoint, ignore, env=env, settings=settings)

    def test_git_log(self):
        # About 5,600 objects inflated by `git log -p`: stop at the 1,201st.
        self.check_program("git-log", self.git_stop(["log", "-p"], "inflateInit_", 1200))

    def test_git_repack_threads(self):
        # Issue 22: repack runs pack-objects, whose two delta-search threads
        # start, compress and end; the stop is in the writing phase after
        # them, where the main thread deflates what they did not cache (86
        # objects: stop at the 44th). The exited threads' tcaches are free
        # chunks by then.
        self.check_program("git-repack", self.git_stop(
            ["-c", "pack.threads=2", "repack", "-a", "-d", "-f", "-q"],
            "deflateInit_ if $_thread == 1", 43,
            settings=["set follow-fork-mode child", "set detach-on-fork on"]))

    def test_cc1plus(self):
        gxx = shutil.which("g++")
        cc1plus = gxx and subprocess.run([gxx, "-print-prog-name=cc1plus"], capture_output=True,
                                         text=True).stdout.strip()
        exe = require(self, cc1plus, "g++")
        main = workloads.cxx_sources(self.work)
        # Files opened: a few before main.cc's includes, then part0.h ..
        # part39.h: the 31st open is in the middle of the parts.
        self.check_program("cc1plus", Stop([exe, "-quiet", "-O1", main, "-o",
                                            os.path.join(self.work, "main.s")], "open", 30))

    def test_nginx(self):
        exe = require(self, "/usr/sbin/nginx", "nginx-light")
        port = workloads.free_port()
        conf = workloads.nginx_config(self.work, port)
        load = workloads.HttpLoad(port).start()
        try:
            # 4 clients x 30 connections (4 requests each): stop at the 61st accept.
            self.check_program("nginx", Stop([exe, "-p", self.work, "-c", conf, "-e", "stderr"],
                                             "accept4", 60))
        finally:
            load.stop()

    def test_xz_two_threads(self):
        exe = require(self, "/usr/bin/xz", "xz-utils")
        data = workloads.compressible_data(self.work)
        out = os.path.join(self.work, "data.xz")
        # xz's main thread feeds lzma_code() 8 KiB at a time while two worker
        # threads compress 256 KiB blocks: stop at its 201st call.
        self.check_program("xz", Stop([exe, "-T2", "-3", "--block-size=262144", "-c", data],
                                      "lzma_code", 200, stdout=out))


if __name__ == "__main__":
    unittest.main(verbosity=2)
