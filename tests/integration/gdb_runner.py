# Sourced inside `gdb -batch` by gdb_frontend_test.py: runs the commands the
# test wrote to $HEAPSCOPE_GDB_RUNNER_IN, one gdb.execute each, and writes
# what each printed (or its error line) to $HEAPSCOPE_GDB_RUNNER_OUT as JSON.
import json
import os
import time

import gdb


def _main():
    with open(os.environ["HEAPSCOPE_GDB_RUNNER_IN"]) as f:
        spec = json.load(f)
    results = []
    for step in spec["steps"]:
        kind, arg = step
        entry = {"kind": kind, "arg": arg}
        t0 = time.monotonic()
        try:
            if kind == "cmd":
                entry["out"] = gdb.execute(arg, to_string=True)
                entry["ok"] = True
            elif kind == "py":
                entry["out"] = repr(eval(arg, {"gdb": gdb, "__import__": __import__}))
                entry["ok"] = True
        except gdb.error as e:
            entry["ok"] = False
            entry["error"] = str(e)
        except Exception as e:  # a bug in the front-end: the test reports it
            entry["ok"] = False
            entry["error"] = "PYTHON %s: %s" % (type(e).__name__, e)
        entry["seconds"] = time.monotonic() - t0
        results.append(entry)
    with open(os.environ["HEAPSCOPE_GDB_RUNNER_OUT"], "w") as f:
        json.dump(results, f)


_main()
