# Sourced inside `gdb -batch` by realworld_test.py right after `run`: makes
# sure the program is stopped at the corpus breakpoint with no thread inside
# glibc's malloc (an arena lock held or a list half-linked would make
# malloc_info() hang and the heap inconsistent), continuing to the next hit of
# the breakpoint otherwise. Writes what it found to $HEAPSCOPE_RW_STOP_OUT.
import json
import os
import re

import gdb

# glibc's allocator functions (libc6-dbg names them, inlined ones included).
_MALLOC_INTERNALS = re.compile(
    r"^(__GI_)?(__libc_)?(malloc|free|calloc|realloc|valloc|pvalloc|memalign|posix_memalign|"
    r"aligned_alloc|cfree|_mid_memalign|_int_\w+|sysmalloc|systrim|malloc_consolidate|"
    r"malloc_trim|mtrim|tcache_\w+|arena_get2|get_free_list|reused_arena|new_heap|"
    r"alloc_new_heap|heap_trim|shrink_heap|munmap_chunk|mremap_chunk|ptmalloc_init|"
    r"__malloc_\w+|unlink_chunk)$")
_MAX_FRAMES = 64
_MAX_CONTINUES = 50


def _thread_in_malloc(thread):
    thread.switch()
    frame = gdb.newest_frame()
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        name = frame.name() or ""
        lib = gdb.solib_name(frame.pc()) or ""
        if "libc.so" in lib and _MALLOC_INTERNALS.match(name):
            return name
        try:
            frame = frame.older()
        except gdb.error:
            return None
    return None


def _busy_threads():
    inferior = gdb.selected_inferior()
    selected = gdb.selected_thread()
    busy = []
    for thread in inferior.threads():
        name = _thread_in_malloc(thread)
        if name:
            busy.append("%d in %s" % (thread.ptid[1], name))
    selected.switch()
    return busy


def _main():
    report = {"stopped": False, "continues": 0, "threads": 0, "busy": []}
    for _ in range(_MAX_CONTINUES + 1):
        inferior = gdb.selected_inferior()
        if inferior.pid == 0 or not inferior.threads():
            break
        report["stopped"] = True
        report["threads"] = len(inferior.threads())
        report["busy"] = _busy_threads()
        if not report["busy"]:
            break
        report["stopped"] = False
        report["continues"] += 1
        gdb.execute("continue", to_string=True)
    report["pid"] = gdb.selected_inferior().pid
    with open(os.environ["HEAPSCOPE_RW_STOP_OUT"], "w") as f:
        json.dump(report, f)


_main()
