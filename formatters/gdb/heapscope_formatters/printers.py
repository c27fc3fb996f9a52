"""Pretty-printers for glibc's malloc structures (glibc 2.26+ layouts as the
debug info describes them; safe-linking decoding from glibc 2.32)."""

import re

import gdb
import gdb.printing

# Low bits of mchunk_size (malloc.c: PREV_INUSE, IS_MMAPPED, NON_MAIN_ARENA).
_FLAGS = ((1, "PREV_INUSE"), (2, "IS_MMAPPED"), (4, "NON_MAIN_ARENA"))
_MASK = 0xFFFFFFFFFFFFFFFF


def _u(value):
    return int(value) & _MASK


def _hex(n):
    return "0x%x" % n


def _model_chunk(addr):
    """What heapscope's heap model says about the chunk holding addr, if the
    gdb front-end is loaded and a heap can be walked; else None."""
    try:
        from heapscope import session
        return session.current().chunk(addr)
    except Exception:  # printers must never fail the print
        return None


def _reveal(field_addr, stored):
    # glibc >= 2.32 PROTECT_PTR: stored = (&field >> 12) ^ pointer.
    return (field_addr >> 12) ^ stored


class MallocChunkPrinter:
    """struct malloc_chunk: size, flags, state, fd decoded when safe-linked."""

    def __init__(self, val):
        self.val = val

    def _fields(self):
        return [f.name for f in self.val.type.strip_typedefs().fields()]

    def to_string(self):
        raw_size = _u(self.val["mchunk_size"])
        size = raw_size & ~7
        flags = [name for bit, name in _FLAGS if raw_size & bit]
        text = "malloc_chunk"
        addr = self.val.address
        model = None
        if addr is not None:
            addr = _u(addr)
            text += " " + _hex(addr)
            model = _model_chunk(addr)
        text += ": size %s (%d), flags %s" % (_hex(size), size, "|".join(flags) or "none")
        if model is not None and model["address"] == addr:
            text += ", state " + model["state"]
            fd = _u(self.val["fd"])
            if model["state"] in ("tcache", "fast") and addr is not None:
                decoded = _reveal(addr + 16, fd)
                if model["state"] == "tcache" and decoded:
                    text += ", next %s (chunk %s)" % (_hex(decoded), _hex(decoded - 16))
                else:
                    text += ", next %s" % _hex(decoded)
        elif model is not None:
            text += ", inside chunk %s (%s)" % (_hex(model["address"]), model["state"])
        return text

    def children(self):
        for name in self._fields():
            yield name, self.val[name]


class MallocStatePrinter:
    """struct malloc_state (an arena): totals, top, and the non-empty bins."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        v = self.val
        text = "malloc_state"
        if v.address is not None:
            text += " " + _hex(_u(v.address))
        return text + ": system_mem %d, top %s, next %s" % (
            _u(v["system_mem"]), _hex(_u(v["top"])), _hex(_u(v["next"])))

    def children(self):
        v = self.val
        for name in ("flags", "have_fastchunks", "top", "last_remainder"):
            yield name, v[name]
        fast = v["fastbinsY"]
        lo, hi = fast.type.range()
        for i in range(lo, hi + 1):
            if _u(fast[i]):
                yield "fastbinsY[%d]" % i, fast[i]
        bins = v["bins"]
        lo, hi = bins.type.range()
        # bin_at(m, i) is &bins[2*(i-1)] - 16: a bin is empty when its fd
        # points back at itself.
        for j in range(lo, hi + 1, 2):
            if v.address is None:
                break
            self_addr = _u(bins[j].address) - 16
            if _u(bins[j]) != self_addr:
                yield "bins[%d] (bin %d) fd" % (j, j // 2 + 1), bins[j]
                yield "bins[%d] (bin %d) bk" % (j + 1, j // 2 + 1), bins[j + 1]
        for name in ("next", "next_free", "attached_threads", "system_mem", "max_system_mem"):
            yield name, v[name]


class TcachePrinter:
    """tcache_perthread_struct: each non-empty bin's count and first chunk."""

    def __init__(self, val):
        self.val = val

    def _bins(self):
        counts, entries = self.val["counts"], self.val["entries"]
        lo, hi = counts.type.range()
        for i in range(lo, hi + 1):
            count, head = int(counts[i]), _u(entries[i])
            if count or head:
                yield i, count, head

    def to_string(self):
        bins = list(self._bins())
        text = "tcache_perthread_struct"
        if self.val.address is not None:
            text += " " + _hex(_u(self.val.address))
        return text + ": %d chunks in %d bins" % (sum(c for _, c, _ in bins), len(bins))

    def children(self):
        for i, count, head in self._bins():
            # tidx2usize: chunk size MINSIZE + i * MALLOC_ALIGNMENT (x86-64: 32 + 16i).
            label = "[%d] size %s" % (i, _hex(32 + 16 * i))
            summary = "count %d, first %s" % (count, _hex(head))
            if head:
                summary += " (chunk %s)" % _hex(head - 16)
            yield label, summary


def build():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("heapscope-malloc")
    pp.add_printer("malloc_chunk", "^malloc_chunk$", MallocChunkPrinter)
    pp.add_printer("malloc_state", "^malloc_state$", MallocStatePrinter)
    pp.add_printer("tcache_perthread_struct", "^tcache_perthread_struct$", TcachePrinter)
    return pp


_LIBC = re.compile(r"(^|/)libc(\.so|-2\.)|/libc\.so|\.debug$")


def register_for_objfile(objfile):
    """Registers the printers on libc's objfile (or its debug file)."""
    if objfile is None or not objfile.filename:
        return
    name = objfile.filename
    if not _LIBC.search(name):
        return
    if name.endswith(".debug"):
        owner = getattr(objfile, "owner", None)
        if owner is None or not re.search(r"(^|/)libc\.so", owner.filename or ""):
            return
    gdb.printing.register_pretty_printer(objfile, build(), replace=True)
