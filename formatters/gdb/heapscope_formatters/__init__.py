"""gdb pretty-printers for glibc malloc structures (struct malloc_chunk,
struct malloc_state, tcache_perthread_struct), registered on libc's objfile.

The types come from libc's debug info (libc6-dbg on Debian); without it
there is nothing to print and nothing is registered.
"""

_registered = False


def register():
    global _registered
    if _registered:
        return
    import gdb

    from . import printers
    for objfile in gdb.objfiles():
        printers.register_for_objfile(objfile)
    gdb.events.new_objfile.connect(lambda event: printers.register_for_objfile(event.new_objfile))
    _registered = True
