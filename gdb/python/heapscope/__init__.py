"""heapscope inside gdb: the `heap` and `mems` commands.

This package only adapts gdb to heapscope's C++ core (_heapscope_gdb): it
registers one gdb command per entry of the core's command table, picks the
fastest way to read the inferior, and writes what the core renders.
"""

_registered = False


def register():
    """Registers commands, settings and event hooks once per gdb session."""
    global _registered
    if _registered:
        return
    from . import commands, session, settings
    settings.register()
    session.register_events()
    commands.register()
    _registered = True
