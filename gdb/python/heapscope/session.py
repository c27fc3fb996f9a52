"""One core Session per stop of the selected inferior.

Two commands on the same stop share the session (and so the heap walk); it
is dropped when the inferior runs, exits, loads an objfile, or another
inferior is selected. The target is chosen fastest first: the core file
itself, /proc/PID/mem of a native process, gdb's memory reads otherwise.
"""

import os

import gdb

import _heapscope_gdb as core

from . import gdbtarget, settings

NO_TARGET = "no process or core file; use run, attach or core-file"


class HeapscopeError(Exception):
    """A one-line error for the user."""


_cache = {"key": None, "session": None, "kind": None}


def invalidate(*_args):
    _cache["key"] = None
    _cache["session"] = None
    _cache["kind"] = None


def register_events():
    for name in ("cont", "exited", "new_objfile", "clear_objfiles", "new_inferior",
                 "inferior_deleted", "memory_changed", "register_changed"):
        registry = getattr(gdb.events, name, None)
        if registry is not None:
            registry.connect(invalidate)


def _key():
    inf = gdb.selected_inferior()
    conn = inf.connection
    return (inf.num, inf.pid, conn.num if conn is not None else None,
            conn.type if conn is not None else None, settings.use_debuginfo(),
            settings.sysroot(), tuple(settings.debug_dirs()))


def _process_gone(pid):
    """True when pid has exited (a zombie, or no longer there): then no
    other way of reading it can work, and the direct reader's error is the
    true one."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1:2] in (["Z"], ["X"])
    except OSError:
        return not os.path.exists("/proc/%d" % pid)
    return False


def _open():
    """(session, kind) for the selected inferior; raises HeapscopeError."""
    inf = gdb.selected_inferior()
    kind = gdbtarget.connection_type()
    debuginfo = settings.use_debuginfo()
    fallback = gdbtarget.lookup_symbol
    files = dict(sysroot=settings.sysroot(), debug_dirs=settings.debug_dirs())
    if kind is None or (kind != "core" and inf.pid == 0):
        raise HeapscopeError(NO_TARGET)
    if kind == "core":
        path = gdbtarget.core_path()
        if path and os.path.isfile(path):
            try:
                return core.open_core(path, debuginfo, fallback, **files), "core"
            except core.OpenError as e:
                raise HeapscopeError(str(e))
    threads = gdbtarget.threads()
    if kind == "native":
        try:
            return core.open_live(inf.pid, threads, debuginfo, fallback, **files), "live"
        except core.OpenError as e:
            # A process that died while stopped: gdb's reads fail too, and
            # "pid N is a zombie" is the answer, not what a fallback says.
            if _process_gone(inf.pid):
                raise HeapscopeError(str(e))
            # e.g. /proc not readable here: fall back to gdb's reads
    regions = gdbtarget.mappings()
    complete = regions is not None
    if regions is None:
        regions = gdbtarget.sections()
    description = "process %d via gdb (%s)" % (inf.pid, kind) if inf.pid else "gdb target (%s)" % kind
    try:
        session = core.open_callback(gdbtarget.make_reader(inf), regions, complete, threads,
                                     gdbtarget.build_ids(), inf.pid or None, description,
                                     debuginfo, fallback, **files)
    except core.OpenError as e:
        raise HeapscopeError(str(e))
    return session, "callback"


def current():
    """The cached session for the current stop, opened on first use."""
    key = _key()
    if _cache["key"] != key or _cache["session"] is None:
        invalidate()
        session, kind = _open()
        _cache.update(key=key, session=session, kind=kind)
    return _cache["session"]


def current_kind():
    """How the cached session reads the inferior ("core", "live", "callback")."""
    return _cache["kind"]


def cached():
    """The session if one is open for the current stop, else None (no walk)."""
    try:
        return _cache["session"] if _cache["key"] == _key() else None
    except gdb.error:
        return None
