#!/usr/bin/env python3
"""A structured mutation campaign over real cores (python3 standard library only).

libFuzzer flips bytes; this driver breaks a core the way real damage and
hostile files do, knowing where things are: program headers (offsets past
the end, sizes that wrap, overlapping and top-of-address-space segments),
notes (NT_FILE counts and paths, NT_PRSTATUS, NT_AUXV, note sizes) and heap
words found by heapscope itself on the clean core (chunk sizes and flags,
fd/bk, tcache entries, the arena's top and bins). Each mutant runs through
every `heap` command with a timeout and a memory limit; a crash (signal), a
hang, an abort, an exit status other than 0 or 2 (or 1 from `heap check`,
which says so when it finds problems), or an error that is not one line
fails the campaign, and the mutant is kept in ARTIFACTS.

  mutate_cores.py --cli build/bin/heapscope --examples build/examples \
      --work DIR [--seconds 60 | --mutants 200] [--seed N] [--asan] [--jobs N]
"""

import argparse
import concurrent.futures
import glob
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import time

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_AUXV, NT_FILE = 1, 6, 0x46494C45
SCENARIOS = ("scenario_single", "scenario_threads", "scenario_mmap")
COMMAND_TIMEOUT = 20
MEMORY_LIMIT = 2 << 30
INTERESTING = [0, 1, 7, 8, 0x10, 0x11, 0x20, 0x21, 0x7f, 0x80, 0xff, 0x1000, 0x1001, 0xffff,
               0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, 1 << 47, 1 << 48, 1 << 63,
               (1 << 64) - 1, (1 << 64) - 8, (1 << 64) - 0x1000, (1 << 64) - 0x10]


def u64(data, off):
    return struct.unpack_from("<Q", data, off)[0]


def put64(data, off, value):
    """Writes a word; an offset an earlier mutation made meaningless is skipped."""
    if 0 <= off <= len(data) - 8:
        struct.pack_into("<Q", data, off, value & ((1 << 64) - 1))


class Core:
    """Where things are in one real core: program headers, notes, heap words."""

    def __init__(self, path, cli):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        self.phoff = u64(d, 32)
        self.phentsize, self.phnum = struct.unpack_from("<HH", d, 54)
        self.phdrs = []  # (index, type, offset, vaddr, filesz, memsz)
        for i in range(self.phnum):
            p_type, _f, off, vaddr, _pa, filesz, memsz, _al = struct.unpack_from(
                "<IIQQQQQQ", d, self.phoff + i * self.phentsize)
            self.phdrs.append((i, p_type, off, vaddr, filesz, memsz))
        self.notes = []  # (type, header offset, desc offset, descsz)
        for _i, p_type, off, _v, filesz, _m in self.phdrs:
            if p_type != PT_NOTE:
                continue
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, n_type = struct.unpack_from("<III", d, pos)
                desc = pos + 12 + ((namesz + 3) & ~3)
                self.notes.append((n_type, pos, desc, descsz))
                pos = desc + ((descsz + 3) & ~3)
        self.words = self.heap_words(cli)

    def file_offset(self, addr):
        for _i, p_type, off, vaddr, filesz, _m in self.phdrs:
            if p_type == PT_LOAD and vaddr <= addr and addr + 8 <= vaddr + filesz:
                return off + addr - vaddr
        return None

    def heap_words(self, cli):
        """{kind: [file offset]} of words glibc's walk depends on."""
        words = {k: [] for k in ("size", "prev_size", "fd", "bk", "tcache_next", "tcache_key",
                                 "fd_nextsize", "arena")}
        out = subprocess.run([cli, self.path, "heap", "chunks", "--json"], capture_output=True,
                             timeout=120)
        if out.returncode == 0:
            for c in json.loads(out.stdout)["chunks"]:
                a = int(c["address"], 16)
                state = c["state"]
                for kind, delta in (("prev_size", 0), ("size", 8)):
                    words[kind].append(self.file_offset(a + delta))
                if state == "tcache":
                    words["tcache_next"].append(self.file_offset(a + 16))
                    words["tcache_key"].append(self.file_offset(a + 24))
                elif state in ("fast", "unsorted", "small", "large"):
                    words["fd"].append(self.file_offset(a + 16))
                    if state != "fast":
                        words["bk"].append(self.file_offset(a + 24))
                    if state == "large":
                        words["fd_nextsize"].append(self.file_offset(a + 32))
                        words["fd_nextsize"].append(self.file_offset(a + 40))
        stats = subprocess.run([cli, self.path, "heap", "stats", "--json"], capture_output=True,
                               timeout=120)
        if stats.returncode == 0:
            for arena in json.loads(stats.stdout)["arenas"]:
                base = int(arena["address"], 16)
                # malloc_state: mutex, flags, have_fastchunks, fastbins, top, last_remainder, bins...
                for k in range(0, 2200, 8):
                    words["arena"].append(self.file_offset(base + k))
        return {k: [o for o in v if o is not None] for k, v in words.items()}


def pointer_like(core, rng):
    """A value a pointer in this core might hold, or a hostile one."""
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(INTERESTING)
    loads = [p for p in core.phdrs if p[1] == PT_LOAD]
    _i, _t, _o, vaddr, _f, memsz = rng.choice(loads)
    value = vaddr + rng.randrange(max(memsz, 1))
    if choice < 0.5:
        value &= ~0xF
    elif choice < 0.6:
        value ^= (value >> 12)  # safe-linking's mangling, applied once more
    return value


# ------------------------------------------------------------ mutators


def mutate_phdr(core, data, rng):
    idx, p_type, *_ = rng.choice(core.phdrs)
    base = core.phoff + idx * core.phentsize
    field = rng.choice(["offset", "vaddr", "filesz", "memsz", "type", "wrap", "overlap", "phnum"])
    if field == "offset":
        put64(data, base + 8, rng.choice([len(data), len(data) - 1, len(data) + 4096] + INTERESTING))
    elif field == "vaddr":
        put64(data, base + 16, rng.choice(INTERESTING) & ~0xFFF)
    elif field == "filesz":
        put64(data, base + 32, rng.choice(INTERESTING + [u64(data, base + 40) + 4096]))
    elif field == "memsz":
        put64(data, base + 40, rng.choice(INTERESTING))
    elif field == "type":
        struct.pack_into("<I", data, base, rng.choice([PT_LOAD, PT_NOTE, 0, 6, 0x6474e550]))
    elif field == "wrap":  # an anonymous segment at the very top of the address space
        put64(data, base + 16, (1 << 64) - 0x1000 * rng.choice([1, 2, 16]))
        put64(data, base + 40, 0x1000 * rng.choice([1, 2, 16, 1 << 20]))
    elif field == "overlap":
        other = rng.choice(core.phdrs)
        put64(data, base + 16, other[3] + rng.choice([0, 8, 0x1000]))
    else:
        struct.pack_into("<H", data, 56, rng.choice([core.phnum + 1, core.phnum - 1, 0xffff, 1]))
    return "phdr.%s" % field


def mutate_note(core, data, rng):
    n_type, hdr, desc, descsz = rng.choice(core.notes)
    field = rng.choice(["namesz", "descsz", "type", "file", "prstatus", "auxv"])
    if field == "namesz":
        struct.pack_into("<I", data, hdr, rng.choice([0, 3, 0xffffffff, 0x7fffffff, 4096]))
    elif field == "descsz":
        struct.pack_into("<I", data, hdr + 4, rng.choice([0, 1, descsz + 1, 0xffffffff, descsz * 2]))
    elif field == "type":
        struct.pack_into("<I", data, hdr + 8, rng.choice([NT_FILE, NT_PRSTATUS, NT_AUXV, 0]))
    elif field == "file":
        files = [n for n in core.notes if n[0] == NT_FILE]
        if not files:
            return mutate_phdr(core, data, rng)
        _t, _h, d, size = files[0]
        count = u64(data, d)
        what = rng.choice(["count", "page", "entry", "path"])
        if what == "count":
            put64(data, d, rng.choice([count + 1, count * 1000, (1 << 64) - 1, 1 << 61, 0]))
        elif what == "page":
            put64(data, d + 8, rng.choice([0, 1, 3, (1 << 64) - 1, 1 << 40]))
        elif what == "entry" and count:
            e = d + 16 + 24 * rng.randrange(min(count, max(size // 24, 1)))
            put64(data, e + rng.choice([0, 8, 16]), rng.choice(INTERESTING))
        else:  # paths lose their terminators, or become "/dev/zero" and "/proc/self/mem"
            strings = d + 16 + 24 * count
            if strings < d + size:
                pos = strings + rng.randrange(d + size - strings)
                repl = rng.choice([b"\x01", b"/dev/zero\0", b"/proc/self/mem\0", b"/\0", b"."])
                data[pos:pos + len(repl)] = repl[:max(0, d + size - pos)]
    elif field == "prstatus":
        ps = [n for n in core.notes if n[0] == NT_PRSTATUS]
        _t, _h, d, size = rng.choice(ps)
        # Registers (sp, fs_base, ...) at hostile values.
        put64(data, d + 112 + 8 * rng.randrange(27), pointer_like(core, rng))
    else:
        aux = [n for n in core.notes if n[0] == NT_AUXV]
        if not aux:
            return mutate_phdr(core, data, rng)
        _t, _h, d, size = aux[0]
        k = rng.randrange(max(size // 16, 1))
        put64(data, d + 16 * k + rng.choice([0, 8]), pointer_like(core, rng))
    return "note.%s" % field


def mutate_heap(core, data, rng):
    kinds = [k for k, v in core.words.items() if v]
    if not kinds:
        return mutate_phdr(core, data, rng)
    kind = rng.choice(kinds)
    off = rng.choice(core.words[kind])
    if kind == "size":
        old = u64(data, off)
        value = rng.choice([old ^ 1, old ^ 2, old ^ 4, old + 16, old - 16, old * 2, old | (1 << 40),
                            0, 0x10, 0x11] + INTERESTING)
    elif kind == "prev_size":
        value = rng.choice([u64(data, off) + 16, 0x10, 1 << 40] + INTERESTING)
    elif kind == "tcache_next" and rng.random() < 0.4:
        # A cycle: the entry points at itself (mangled as glibc 2.32+ would).
        value = rng.choice([u64(data, off) ^ 0x10, 0])
    else:
        value = pointer_like(core, rng)
    put64(data, off, value)
    return "heap.%s" % kind


def mutate_bytes(core, data, rng):
    loads = [p for p in core.phdrs if p[1] == PT_LOAD and p[4] > 0]
    _i, _t, off, _v, filesz, _m = rng.choice(loads)
    for _ in range(rng.randint(1, 16)):
        pos = off + rng.randrange(filesz)
        if pos < len(data):
            data[pos] = rng.randrange(256)
    return "bytes.flip"


MUTATORS = [(mutate_phdr, 2), (mutate_note, 2), (mutate_heap, 5), (mutate_bytes, 1)]


def mutate(core, rng):
    data = bytearray(core.data)
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        fn = rng.choices([m for m, _ in MUTATORS], weights=[w for _, w in MUTATORS])[0]
        names.append(fn(core, data, rng))
    if rng.random() < 0.1:  # and some are cut short as well
        del data[rng.randrange(len(data)):]
        names.append("cut")
    return bytes(data), names


# ------------------------------------------------------------ running


def heap_commands(cli, core):
    out = subprocess.run([cli, core, "heap", "help"], capture_output=True, text=True, timeout=60)
    names = []
    in_list = False
    for line in out.stdout.splitlines():
        if line.startswith("Subcommands:"):
            in_list = True
        elif in_list and line.startswith("  "):
            names.append(line.split()[0])
        elif in_list and not line.strip():
            in_list = False
    return names


def command_lines(names, address):
    lines = []
    for n in names:
        if n in ("chunk", "refs"):
            lines.append([n, "%#x" % address])
        elif n == "map":
            lines.append([n])
        else:
            lines.append([n, "--json"] if n in ("stats", "check", "chunks") else [n])
    return lines


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_one(cli, path, argv, asan):
    """None when the run is acceptable, else why not."""
    env = dict(os.environ)
    if asan:
        # ASan reserves terabytes of shadow: cap malloc instead of the address space.
        env["ASAN_OPTIONS"] = ("detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:"
                               "malloc_limit_mb=%d" % (MEMORY_LIMIT >> 20))
    try:
        p = subprocess.run([cli, path, "heap"] + argv, capture_output=True, timeout=COMMAND_TIMEOUT,
                           env=env, preexec_fn=None if asan else limit_memory)
    except subprocess.TimeoutExpired:
        return "hang: no answer in %ds" % COMMAND_TIMEOUT
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        return "killed by signal %d: %s" % (-p.returncode, err[-400:])
    # heap check exits 1 when it finds problems: on a mutant, the answer.
    allowed = (0, 1, 2) if argv and argv[0] == "check" else (0, 2)
    if p.returncode not in allowed:
        return "exit status %d: %s" % (p.returncode, err[-400:])
    for bad in ("terminate called", "Traceback", "AddressSanitizer", "runtime error:", "LeakSanitizer"):
        if bad in err:
            return "%s: %s" % (bad, err[-400:])
    if p.returncode == 2 and len(err.strip().splitlines()) != 1:
        return "an error of %d lines: %s" % (len(err.strip().splitlines()), err[-400:])
    return None


def make_cores(examples, work):
    cores = []
    for name in SCENARIOS:
        exe = os.path.join(examples, name)
        if not os.path.exists(exe):
            continue
        d = os.path.join(work, "base-" + name)
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "core*")):
            os.remove(old)
        subprocess.run(["bash", "-c", 'ulimit -c unlimited; exec "$0"', exe], cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        for _ in range(100):
            found = glob.glob(os.path.join(d, "core*"))
            if found:
                cores.append(found[0])
                break
            time.sleep(0.05)
    return cores


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--mutants", type=int, default=0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="commands run at once")
    args = ap.parse_args()
    args.cli, args.examples = os.path.abspath(args.cli), os.path.abspath(args.examples)
    if not args.seconds and not args.mutants:
        args.seconds = 60
    os.makedirs(args.work, exist_ok=True)
    artifacts = os.path.join(args.work, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    rng = random.Random(args.seed)
    paths = make_cores(args.examples, args.work)
    if not paths:
        print("mutate_cores: no core files (core_pattern %s, or no scenario programs in %s)"
              % (open("/proc/sys/kernel/core_pattern").read().strip(), args.examples))
        return 1
    cores = [Core(p, args.cli) for p in paths]
    names = heap_commands(args.cli, paths[0])
    print("mutate_cores: seed %d, %d cores, commands: %s" % (args.seed, len(cores), " ".join(names)))
    start = time.monotonic()
    mutants = runs = failures = 0
    by_kind = {}
    mutant_path = os.path.join(args.work, "mutant")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    while True:
        if args.mutants and mutants >= args.mutants:
            break
        if args.seconds and time.monotonic() - start >= args.seconds:
            break
        core = rng.choice(cores)
        data, kinds = mutate(core, rng)
        with open(mutant_path, "wb") as f:
            f.write(data)
        mutants += 1
        for k in kinds:
            by_kind[k] = by_kind.get(k, 0) + 1
        chunk_word = core.words["size"] and rng.choice(core.words["size"])
        address = 0x10
        for _i, p_type, off, vaddr, filesz, _m in core.phdrs:
            if chunk_word and p_type == PT_LOAD and off <= chunk_word < off + filesz:
                address = vaddr + chunk_word - off + 8
        lines = command_lines(names, address)
        # The first command alone: a mutant that hangs it would hang them all.
        verdicts = [run_one(args.cli, mutant_path, lines[0], args.asan)]
        if not verdicts[0]:
            verdicts += pool.map(lambda argv: run_one(args.cli, mutant_path, argv, args.asan), lines[1:])
        runs += len(verdicts)
        bad = [(argv, why) for argv, why in zip(lines, verdicts) if why]
        if bad:
            failures += 1
            keep = os.path.join(artifacts, "mutant-%d-%d" % (args.seed, mutants))
            with open(keep, "wb") as f:
                f.write(data)
            for argv, why in bad:
                print("FAILED: heap %s on %s (%s): %s" % (" ".join(argv), keep, "+".join(kinds), why))
    elapsed = time.monotonic() - start
    pool.shutdown()
    print("mutate_cores: %d mutants, %d command runs, %d failing mutants in %.0fs"
          % (mutants, runs, failures, elapsed))
    print("mutate_cores: mutations: " + ", ".join("%s %d" % kv for kv in sorted(by_kind.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
