"""`set heapscope ...` / `show heapscope ...`."""

import os

import gdb

_params = {}


class _Prefix(gdb.Command):
    def __init__(self, name, doc):
        self.__doc__ = doc
        super().__init__(name, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        gdb.execute("help " + self._name)


class _BoolParameter(gdb.Parameter):
    def __init__(self, name, default, set_doc, show_doc, doc, on_change=None):
        self.__doc__ = doc
        self.set_doc = set_doc
        self.show_doc = show_doc
        self._on_change = on_change
        self._label = name.split()[-1]
        super().__init__(name, gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = default

    def get_set_string(self):
        if self._on_change is not None:
            self._on_change()
        return ""

    def get_show_string(self, svalue):
        return "heapscope %s is %s." % (self._label, svalue)


def register():
    if _params:
        return
    for verb in ("set", "show"):
        p = _Prefix("%s heapscope" % verb, "%s heapscope options." % verb.capitalize())
        p._name = "%s heapscope" % verb
        _params["prefix-" + verb] = p
    from . import session

    _params["debuginfo"] = _BoolParameter(
        "heapscope debuginfo", True,
        "Set whether heapscope reads libc's separate debug info.",
        "Show whether heapscope reads libc's separate debug info.",
        "Off: only dynamic symbols and structure are used (the CLI's --no-debuginfo).",
        on_change=session.invalidate)


def use_debuginfo():
    p = _params.get("debuginfo")
    return True if p is None else bool(p.value)


def color():
    """Colour as gdb colours its own output: `set style enabled` on (gdb -batch
    turns it off), gdb's stdout a terminal, and TERM set and not "dumb"."""
    try:
        enabled = bool(gdb.parameter("style enabled"))
    except (gdb.error, RuntimeError):
        return False
    term = os.environ.get("TERM")
    try:
        tty = os.isatty(1)
    except OSError:
        return False
    return enabled and tty and term not in (None, "", "dumb")


def sysroot():
    """gdb's `set sysroot`, as a directory prefix for the target's files
    ("" for this machine's own files). "target:" means "through the target",
    which for a local core or process is this machine's file system."""
    try:
        value = gdb.parameter("sysroot") or ""
    except (gdb.error, RuntimeError):
        return ""
    for prefix in ("target:", "remote:"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    value = value.rstrip("/")
    return value


def debug_dirs():
    """gdb's `set debug-file-directory` (colon-separated)."""
    try:
        value = gdb.parameter("debug-file-directory") or ""
    except (gdb.error, RuntimeError):
        return []
    return [d.rstrip("/") for d in value.split(":") if d.rstrip("/")]
