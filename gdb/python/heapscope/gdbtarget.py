"""What gdb knows about the inferior: core path, threads, mappings, symbols.

Only gdb queries live here; the core decides what to do with the answers.
"""

import os
import re

import gdb

_X86_64_REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                "rip", "eflags", "fs_base", "gs_base")
_AARCH64_REGS = tuple("x%d" % i for i in range(31)) + ("sp", "pc", "cpsr", "tpidr")


def core_path():
    """The core file gdb has open for the selected inferior, or None."""
    inf = gdb.selected_inferior()
    conn = inf.connection
    if conn is None or conn.type != "core":
        return None
    # gdb 13 has no Python attribute for it; `info target` names it as
    #   Local core dump file:\n\t`/path/core', file type elf64-x86-64.
    text = gdb.execute("info target", to_string=True)
    m = re.search(r"Local core dump file:\s*\n\s*`(.*)', file type", text)
    if not m:
        return None
    path = m.group(1)
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    return path


def connection_type():
    conn = gdb.selected_inferior().connection
    return None if conn is None else conn.type


def _register_names():
    try:
        name = gdb.selected_inferior().architecture().name()
    except Exception:  # no frame yet
        name = ""
    return _AARCH64_REGS if "aarch64" in name else _X86_64_REGS


def threads():
    """Every thread's registers, as dicts for the core; restores the selection."""
    inf = gdb.selected_inferior()
    names = _register_names()
    try:
        orig_thread = gdb.selected_thread()
    except gdb.error:
        orig_thread = None
    try:
        orig_frame = gdb.selected_frame()
    except gdb.error:
        orig_frame = None
    out = []
    try:
        for t in sorted(inf.threads(), key=lambda t: t.num):
            if not t.is_valid() or t.is_exited():
                continue
            t.switch()
            try:
                frame = gdb.newest_frame()
            except gdb.error:
                continue
            regs = {}
            for r in names:
                try:
                    regs[r] = int(frame.read_register(r)) & 0xFFFFFFFFFFFFFFFF
                except (gdb.error, ValueError):
                    pass
            pid, lwp, tid = t.ptid
            out.append({"tid": lwp or tid or pid, "registers": regs})
    finally:
        if orig_thread is not None and orig_thread.is_valid():
            orig_thread.switch()
            if orig_frame is not None and orig_frame.is_valid():
                orig_frame.select()
    return out


_MAPPING = re.compile(
    r"^\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)"
    r"(?:\s+([r-][w-][x-][ps-]))?\s*(.*?)\s*$")


def mappings():
    """(begin, end, perms, path, offset) from `info proc mappings`, or None."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error:
        return None
    out = []
    for line in text.splitlines():
        m = _MAPPING.match(line)
        if not m:
            continue
        begin, end, _size, offset = (int(m.group(i), 16) for i in range(1, 5))
        perms = m.group(5) or "rw-p"  # older gdbs print no permissions
        out.append((begin, end, perms, m.group(6) or "", offset))
    return out or None


_SECTION = re.compile(r"^\s*(0x[0-9a-f]+) - (0x[0-9a-f]+) is (\S+)(?: in (.*))?$")


def sections():
    """Regions from gdb's section table (`info files`): the last resort."""
    main = gdb.selected_inferior().progspace.filename or ""
    out = []
    for line in gdb.execute("info files", to_string=True).splitlines():
        m = _SECTION.match(line)
        if not m:
            continue
        begin, end = int(m.group(1), 16), int(m.group(2), 16)
        name = m.group(3)
        path = m.group(4) or main
        perms = "r-xp" if name in (".text", ".plt", ".init", ".fini") else "rw-p"
        out.append((begin, end, perms, path, 0))
    return out


def build_ids():
    ids = {}
    for objfile in gdb.objfiles():
        try:
            if objfile.build_id and objfile.filename:
                ids[objfile.filename] = objfile.build_id
        except (gdb.error, RuntimeError):
            pass
    return ids


def make_reader(inferior):
    def read(addr, length):
        try:
            return bytes(inferior.read_memory(addr, length))
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            return None
    return read


def lookup_symbol(name):
    """gdb's own idea of where `name` is (main_arena is static in libc)."""
    try:
        sym = gdb.lookup_static_symbol(name)
        if sym is None:
            sym = gdb.lookup_global_symbol(name)
        if sym is not None and sym.addr_class != gdb.SYMBOL_LOC_TYPEDEF:
            addr = sym.value().address
            if addr is not None:
                return int(addr)
    except (gdb.error, RuntimeError):
        pass
    try:
        return int(gdb.parse_and_eval("(unsigned long)&'%s'" % name.replace("'", "")))
    except (gdb.error, RuntimeError):
        return None


_ADDRESS_TYPES = (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM, gdb.TYPE_CODE_CHAR,
                  gdb.TYPE_CODE_BOOL)


def evaluate_address(expression):
    """An address argument as gdb evaluates it (`heap chunk victim`,
    `$rax`, `ptr->next`): an int, or the one-line error as a str. Calls into
    the inferior are refused: heapscope never runs code in the program."""
    try:
        previous = gdb.parameter("may-call-functions")
    except (gdb.error, RuntimeError):
        previous = None
    try:
        if previous:
            gdb.execute("set may-call-functions off", to_string=True)
        value = gdb.parse_and_eval(expression)
        kind = value.type.strip_typedefs().code
        if kind == gdb.TYPE_CODE_ARRAY and value.address is not None:
            return int(value.address) & 0xFFFFFFFFFFFFFFFF  # an array stands for its start
        if kind not in _ADDRESS_TYPES:
            return "cannot evaluate '%s': it is a %s, not an address" % (expression, value.type)
        return int(value) & 0xFFFFFFFFFFFFFFFF
    except (gdb.error, gdb.MemoryError, RuntimeError, ValueError, OverflowError) as e:
        reason = (str(e).strip().splitlines() or ["no value"])[0]
        return "cannot evaluate '%s': %s" % (expression, reason)
    finally:
        if previous:
            gdb.execute("set may-call-functions on", to_string=True)
