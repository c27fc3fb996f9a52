"""heapscope_testlib: shared helpers for the integration tests.

Python 3 standard library only (works with Debian's /usr/bin/python3 3.11).

What it gives a test driver:
  - where things are: cli_path(), example_path(name), build_dir()
  - run_scenario_to_core(exe, args) -> (core_path, stdout): run a scenario
    program with core dumps on, in a scratch directory, and find its core
  - the oracle the scenario printed: parse_oracle(stdout), parse_malloc_info(xml),
    parse_mallinfo2(line), parse_expectations(stdout)
  - compare_stats_with_oracle(stats_json, oracle) -> list of mismatch lines
  - run_cli(args) -> (status, stdout, stderr), run_cli_json(args)
  - run_gdb_batch(exe, core, commands), run_lldb_batch(exe, core, commands):
    a debugger in batch mode with the given commands, for gdb/lldb drivers
  - in a sanitizer build: debugger_env(), gdb_sanitizer_commands(),
    lldb_sanitizer_commands() to start a debugger that can load our
    instrumented module, preload_env(libs) for an LD_PRELOAD of our own
  - LiveScenario: a scenario_live process waiting at READY

Environment overrides: HEAPSCOPE_BUILD_DIR, HEAPSCOPE_CLI, HEAPSCOPE_EXAMPLES_DIR,
HEAPSCOPE_GDB, HEAPSCOPE_LLDB, HEAPSCOPE_KEEP_TMP=1 (keep scratch dirs).
Set by CMake in a sanitizer build: HEAPSCOPE_SANITIZER_RUNTIME.
"""

import atexit
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCE_DIR = os.path.dirname(os.path.dirname(_HERE))

# ---------------------------------------------------------------- locations


def build_dir():
    return os.environ.get("HEAPSCOPE_BUILD_DIR") or os.path.join(_SOURCE_DIR, "build")


def cli_path():
    return os.environ.get("HEAPSCOPE_CLI") or os.path.join(build_dir(), "bin", "heapscope")


def example_path(name):
    d = os.environ.get("HEAPSCOPE_EXAMPLES_DIR") or os.path.join(build_dir(), "examples")
    return os.path.join(d, name)


def gdb_path():
    return os.environ.get("HEAPSCOPE_GDB") or shutil.which("gdb")


def lldb_path():
    return (os.environ.get("HEAPSCOPE_LLDB") or shutil.which("lldb-19")
            or shutil.which("lldb"))


# ---------------------------------------------------------------- sanitizer builds
# scripts/sanitize.sh builds the gdb module and the LLDB plugin with ASan and
# UBSan too. gdb and lldb are not ASan programs, and ASan must be the first
# library in a process, so a debugger that will load them starts with the
# runtimes preloaded. CMake sets HEAPSCOPE_SANITIZER_RUNTIME (ASan's and
# UBSan's shared runtimes, colon-separated) only in such a build; elsewhere
# all of this is a no-op.


def sanitizer_runtime():
    return os.environ.get("HEAPSCOPE_SANITIZER_RUNTIME", "")


def preload_env(libs=(), env=None):
    """os.environ plus env, with LD_PRELOAD=libs; in a sanitizer build the
    runtimes first (ASan refuses to start behind another preloaded library)."""
    full = dict(os.environ, **(env or {}))
    preload = [sanitizer_runtime()] + list(libs)
    full["LD_PRELOAD"] = ":".join(p for p in preload if p)
    if not full["LD_PRELOAD"]:
        del full["LD_PRELOAD"]
    return full


def debugger_env(env=None):
    """The environment to start gdb or lldb in: os.environ plus env; in a
    sanitizer build, the runtimes preloaded and leak detection off for the
    debugger (gdb and lldb do not free everything at exit; our CLI keeps it)."""
    full = dict(os.environ, **(env or {}))
    if not sanitizer_runtime():
        return full
    full = preload_env(env=full)
    # disable_coredump=0: ASan otherwise sets the debugger's RLIMIT_CORE to
    # 0, and the programs it launches inherit it and dump no core.
    full["ASAN_OPTIONS"] = ":".join(
        o for o in (full.get("ASAN_OPTIONS"), "detect_leaks=0", "disable_coredump=0") if o)
    return full


def gdb_sanitizer_commands():
    """gdb commands (-iex) for debugger_env(): the programs gdb runs must not
    inherit the preloaded runtime (ASan's malloc would replace the heap under
    test)."""
    return ["unset environment LD_PRELOAD"] if sanitizer_runtime() else []


def lldb_sanitizer_commands():
    """The same for lldb (-O, before the target exists)."""
    return ["settings set target.unset-env-vars LD_PRELOAD"] if sanitizer_runtime() else []


_scratch_dirs = []


def _cleanup_scratch():
    if os.environ.get("HEAPSCOPE_KEEP_TMP"):
        return
    for d in _scratch_dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_scratch)


def scratch_dir(prefix="heapscope-it-"):
    """A fresh directory removed at interpreter exit (unless HEAPSCOPE_KEEP_TMP)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _scratch_dirs.append(d)
    return d


# ---------------------------------------------------------------- cores


class CoreUnavailable(Exception):
    """Core files cannot be produced on this machine (a reason to skip)."""


def core_pattern():
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            return f.read().strip()
    except OSError:
        return "core"


def _find_core(workdir, pid):
    pattern = core_pattern()
    if pattern.startswith("|"):
        raise CoreUnavailable("core_pattern pipes cores to a handler: " + pattern)
    # Where the kernel writes it: the pattern's directory if absolute, else cwd.
    base = os.path.dirname(pattern) if pattern.startswith("/") else workdir
    candidates = []
    for path in glob.glob(os.path.join(base, "core*")):
        name = os.path.basename(path)
        if os.path.isfile(path) and (name == "core" or str(pid) in name or name.startswith("core.")):
            candidates.append(path)
    if not candidates:
        return None
    # Prefer the one naming our pid, then the newest.
    candidates.sort(key=lambda p: (str(pid) in os.path.basename(p), os.path.getmtime(p)))
    return candidates[-1]


def run_scenario_to_core(exe, args=(), workdir=None, timeout=120):
    """Runs exe with `ulimit -c unlimited` in workdir (a fresh scratch dir by
    default) and returns (core_path, stdout). Raises CoreUnavailable when the
    program aborted but no core appeared (cores disabled here), and
    AssertionError when the program did not die of SIGABRT."""
    if workdir is None:
        workdir = scratch_dir()
    if not os.path.exists(exe):
        raise AssertionError("scenario program not built: " + exe)
    proc = subprocess.Popen(
        ["bash", "-c", 'ulimit -c unlimited 2>/dev/null; exec "$0" "$@"', exe] + list(args),
        cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=timeout)
    out = out.decode("utf-8", "replace")
    if proc.returncode != -signal.SIGABRT:
        raise AssertionError("%s exited with status %s, expected SIGABRT; stderr: %s"
                             % (exe, proc.returncode, err.decode("utf-8", "replace")[-500:]))
    core = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the kernel may still be writing
        core = _find_core(workdir, proc.pid)
        if core:
            break
        time.sleep(0.05)
    if core is None:
        soft = subprocess.run(["bash", "-c", "ulimit -c unlimited 2>/dev/null; ulimit -c"],
                              capture_output=True, text=True).stdout.strip()
        raise CoreUnavailable("no core file after SIGABRT (ulimit -c: %s, core_pattern: %s)"
                              % (soft, core_pattern()))
    return core, out


# ---------------------------------------------------------------- oracle


def _int_attrs(elem, names):
    return {n: int(elem.get(n)) for n in names if elem.get(n) is not None}


def parse_malloc_info(xml_text):
    """Parses glibc's malloc_info(0, ...) XML.

    Returns {"heaps": [heap, ...], "total": {...}} where heap is
      {"nr": i, "fast": {"count", "size"}, "rest": {"count", "size"},
       "system_current": N, "system_max": N, "aspace": {type: N},
       "sizes": [{"from", "to", "total", "count"}, ...]   (document order)
       "unsorted": {"from", "to", "total", "count"} or None,
       "fast_sizes": [...], "bin_sizes": [...],  (sizes split: fastbins first)
       "small": {"count", "size"}, "large": {"count", "size"}}
    and total is {"fast", "rest", "mmap": {"count", "size"}, "system_current",
    "system_max", "aspace_total", "aspace_mprotect"}.

    glibc 2.36 prints each non-empty fastbin first (from = size - 15, to =
    size), then each non-empty regular bin (from/to = smallest/largest raw size
    field, flag bits included). "small"/"large" sizes have the flag bits of
    each chunk included too, as glibc adds them; "size" there is
    total - count, i.e. assuming only PREV_INUSE is set, which holds for
    chunks in bins (glibc writes their head as size | PREV_INUSE).
    """
    root = ET.fromstring(xml_text)
    if root.tag != "malloc":
        raise ValueError("not malloc_info XML: root is <%s>" % root.tag)
    heaps = []
    for h in root.findall("heap"):
        heap = {"nr": int(h.get("nr")), "sizes": [], "unsorted": None, "aspace": {}}
        sizes = h.find("sizes")
        if sizes is not None:
            for s in sizes:
                d = _int_attrs(s, ("from", "to", "total", "count"))
                if s.tag == "size":
                    heap["sizes"].append(d)
                elif s.tag == "unsorted":
                    heap["unsorted"] = d
        for t in h.findall("total"):
            heap[t.get("type")] = _int_attrs(t, ("count", "size"))
        for s in h.findall("system"):
            heap["system_" + s.get("type")] = int(s.get("size"))
        for a in h.findall("aspace"):
            heap["aspace"][a.get("type")] = int(a.get("size"))
        # Split sizes: the fastbin entries come first and add up to the fast count.
        fast_left = heap.get("fast", {}).get("count", 0)
        heap["fast_sizes"], heap["bin_sizes"] = [], []
        for d in heap["sizes"]:
            if fast_left > 0:
                heap["fast_sizes"].append(d)
                fast_left -= d["count"]
            else:
                heap["bin_sizes"].append(d)
        small = [d for d in heap["bin_sizes"] if (d["to"] & ~7) < 1024]
        large = [d for d in heap["bin_sizes"] if (d["to"] & ~7) >= 1024]
        heap["small"] = {"count": sum(d["count"] for d in small),
                         "size": sum(d["total"] - d["count"] for d in small)}
        heap["large"] = {"count": sum(d["count"] for d in large),
                         "size": sum(d["total"] - d["count"] for d in large)}
        heaps.append(heap)
    total = {"aspace_total": None, "aspace_mprotect": None}
    for t in root.findall("total"):
        total[t.get("type")] = _int_attrs(t, ("count", "size"))
    for s in root.findall("system"):
        total["system_" + s.get("type")] = int(s.get("size"))
    for a in root.findall("aspace"):
        total["aspace_" + a.get("type")] = int(a.get("size"))
    return {"heaps": heaps, "total": total}


MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                    "fsmblks", "uordblks", "fordblks", "keepcost")


def parse_mallinfo2(line):
    """'mallinfo2 arena=N ordblks=N ...' -> {"arena": N, ...} (all ten fields)."""
    line = line.strip()
    if not line.startswith("mallinfo2 "):
        raise ValueError("not a mallinfo2 line: %r" % line[:80])
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    missing = [f for f in MALLINFO2_FIELDS if f not in fields]
    if missing:
        raise ValueError("mallinfo2 line lacks %s" % ", ".join(missing))
    return {k: int(v) for k, v in fields.items()}


def parse_expectations(stdout):
    """'EXPECT [key=value|word]...' lines -> list of dicts. Bare words go to
    "kind"; decimal values become ints, others (addresses) stay strings."""
    out = []
    for line in stdout.splitlines():
        if not line.startswith("EXPECT "):
            continue
        d = {}
        for tok in line.split()[1:]:
            if "=" in tok:
                k, v = tok.split("=", 1)
                d[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
            else:
                d["kind"] = tok
        out.append(d)
    return out


def parse_oracle(stdout):
    """The block a scenario printed between ORACLE-BEGIN and ORACLE-END ->
    {"malloc_info": parse_malloc_info(...), "mallinfo2": {...},
     "unstable": bool, "expect": parse_expectations(stdout)}."""
    begin = stdout.find("ORACLE-BEGIN\n")
    end = stdout.find("ORACLE-END", begin)
    if begin < 0 or end < 0:
        raise ValueError("no ORACLE-BEGIN/ORACLE-END block in the program's output")
    block = stdout[begin + len("ORACLE-BEGIN\n"):end]
    xml_end = block.find("</malloc>")
    if xml_end < 0:
        raise ValueError("no </malloc> in the oracle block")
    xml_text = block[:xml_end + len("</malloc>")]
    rest = block[xml_end + len("</malloc>"):].splitlines()
    mi_lines = [l for l in rest if l.startswith("mallinfo2 ")]
    if len(mi_lines) != 1:
        raise ValueError("expected one mallinfo2 line, found %d" % len(mi_lines))
    return {
        "malloc_info": parse_malloc_info(xml_text),
        "mallinfo2": parse_mallinfo2(mi_lines[0]),
        "unstable": any(l.startswith("ORACLE-UNSTABLE") for l in rest),
        "expect": parse_expectations(stdout),
    }


# ---------------------------------------------------------------- comparing

BIN_CLASSES = ("unsorted", "small", "large")
ARENA_CLASSES = ("in_use", "metadata", "tcache", "fast", "unsorted", "small", "large", "top")


def class_figures(arena, name):
    """(chunks, bytes) of a class in one arena of `heap stats --json`; for
    "top" chunks is 1 per arena (0 if it has no bytes)."""
    if name not in arena:
        raise KeyError("arena %s has no %r in heap stats JSON" % (arena.get("index"), name))
    c = arena[name]
    if name == "top" and "chunks" not in c:
        return (1, c["bytes"])
    return (c["chunks"], c["bytes"])


def compare_stats_with_oracle(stats, oracle):
    """Every mismatch between `heap stats --json` and the oracle, one line each
    with both numbers; [] when they agree exactly."""
    bad = []

    def check(what, got, want, names=("heapscope", "glibc")):
        if got != want:
            bad.append("%s: %s %s, %s %s" % (what, names[0], got, names[1], want))

    mi = oracle["malloc_info"]
    m2 = oracle["mallinfo2"]
    arenas = stats.get("arenas", [])
    heaps = mi["heaps"]
    check("number of arenas", len(arenas), len(heaps))
    sums = {c: [0, 0] for c in ARENA_CLASSES}
    system_sum = 0
    for i, (a, h) in enumerate(zip(arenas, heaps)):
        tag = "arena %d" % i
        check(tag + " index", a.get("index"), i)
        check(tag + " main", bool(a.get("main")), i == 0)
        fig = {c: class_figures(a, c) for c in ARENA_CLASSES}
        for c in ARENA_CLASSES:
            sums[c][0] += fig[c][0]
            sums[c][1] += fig[c][1]
        system_sum += a["system_bytes"]
        check(tag + " system_bytes vs <system type=current>", a["system_bytes"], h["system_current"])
        check(tag + " fast chunks", fig["fast"][0], h["fast"]["count"])
        check(tag + " fast bytes", fig["fast"][1], h["fast"]["size"])
        bin_chunks = sum(fig[c][0] for c in BIN_CLASSES)
        bin_bytes = sum(fig[c][1] for c in BIN_CLASSES)
        check(tag + " unsorted+small+large chunks + 1 (top) vs rest count",
              bin_chunks + 1, h["rest"]["count"])
        check(tag + " top bytes + bin bytes + bin chunks (PREV_INUSE bits) vs rest size",
              fig["top"][1] + bin_bytes + bin_chunks, h["rest"]["size"])
        unsorted = h["unsorted"] or {"count": 0, "total": 0}
        check(tag + " unsorted chunks", fig["unsorted"][0], unsorted["count"])
        check(tag + " unsorted bytes", fig["unsorted"][1], unsorted["total"] - unsorted["count"])
        check(tag + " small chunks", fig["small"][0], h["small"]["count"])
        check(tag + " small bytes", fig["small"][1], h["small"]["size"])
        check(tag + " large chunks", fig["large"][0], h["large"]["count"])
        check(tag + " large bytes", fig["large"][1], h["large"]["size"])
        check(tag + " invariant", sum(fig[c][1] for c in ARENA_CLASSES), a["system_bytes"],
              ("sum of class bytes", "system_bytes"))
    mmapped = stats.get("mmapped", {})
    check("mmapped chunks", mmapped.get("chunks"), mi["total"]["mmap"]["count"])
    check("mmapped bytes", mmapped.get("bytes"), mi["total"]["mmap"]["size"])
    check("total fast count", sums["fast"][0], mi["total"]["fast"]["count"])
    # mallinfo2 (glibc 2.36 int_mallinfo: avail = top + fastbins + regular bins).
    fordblks = sums["fast"][1] + sum(sums[c][1] for c in BIN_CLASSES) + sums["top"][1]
    check("mallinfo2.arena vs sum of system_bytes", system_sum, m2["arena"])
    check("mallinfo2.ordblks vs bin chunks + arenas",
          sum(sums[c][0] for c in BIN_CLASSES) + len(arenas), m2["ordblks"])
    check("mallinfo2.smblks vs fast chunks", sums["fast"][0], m2["smblks"])
    check("mallinfo2.fsmblks vs fast bytes", sums["fast"][1], m2["fsmblks"])
    check("mallinfo2.hblks vs mmapped chunks", mmapped.get("chunks"), m2["hblks"])
    check("mallinfo2.hblkhd vs mmapped bytes", mmapped.get("bytes"), m2["hblkhd"])
    check("mallinfo2.fordblks vs fast+bins+top bytes", fordblks, m2["fordblks"])
    check("mallinfo2.uordblks vs in_use+metadata+tcache bytes",
          sums["in_use"][1] + sums["metadata"][1] + sums["tcache"][1], m2["uordblks"])
    if arenas:
        check("mallinfo2.keepcost vs main arena top bytes", class_figures(arenas[0], "top")[1],
              m2["keepcost"])
    # heapscope's own totals add up.
    total = stats.get("total", {})
    own = ("total", "sum over arenas")
    check("total.system_bytes", total.get("system_bytes"), system_sum, own)
    for c in ARENA_CLASSES:
        t = total.get(c, {})
        check("total.%s.chunks" % c, t.get("chunks"), sums[c][0], own)
        check("total.%s.bytes" % c, t.get("bytes"), sums[c][1], own)
    return bad


def expected_counts(expect, kind):
    """Sum of EXPECT ... count=N over lines of this kind."""
    return sum(e.get("count", 0) for e in expect if e.get("kind") == kind and "chunk_size" in e)


# ---------------------------------------------------------------- running


def run_cli(args, timeout=300, stdin=None, env=None):
    """Runs the heapscope CLI with args -> (status, stdout, stderr). status is
    negative when killed by a signal (a crash)."""
    proc = subprocess.run([cli_path()] + [str(a) for a in args], input=stdin,
                          capture_output=True, timeout=timeout, env=env)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def run_cli_json(args, timeout=300, statuses=(0,)):
    """Runs the CLI with --json appended; checks the status is one of
    `statuses` (a check that finds problems exits 1) and one line of JSON;
    returns the parsed document. Raises AssertionError with stderr otherwise."""
    status, out, err = run_cli(list(args) + ["--json"], timeout=timeout)
    if status not in statuses:
        raise AssertionError("heapscope %s exited %d: %s" % (" ".join(map(str, args)), status, err.strip()))
    lines = out.rstrip("\n").split("\n")
    if len(lines) != 1:
        raise AssertionError("--json printed %d lines, expected 1" % len(lines))
    return json.loads(lines[0])


def _run_debugger(argv, timeout):
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=debugger_env())
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def run_gdb_batch(exe, core=None, commands=(), pid=None, init_commands=(), timeout=300):
    """`gdb -batch -nx` on exe with a core (or attached to pid), running each
    of init_commands (before the file is loaded, -iex) and commands (-ex) in
    order -> (status, stdout, stderr)."""
    gdb = gdb_path()
    if not gdb:
        raise FileNotFoundError("gdb not found")
    argv = [gdb, "-batch", "-nx"]
    for c in gdb_sanitizer_commands() + list(init_commands):
        argv += ["-iex", c]
    for c in commands:
        argv += ["-ex", c]
    argv.append(exe)
    if pid is not None:
        argv += ["-p", str(pid)]
    elif core is not None:
        argv.append(core)
    return _run_debugger(argv, timeout)


def run_lldb_batch(exe, core=None, commands=(), pid=None, init_commands=(), timeout=300):
    """`lldb -b --no-lldbinit` on exe with a core (or attached to pid), running
    init_commands (-O, before the target is created) then commands (-o)
    -> (status, stdout, stderr)."""
    lldb = lldb_path()
    if not lldb:
        raise FileNotFoundError("lldb not found")
    argv = [lldb, "-b", "--no-lldbinit"]
    for c in lldb_sanitizer_commands() + list(init_commands):
        argv += ["-O", c]
    for c in commands:
        argv += ["-o", c]
    if pid is not None:
        argv += ["-p", str(pid), exe]
    else:
        argv.append(exe)
        if core is not None:
            argv += ["-c", core]
    return _run_debugger(argv, timeout)


def peak_rss_argv(argv, report):
    """argv run under /usr/bin/time, which writes the peak RSS (KiB) to the
    file `report`. A child's ru_maxrss starts at its parent's RSS at fork
    (and survives exec): measured through wait4 from a test that holds a big
    output, it would be the test's own size; time(1) is small."""
    return ["/usr/bin/time", "-f", "%M", "-o", report] + [str(a) for a in argv]


def read_peak_rss(report):
    """Bytes, from the file peak_rss_argv's time(1) wrote."""
    with open(report) as f:
        return int(f.read().split()[-1]) * 1024


class LiveScenario:
    """A scenario_live process stopped at READY (it blocks reading stdin).

        with LiveScenario(example_path("scenario_live")) as live:
            live.pid, live.stdout (everything up to READY: the oracle)
            live.finish() -> (status, rest of stdout)  # sends a line; it exits
    """

    def __init__(self, exe, args=(), timeout=60):
        self.proc = subprocess.Popen([exe] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\nREADY" not in buf and not buf.startswith(b"READY"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError("no READY from %s within %ss" % (exe, timeout))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.kill()
                    raise AssertionError("%s exited before READY: %r" % (exe, buf[-300:]))
                buf += chunk
        while not buf.endswith(b"\n"):  # the rest of the READY line
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
        self.stdout = buf.decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def finish(self, timeout=30):
        out, _ = self.proc.communicate(b"go\n", timeout=timeout)
        return self.proc.returncode, out.decode("utf-8", "replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False
