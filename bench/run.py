#!/usr/bin/env python3
"""heapscope benchmark driver.

Makes cores of big glibc heaps of several shapes (bench/gen_*.c, each given
about N chunks) in a scratch directory (default /tmp/heapscope-bench, never
the repo), then times, per core, these rows:

  floor          read_floor CORE: mmap the core and read every 8-byte word
  cli stats      heapscope CORE heap stats              (output to /dev/null)
  cli leaks      heapscope CORE heap leaks              (reachability from every root)
  cli chunks     heapscope CORE heap chunks --json      (streamed to /dev/null)
  chap leaked    chap CORE, "count leaked" on stdin     (only when chap is on PATH)
  gdb / lldb     with --debuggers: the same in gdb -batch and lldb-19 -b with
                 the build tree's front-ends (start-up and symbol loading included)

With --threads 1,2 the rows marked as using threads run once per value
with HEAPSCOPE_THREADS set, named "... t=1", "... t=2" (the leak marking
of `heap leaks` is threaded; without the option it uses every core, at most 8).

The runs are interleaved (run 1 of every row, then run 2, ...) so that a
change of the machine's load hits every row alike, and each row reports its
best (least) wall time of --runs and that as a multiple of the floor's best,
and the same for CPU time (user + system, from wait4): on a machine that
other work shares, CPU time is the steadier measure.
Then each heapscope row runs once more, watched: its peak anonymous memory
(RssAnon in /proc/PID/status, polled every millisecond; the core's pages
are file pages and do not count) divided by the number of chunks in the
heap gives "B/chunk" (target: 24 or less).

Before timing a core, `heap stats --json` is checked against the mallinfo2
line the generator printed ("check vs mallinfo2": OK or the mismatches;
--no-check skips it). A command that fails prints FAILED and the first line
of its stderr; the others go on.

Adding rows: --row 'NAME=COMMAND' (repeatable). COMMAND is split like a
shell line; {core}, {exe} (the program the core came from), {cli}, {build}
and {bench} are replaced. E.g.

  bench/run.py --row 'cli arenas={cli} {core} heap arenas'

Usage: bench/run.py [--build DIR] [--scratch DIR] [--sizes 1000000,5000000]
                    [--shapes REGEX] [--runs 5] [--threads 1,2] [--row NAME=CMD]...
                    [--only REGEX] [--debuggers] [--regen] [--json FILE]
                    [--markdown] [--fail-on-error]
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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)

# (shape name, generator in build/bench) -- see each gen_*.c for the shape.
SHAPES = [
    ("small", "gen_heap"),       # 16..256 B chunks, 10% freed: the first benchmark's heap
    ("lists", "gen_lists"),      # linked lists, a third freed in list order: huge unsorted bin
    ("random", "gen_random"),    # 16 B..64 KiB, a third freed at random: many large-bin chunks
    ("threads", "gen_threads"),  # 16 threads, 16 arenas
    ("mmapped", "gen_mmapped"),  # 4 huge mmapped chunks among the small ones
    ("tree", "gen_tree"),        # C++ objects with vtables, vectors and strings
]

# A row: name, command template, and optionally a regex marking a failure on
# stderr (debuggers often exit 0 when a command fails), whether it uses
# threads, and what goes to its stdin. The first row is the floor.
DEBUGGER_FAILED = r"Undefined command|Traceback|[Ee]rror:|is not a valid command|unable to load"
GDB = 'gdb -batch -nx -ex "source {build}/share/heapscope/heapscope-gdb.py" '
LLDB = 'lldb-19 -b --no-lldbinit -o "plugin load {build}/lib/heapscope/libheapscope-lldb.so" '
FLOOR = {"name": "floor read", "cmd": "{bench}/read_floor {core}"}
ROWS = [
    # "threads": True on a row that uses HEAPSCOPE_THREADS: every heap
    # command (1: no helper thread at all; the leak marking's thread count).
    {"name": "cli stats", "cmd": "{cli} {core} heap stats", "ours": True, "threads": True},
    {"name": "cli leaks", "cmd": "{cli} {core} heap leaks", "ours": True, "threads": True},
    {"name": "cli chunks --json", "cmd": "{cli} {core} heap chunks --json", "ours": True, "threads": True},
]
CHAP_ROW = {"name": "chap count leaked", "cmd": "{chap} {core}", "stdin": "count leaked\n"}
DEBUGGER_ROWS = [
    {"name": "gdb stats", "cmd": GDB + '-ex "heap stats" {exe} {core}', "fail": DEBUGGER_FAILED},
    {"name": "gdb leaks", "cmd": GDB + '-ex "heap leaks" {exe} {core}', "fail": DEBUGGER_FAILED},
    {"name": "lldb stats", "cmd": LLDB + '-o "heap stats" {exe} -c {core}', "fail": DEBUGGER_FAILED},
    {"name": "lldb leaks", "cmd": LLDB + '-o "heap leaks" {exe} -c {core}', "fail": DEBUGGER_FAILED},
]


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
        n /= 1024.0


def make_core(gen, scratch, shape, n, regen):
    """Returns (core path, generator stdout); reuses an existing core unless regen."""
    core = os.path.join(scratch, "core-%s-%d" % (shape, n))
    info = core + ".txt"
    if not regen and os.path.exists(core) and os.path.exists(info) \
            and os.path.getmtime(core) >= os.path.getmtime(gen):
        with open(info) as f:
            return core, f.read()
    work = tempfile.mkdtemp(prefix="gen-%s-%d-" % (shape, n), dir=scratch)
    try:
        proc = subprocess.run(["bash", "-c", 'ulimit -c unlimited; exec "$0" "$@"', gen, str(n)],
                              cwd=work, capture_output=True, text=True)
        found = [p for p in glob.glob(os.path.join(work, "core*")) if os.path.isfile(p)]
        if not found:
            with open("/proc/sys/kernel/core_pattern") as f:
                pattern = f.read().strip()
            raise RuntimeError("%s %d made no core (status %s, core_pattern %s): %s"
                               % (os.path.basename(gen), n, proc.returncode, pattern,
                                  proc.stderr.strip()[-300:]))
        os.replace(found[0], core)
        with open(info, "w") as f:
            f.write(proc.stdout)
        return core, proc.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


def heap_stats_json(cli, core):
    try:
        proc = subprocess.run([cli, core, "heap", "stats", "--json"], capture_output=True, text=True)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (cli, e))
    if proc.returncode != 0:
        raise RuntimeError("heap stats --json failed: " + proc.stderr.strip()[:200])
    return json.loads(proc.stdout)


def chunk_count(stats):
    """Every chunk of the heap: each class of every arena, and the mmapped ones."""
    t = stats["total"]
    return sum(v["chunks"] for v in t.values() if isinstance(v, dict)) + stats["mmapped"]["chunks"]


def check_against_mallinfo2(stats, info):
    """heap stats --json vs the mallinfo2 line the generator printed -> list
    of mismatch lines ([] when exact)."""
    m = re.search(r"^mallinfo2 (.*)$", info, re.M)
    if not m:
        return ["the generator printed no mallinfo2 line"]
    want = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    t = stats["total"]
    bins = ("unsorted", "small", "large")
    got = {
        "arena": t["system_bytes"],
        # glibc counts each arena's top as one more free block.
        "ordblks": sum(t[k]["chunks"] for k in bins) + len(stats["arenas"]),
        "smblks": t["fast"]["chunks"],
        "fsmblks": t["fast"]["bytes"],
        "fordblks": sum(t[k]["bytes"] for k in ("fast",) + bins + ("top",)),
        "uordblks": sum(t[k]["bytes"] for k in ("in_use", "metadata", "tcache")),
        "hblks": stats["mmapped"]["chunks"],
        "hblkhd": stats["mmapped"]["bytes"],
        # The main arena's top only (the one sbrk could trim).
        "keepcost": stats["arenas"][0]["top"]["bytes"],
    }
    return ["%s: heapscope %d, mallinfo2 %d" % (k, got[k], want[k]) for k in got if got[k] != want[k]]


def peak_anon_kib(pid, stop, out):
    """Polls /proc/PID/status until stop is set; out[0] = the largest RssAnon (KiB)."""
    path = "/proc/%d/status" % pid
    while not stop.is_set():
        try:
            with open(path) as f:
                m = re.search(r"^RssAnon:\s+(\d+)", f.read(), re.M)
            if m:
                out[0] = max(out[0], int(m.group(1)))
        except OSError:
            return
        time.sleep(0.001)


def run_once(argv, row, env, watch=False):
    """-> dict(ok, wall, rss_kib, anon_kib, err)."""
    with tempfile.TemporaryFile() as err, open(os.devnull, "wb") as devnull, \
            tempfile.TemporaryFile() as stdin:
        stdin.write(row.get("stdin", "").encode())
        stdin.seek(0)
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdout=devnull, stderr=err, stdin=stdin, env=env)
        except OSError as e:
            return {"ok": False, "wall": 0.0, "cpu": 0.0, "rss_kib": 0, "anon_kib": 0, "err": str(e)}
        anon, stop = [0], threading.Event()
        watcher = threading.Thread(target=peak_anon_kib, args=(proc.pid, stop, anon)) if watch else None
        if watcher:
            watcher.start()
        # Not proc.wait(): wait4 gives the child's own peak RSS.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if watcher:
            stop.set()
            watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        err_text = err.read().decode("utf-8", "replace").strip()
    first = err_text.splitlines()[0] if err_text else ""
    res = {"ok": True, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss,
           "anon_kib": anon[0], "err": first}
    if proc.returncode != 0:
        res.update(ok=False, err="status %d: %s" % (proc.returncode, first))
    elif row.get("fail"):
        m = re.search(r"^.*(%s).*$" % row["fail"], err_text, re.M)
        if m:
            res.update(ok=False, err=m.group(0).strip())
    return res


def expand_rows(rows, threads):
    """A row that uses threads becomes one row per thread count."""
    out = []
    for row in rows:
        if not row.get("threads"):
            out.append(row)
            continue
        for t in threads:
            if not t:  # no --threads: the row as it is
                out.append(row)
                continue
            out.append(dict(row, name="%s t=%d" % (row["name"], t), env={"HEAPSCOPE_THREADS": str(t)}))
    return out


def bench_core(rows, subst, core, runs, chunks):
    """Times every row on one core, interleaved; -> {row name: result}."""
    best = {}
    for _ in range(runs):
        for row in rows:
            if row["name"] in best and not best[row["name"]]["ok"]:
                continue
            argv = [w.format(core=core, **subst) for w in shlex.split(row["cmd"])]
            env = dict(os.environ, **row.get("env", {}))
            res = run_once(argv, row, env)
            prev = best.get(row["name"])
            if prev is None or not res["ok"]:
                best[row["name"]] = res
            else:  # the least of each measure
                for k in ("wall", "cpu", "rss_kib"):
                    prev[k] = min(prev[k], res[k])
    for row in rows:  # memory: one more run each, watched
        res = best[row["name"]]
        if row.get("ours") and res["ok"]:
            argv = [w.format(core=core, **subst) for w in shlex.split(row["cmd"])]
            watched = run_once(argv, row, dict(os.environ, **row.get("env", {})), watch=True)
            res["anon_kib"] = watched["anon_kib"]
            res["bytes_per_chunk"] = watched["anon_kib"] * 1024.0 / chunks if chunks else float("nan")
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--scratch", default="/tmp/heapscope-bench")
    ap.add_argument("--sizes", default="1000000,5000000")
    ap.add_argument("--shapes", help="only the shapes whose name matches this regex (%s)"
                    % ", ".join(s for s, _ in SHAPES))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", help="thread counts for the rows that use threads, e.g. 1,2")
    ap.add_argument("--row", action="append", default=[], metavar="NAME=COMMAND")
    ap.add_argument("--only", help="run only rows whose name matches this regex (the floor always runs)")
    ap.add_argument("--debuggers", action="store_true", help="add the gdb and lldb rows")
    ap.add_argument("--regen", action="store_true", help="make the cores again")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--markdown", action="store_true", help="end with the README's table")
    ap.add_argument("--no-check", action="store_true",
                    help="skip checking heap stats against the generator's mallinfo2")
    ap.add_argument("--fail-on-error", action="store_true", help="exit 1 if any row FAILED or a check failed")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    bench_bin = os.path.join(build, "bench")
    shapes = [(s, g) for s, g in SHAPES if not a.shapes or re.search(a.shapes, s)]
    for p in [os.path.join(bench_bin, g) for _, g in shapes] + [os.path.join(bench_bin, "read_floor")]:
        if not os.path.exists(p):
            sys.exit("bench: %s not built (cmake --build %s)" % (p, build))
    scratch = os.path.abspath(a.scratch)
    if os.path.commonpath([scratch, SOURCE_DIR]) == SOURCE_DIR and not scratch.startswith(build):
        sys.exit("bench: the scratch directory must be outside the source tree")
    os.makedirs(scratch, exist_ok=True)

    threads = [int(t) for t in a.threads.split(",")] if a.threads else [0]
    rows = list(ROWS)
    chap = shutil.which("chap")
    if chap:
        rows.append(CHAP_ROW)
    else:
        print("note: chap is not on PATH: no chap rows")
    if a.debuggers:
        rows += DEBUGGER_ROWS
    for r in a.row:
        if "=" not in r:
            sys.exit("bench: --row wants NAME=COMMAND, got %r" % r)
        name, cmd = r.split("=", 1)
        rows.append({"name": name.strip(), "cmd": cmd.strip(), "fail": DEBUGGER_FAILED})
    if a.only:
        rows = [r for r in rows if re.search(a.only, r["name"])]
    rows = [FLOOR] + expand_rows(rows, threads)

    cli = os.environ.get("HEAPSCOPE_CLI") or os.path.join(build, "bin", "heapscope")
    results, failed, table = [], 0, []
    print("%-8s %-8s %-9s %-22s %8s %6s %8s %6s %10s %8s" %
          ("shape", "chunks", "core", "row", "wall s", "x floor", "cpu s", "x floor", "peak RSS", "B/chunk"))
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        for shape, gen_name in shapes:
            gen = os.path.join(bench_bin, gen_name)
            subst = {"cli": cli, "exe": gen, "build": build, "bench": bench_bin, "chap": chap or "chap"}
            lead = "%-8s %-8d" % (shape, n)
            try:
                core, info = make_core(gen, scratch, shape, n, a.regen)
                stats = heap_stats_json(cli, core)
            except RuntimeError as e:
                print("%s FAILED: %s" % (lead, e))
                failed += 1
                continue
            size = human_bytes(os.path.getsize(core))
            chunks = chunk_count(stats)
            if not a.no_check:
                bad = check_against_mallinfo2(stats, info)
                print("%s %-9s %-22s %s" % (lead, size, "check vs mallinfo2",
                                             "OK (exact)" if not bad else "MISMATCH " + "; ".join(bad)))
                results.append({"shape": shape, "n": n, "row": "check vs mallinfo2", "ok": not bad,
                                "mismatches": bad})
                failed += 1 if bad else 0
            best = bench_core(rows, subst, core, a.runs, chunks)
            floor_res = best[FLOOR["name"]]
            floor = floor_res["wall"] if floor_res["ok"] else float("nan")
            floor_cpu = floor_res["cpu"] if floor_res["ok"] else float("nan")
            line = {"shape": shape, "n": n, "chunks": chunks, "core": size, "floor": floor, "floor_cpu": floor_cpu}
            for row in rows:
                res = best[row["name"]]
                rec = {"shape": shape, "n": n, "chunks": chunks, "core_bytes": os.path.getsize(core),
                       "row": row["name"], "ok": res["ok"], "wall_s": round(res["wall"], 4),
                       "cpu_s": round(res["cpu"], 4),
                       "peak_rss_kib": res["rss_kib"]}
                if not res["ok"]:
                    failed += 1
                    rec["error"] = res["err"]
                    print("%s %-9s %-22s FAILED %s" % (lead, size, row["name"], res["err"][:120]))
                else:
                    ratio = res["wall"] / floor if floor else float("nan")
                    cpu_ratio = res["cpu"] / floor_cpu if floor_cpu else float("nan")
                    rec["x_floor"] = round(ratio, 2)
                    rec["cpu_x_floor"] = round(cpu_ratio, 2)
                    per_chunk = res.get("bytes_per_chunk")
                    if per_chunk is not None:
                        rec["anon_bytes_per_chunk"] = round(per_chunk, 1)
                    print("%s %-9s %-22s %8.3f %6.1fx %8.3f %6.1fx %10s %8s" % (
                        lead, size, row["name"], res["wall"], ratio, res["cpu"], cpu_ratio,
                        human_bytes(res["rss_kib"] * 1024),
                        "%.1f" % per_chunk if per_chunk is not None else ""))
                    line[row["name"]] = rec
                results.append(rec)
            table.append(line)
    if a.markdown:
        print_markdown(table, [r["name"] for r in rows[1:]])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if (failed and a.fail_on_error) else 0


def print_markdown(table, names):
    """The README's table: per core, the floor, then each row's wall time and
    multiple of the floor, the same in CPU time, and heapscope's B/chunk
    beyond the core's pages."""
    print()
    print("wall s (× floor) / CPU s (× floor's CPU), anonymous bytes per chunk")
    print()
    print("| shape | chunks | core | floor | " + " | ".join("`%s`" % n for n in names) + " |")
    print("|---" * (4 + len(names)) + "|")
    for line in table:
        cells = []
        for n in names:
            rec = line.get(n)
            if not rec:
                cells.append("FAILED")
                continue
            cell = "%.3f s (%.1f×) / %.3f s (%.1f×)" % (rec["wall_s"], rec["x_floor"], rec["cpu_s"],
                                                          rec["cpu_x_floor"])
            if "anon_bytes_per_chunk" in rec:
                cell += ", %.0f B/chunk" % rec["anon_bytes_per_chunk"]
            cells.append(cell)
        print("| %s | %d | %s | %.3f s / %.3f s | %s |" % (line["shape"], line["chunks"], line["core"],
                                                          line["floor"], line["floor_cpu"], " | ".join(cells)))


if __name__ == "__main__":
    sys.exit(main())
