#!/usr/bin/env python3
"""heapscope benchmark driver.

Makes cores of big glibc heaps with bench/gen_heap (N small chunks, about 10%
freed) in a scratch directory (default /tmp/heapscope-bench, never the repo),
then for each core prints the wall time and peak RSS of:

  floor          read_floor CORE: mmap the core and read every 8-byte word
  cli stats      heapscope CORE heap stats            (output to /dev/null)
  cli chunks     heapscope CORE heap chunks --json    (output to /dev/null)
  cli leaks      heapscope CORE heap leaks [--json]   (reachability from every root)
  gdb / lldb     the same commands in gdb -batch and lldb-19 -b with the
                 front-ends from the build tree (time includes the debugger's
                 own start-up and loading the core)

and each row's time as a multiple of the floor. Before the rows, `heap
stats --json` is checked against the mallinfo2 line gen_heap printed
("check vs mallinfo2": OK or the mismatches; --no-check skips it). Best of --runs runs (least
wall time; the peak RSS shown is the least of the runs). A command that
fails prints FAILED and the first line of its stderr; the others go on.

Adding rows: append to ROWS below, or pass --row 'NAME=COMMAND' (repeatable).
COMMAND is split like a shell line; {core}, {exe} (the generator, i.e. the
program the core came from), {cli}, {build} and {bench} are replaced. E.g.

  bench/run.py --row 'cli arenas=heapscope {core} heap arenas'

Usage: bench/run.py [--build DIR] [--scratch DIR] [--sizes 1000000,5000000]
                    [--runs 3] [--row NAME=CMD]... [--only REGEX] [--regen]
                    [--json FILE] [--fail-on-error]
Needs /usr/bin/time (Debian package "time") for peak RSS; without it the
driver measures RSS itself through wait4(2).
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)

# (name, command template[, regex that marks a failure on stderr]). The first
# row is the floor the others are compared to. Debuggers often exit 0 when a
# command fails, hence the regex.
DEBUGGER_FAILED = r"Undefined command|Traceback|[Ee]rror:|is not a valid command|unable to load"
GDB = 'gdb -batch -nx -ex "source {build}/share/heapscope/heapscope-gdb.py" '
LLDB = 'lldb-19 -b --no-lldbinit -o "plugin load {build}/lib/heapscope/libheapscope-lldb.so" '
ROWS = [
    ("floor read", "{bench}/read_floor {core}"),
    ("cli stats", "{cli} {core} heap stats"),
    ("cli chunks --json", "{cli} {core} heap chunks --json"),
    ("cli leaks", "{cli} {core} heap leaks"),
    ("cli leaks --json", "{cli} {core} heap leaks --json"),
    ("gdb stats", GDB + '-ex "heap stats" {exe} {core}', DEBUGGER_FAILED),
    ("gdb chunks --json", GDB + '-ex "heap chunks --json" {exe} {core}', DEBUGGER_FAILED),
    ("lldb stats", LLDB + '-o "heap stats" {exe} -c {core}', DEBUGGER_FAILED),
    ("lldb chunks --json", LLDB + '-o "heap chunks --json" {exe} -c {core}', DEBUGGER_FAILED),
    ("gdb leaks", GDB + '-ex "heap leaks" {exe} {core}', DEBUGGER_FAILED),
    ("lldb leaks", LLDB + '-o "heap leaks" {exe} -c {core}', DEBUGGER_FAILED),
]


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
        n /= 1024.0


def make_core(gen, scratch, n, regen):
    """Returns (core path, generator stdout); reuses an existing core unless regen."""
    core = os.path.join(scratch, "core-%d" % n)
    info = core + ".txt"
    if not regen and os.path.exists(core) and os.path.exists(info) \
            and os.path.getmtime(core) >= os.path.getmtime(gen):
        with open(info) as f:
            return core, f.read()
    work = tempfile.mkdtemp(prefix="gen-%d-" % n, dir=scratch)
    try:
        proc = subprocess.run(["bash", "-c", 'ulimit -c unlimited; exec "$0" "$@"', gen, str(n)],
                              cwd=work, capture_output=True, text=True)
        found = [p for p in glob.glob(os.path.join(work, "core*")) if os.path.isfile(p)]
        if not found:
            raise RuntimeError("gen_heap %d made no core (status %s, core_pattern %s): %s"
                               % (n, proc.returncode, open("/proc/sys/kernel/core_pattern").read().strip(),
                                  proc.stderr.strip()[-300:]))
        os.replace(found[0], core)
        with open(info, "w") as f:
            f.write(proc.stdout)
        return core, proc.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_against_mallinfo2(cli, core, info):
    """heap stats --json vs the mallinfo2 line gen_heap printed -> list of
    mismatch lines ([] when exact)."""
    m = re.search(r"^mallinfo2 (.*)$", info, re.M)
    if not m:
        return ["gen_heap printed no mallinfo2 line"]
    want = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    proc = subprocess.run([cli, core, "heap", "stats", "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        return ["heap stats --json failed: " + proc.stderr.strip()[:200]]
    s = json.loads(proc.stdout)
    t = s["total"]
    bins = ("unsorted", "small", "large")
    got = {
        "arena": t["system_bytes"],
        "ordblks": sum(t[k]["chunks"] for k in bins) + len(s["arenas"]),
        "smblks": t["fast"]["chunks"],
        "fsmblks": t["fast"]["bytes"],
        "fordblks": sum(t[k]["bytes"] for k in ("fast",) + bins + ("top",)),
        "uordblks": sum(t[k]["bytes"] for k in ("in_use", "metadata", "tcache")),
        "hblks": s["mmapped"]["chunks"],
        "hblkhd": s["mmapped"]["bytes"],
        "keepcost": s["arenas"][0]["top"]["bytes"],
    }
    return ["%s: heapscope %d, mallinfo2 %d" % (k, got[k], want[k]) for k in got if got[k] != want[k]]


def run_once(argv, use_time, fail_regex=None):
    """-> (ok, wall seconds, peak RSS KiB, first stderr line)."""
    err_file = tempfile.NamedTemporaryFile(prefix="bench-err-", delete=False)
    err_file.close()
    time_file = err_file.name + ".time"
    try:
        with open(os.devnull, "wb") as devnull, open(err_file.name, "wb") as err:
            full = (["/usr/bin/time", "-f", "%e %M", "-o", time_file, "--"] + argv) if use_time else argv
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(full, stdout=devnull, stderr=err, stdin=subprocess.DEVNULL)
            except OSError as e:
                return False, 0.0, 0, str(e)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss
        if use_time and os.path.exists(time_file):
            with open(time_file) as f:
                lines = [l for l in f.read().splitlines() if re.fullmatch(r"[\d.]+ \d+", l.strip())]
            if lines:
                rss = int(lines[-1].split()[1])
        with open(err_file.name, "rb") as f:
            err_text = f.read().decode("utf-8", "replace").strip()
        first = err_text.splitlines()[0] if err_text else ""
        if proc.returncode != 0:
            return False, wall, rss, "status %d: %s" % (proc.returncode, first)
        if fail_regex:
            m = re.search(r"^.*(%s).*$" % fail_regex, err_text, re.M)
            if m:
                return False, wall, rss, m.group(0).strip()
        return True, wall, rss, first
    finally:
        for p in (err_file.name, time_file):
            if os.path.exists(p):
                os.unlink(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--scratch", default="/tmp/heapscope-bench")
    ap.add_argument("--sizes", default="1000000,5000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--row", action="append", default=[], metavar="NAME=COMMAND")
    ap.add_argument("--only", help="run only rows whose name matches this regex (the floor always runs)")
    ap.add_argument("--regen", action="store_true", help="make the cores again")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--no-check", action="store_true",
                    help="skip checking heap stats against the generator's mallinfo2")
    ap.add_argument("--fail-on-error", action="store_true", help="exit 1 if any row FAILED")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    bench_bin = os.path.join(build, "bench")
    gen = os.path.join(bench_bin, "gen_heap")
    for p in (gen, os.path.join(bench_bin, "read_floor")):
        if not os.path.exists(p):
            sys.exit("bench: %s not built (cmake --build %s)" % (p, build))
    scratch = os.path.abspath(a.scratch)
    if os.path.commonpath([scratch, SOURCE_DIR]) == SOURCE_DIR and not scratch.startswith(build):
        sys.exit("bench: the scratch directory must be outside the source tree")
    os.makedirs(scratch, exist_ok=True)
    use_time = os.access("/usr/bin/time", os.X_OK)
    if not use_time:
        print("note: /usr/bin/time missing (apt-get install time); measuring RSS with wait4")

    rows = list(ROWS)
    for r in a.row:
        if "=" not in r:
            sys.exit("bench: --row wants NAME=COMMAND, got %r" % r)
        name, cmd = r.split("=", 1)
        rows.append((name.strip(), cmd.strip(), DEBUGGER_FAILED))
    if a.only:
        rows = [rows[0]] + [r for r in rows[1:] if re.search(a.only, r[0])]

    subst = {"cli": os.environ.get("HEAPSCOPE_CLI") or os.path.join(build, "bin", "heapscope"),
             "exe": gen, "build": build, "bench": bench_bin}
    results, failed = [], 0
    print("%-12s %-10s %-22s %9s %10s %8s" % ("chunks", "core", "row", "wall s", "peak RSS", "x floor"))
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        try:
            core, info = make_core(gen, scratch, n, a.regen)
        except RuntimeError as e:
            print("%-12d FAILED to make the core: %s" % (n, e))
            failed += 1
            continue
        core_size = os.path.getsize(core)
        if not a.no_check:
            bad = check_against_mallinfo2(subst["cli"], core, info)
            print("%-12d %-10s %-22s %s" % (n, human_bytes(core_size), "check vs mallinfo2",
                                            "OK (exact)" if not bad else "MISMATCH " + "; ".join(bad)))
            results.append({"chunks": n, "core_bytes": core_size, "row": "check vs mallinfo2",
                            "ok": not bad, "mismatches": bad})
            failed += 1 if bad else 0
        floor = None
        for row in rows:
            name, template, fail_regex = (tuple(row) + (None,))[:3]
            argv = [w.format(core=core, **subst) for w in shlex.split(template)]
            best = None
            for _ in range(a.runs):
                ok, wall, rss, err = run_once(argv, use_time, fail_regex)
                if not ok:
                    best = (False, wall, rss, err)
                    break
                if best is None or wall < best[1]:
                    best = (True, wall, min(rss, best[2]) if best else rss, err)
                elif rss < best[2]:
                    best = (best[0], best[1], rss, best[3])
            ok, wall, rss, err = best
            rec = {"chunks": n, "core_bytes": core_size, "row": name, "ok": ok,
                   "wall_s": round(wall, 4), "peak_rss_kib": rss}
            if not ok:
                failed += 1
                rec["error"] = err
                print("%-12d %-10s %-22s FAILED %s" % (n, human_bytes(core_size), name, err[:120]))
            else:
                if floor is None:
                    floor = wall
                ratio = wall / floor if floor else float("nan")
                rec["x_floor"] = round(ratio, 2)
                print("%-12d %-10s %-22s %9.3f %10s %8.1f" % (n, human_bytes(core_size), name, wall,
                                                               human_bytes(rss * 1024), ratio))
            results.append(rec)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if (failed and a.fail_on_error) else 0


if __name__ == "__main__":
    sys.exit(main())
