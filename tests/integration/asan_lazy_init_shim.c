/*
 * asan_lazy_init_shim — preloaded after the ASan runtime into gdb and lldb in
 * a sanitizer build (heapscope_testlib.debugger_env).
 *
 * Preloaded libraries are initialised last, so in gdb and lldb a library
 * constructor (libp11-kit's, through gnutls) makes the first malloc() call,
 * from inside newlocale() while it holds glibc's locale lock. That malloc
 * initialises ASan, and gcc 12's ASan looks up swift_demangle with dlsym and
 * clears the miss with dlerror(), which translates the message and so takes
 * the same lock again: glibc 2.36 refuses the nested lock but still unlocks
 * it, the lock count underflows and the debugger hangs in its first
 * setlocale(). When swift_demangle exists, dlsym does not fail and dlerror()
 * has nothing to translate. ASan only calls it to demangle Swift names;
 * returning NULL means "not one".
 */
#include <stddef.h>

char *swift_demangle(const char *name, size_t length, char *out, size_t *out_length,
                     unsigned flags) {
    (void)name;
    (void)length;
    (void)out;
    (void)out_length;
    (void)flags;
    return NULL;
}
