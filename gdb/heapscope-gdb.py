# heapscope for gdb: `source /PREFIX/share/heapscope/heapscope-gdb.py`
# (or add that line to ~/.gdbinit). Finds the extension module in
# @HEAPSCOPE_LOADER_TO_MODULE@ and the Python packages in ./python, relative to
# this file, so the build tree and an installed tree work alike (CMake writes
# the relative path of each tree's LIBDIR/heapscope into its copy).
import os
import sys

import gdb


def _loader_path():
    # Not __file__: when a Python script that gdb runs (gdb -x script.py)
    # sources this file, __file__ is still the outer script's (Python sets
    # it only when __main__ has none). The code object knows which file this is.
    return sys._getframe(1).f_code.co_filename


def _heapscope_load():
    here = os.path.dirname(os.path.realpath(_loader_path()))
    paths = [os.path.join(here, "python"),
             os.path.normpath(os.path.join(here, "@HEAPSCOPE_LOADER_TO_MODULE@"))]
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)
    try:
        import heapscope
    except ImportError as e:
        raise gdb.GdbError("heapscope: cannot load its Python module (%s); "
                           "was the gdb front-end built?" % e)
    heapscope.register()
    try:
        import heapscope_formatters
        heapscope_formatters.register()
    except ImportError:
        pass
    # One line, so a ~/.gdbinit user knows it is there and where to start.
    import _heapscope_gdb
    gdb.write("heapscope %s loaded: 'heap help' and 'mems help' list the commands\n"
              % _heapscope_gdb.version)


_heapscope_load()
del _heapscope_load
