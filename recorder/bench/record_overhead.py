#!/usr/bin/env python3
"""Overhead of libheapscope-record against heaptrack and valgrind's massif.

Runs the same workloads natively, under the recorder (LD_PRELOAD), under
heaptrack and under massif, and prints a Markdown table of the median CPU
time (user + system of the whole process tree, so heaptrack's interpreter
process counts) and wall time, each as a slowdown over the native run.
CPU time is the figure to compare on a shared machine: wall time follows
whatever else the machine runs.

  recorder/bench/record_overhead.py [--build build] [--runs 3] [--quick] [--json]

Workloads: record_bench_alloc_heavy (C++: maps, strings, vectors, lists),
python3 with PYTHONMALLOC=malloc (py_workload.py), record_bench_threads
(4 threads of malloc/free churn). Needs heaptrack and valgrind (Debian
packages of those names); a missing tool's column says so.
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def workloads(build, quick):
    scale = 4 if quick else 1
    python = os.path.realpath("/usr/bin/python3")  # not a pyenv shim: the tools would trace bash
    return [
        ("C++ alloc-heavy", [os.path.join(build, "bin", "record_bench_alloc_heavy"), str(1000 // scale)], {}),
        ("python3, PYTHONMALLOC=malloc", [python, os.path.join(HERE, "py_workload.py"), str(200000 // scale)],
         {"PYTHONMALLOC": "malloc"}),
        ("4 threads malloc/free", [os.path.join(build, "bin", "record_bench_threads"), "4", str(200000 // scale)], {}),
    ]


def tool_commands(build, scratch):
    lib = os.path.join(build, "lib", "libheapscope-record.so")
    tools = {
        "native": lambda cmd: (cmd, {}),
        "recorder": lambda cmd: (cmd, {"LD_PRELOAD": lib, "HEAPSCOPE_RECORD_REPORT": "1"}),
    }
    if shutil.which("heaptrack"):
        tools["heaptrack"] = lambda cmd: (["heaptrack", "-o", os.path.join(scratch, "heaptrack")] + cmd, {})
    if shutil.which("valgrind"):
        tools["massif"] = lambda cmd: (["valgrind", "--tool=massif", "-q",
                                        "--massif-out-file=" + os.path.join(scratch, "massif.out")] + cmd, {})
    return tools


def run_once(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.run(cmd, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-400:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stderr


def measure(build, runs, quick):
    scratch = tempfile.mkdtemp(prefix="record-overhead-")
    tools = tool_commands(build, scratch)
    rows = []
    for name, cmd, env in workloads(build, quick):
        row = {"workload": name, "tools": {}}
        for tool, wrap in tools.items():
            full, extra = wrap(cmd)
            walls, cpus, report = [], [], ""
            for _ in range(runs if tool != "massif" else 1):
                wall, cpu, err = run_once(full, dict(env, **extra))
                walls.append(wall)
                cpus.append(cpu)
                report = err
            row["tools"][tool] = {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}
            m = re.search(r"heapscope-record: .*", report)
            if tool == "recorder" and m:
                row["recorder_report"] = dict(kv.split("=") for kv in m.group(0).split()[1:])
            print("  %-30s %-10s cpu %.2f s wall %.2f s" % (name, tool, row["tools"][tool]["cpu_s"],
                                                          row["tools"][tool]["wall_s"]), file=sys.stderr)
        rows.append(row)
    shutil.rmtree(scratch, ignore_errors=True)
    return rows


def table(rows):
    tools = [t for t in ("recorder", "heaptrack", "massif") if t in rows[0]["tools"]]
    head = "| workload | native CPU | " + " | ".join("%s CPU (wall)" % t for t in tools) + \
           " | recorder's extra / heaptrack's | recorder bytes per live allocation |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        native = r["tools"]["native"]
        cells = []
        for t in tools:
            x = r["tools"][t]
            cells.append("%.2f s: %.1fx (%.1fx)" % (x["cpu_s"], x["cpu_s"] / native["cpu_s"],
                                                   x["wall_s"] / native["wall_s"]))
        ratio = "n/a"
        if "heaptrack" in r["tools"]:
            extra_rec = r["tools"]["recorder"]["cpu_s"] - native["cpu_s"]
            extra_ht = r["tools"]["heaptrack"]["cpu_s"] - native["cpu_s"]
            ratio = "%.2f" % (extra_rec / extra_ht) if extra_ht > 0 else "n/a"
        rep = r.get("recorder_report", {})
        per_live = "%s (peak %s live, %s stacks)" % (rep.get("record_bytes_per_live", "?"),
                                                     rep.get("peak_live", "?"), rep.get("stacks", "?"))
        lines.append("| %s | %.2f s | %s | %s | %s |" % (r["workload"], native["cpu_s"], " | ".join(cells),
                                                      ratio, per_live))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a quarter of the work (a smoke run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = measure(os.path.abspath(args.build), args.runs, args.quick)
    print(json.dumps(rows) if args.json else table(rows))


if __name__ == "__main__":
    main()
