# The python3 workload of the recorder's overhead benchmark (run with
# PYTHONMALLOC=malloc so that every object goes through malloc): dicts,
# strings, lists and tuples, built and dropped.
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
kept = {}
for i in range(n):
    kept[str(i)] = [i, str(i * 2), (i, i + 1)]
    if i % 3 == 0:
        kept.pop(str(i // 2), None)
print("py_workload:", len(kept), sum(len(v[1]) for v in kept.values()))
