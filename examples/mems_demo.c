/*
 * mems_demo — a small heap of the project's own allocators, then a core dump.
 *
 * What it builds (the same on every run, apart from physical addresses):
 *   segments   make_records() allocates six segments (100, 2000, 5000, 300,
 *              64 and 12000 bytes), each filled with "SEG<i>" repeated;
 *              drop_some() frees the 2000- and 64-byte ones: the first
 *              leaves a HOLE between two PROCESS segments of the first
 *              node, the second merges with that node's trailing HOLE.
 *   pools      make_objects() allocates 10 blocks of 24 bytes (class 1),
 *              6 of 100 (class 6) and 3 of 500 (class 31), filled with
 *              "OBJ<class>.<n>"; drop_some() frees every other one of them.
 * Allocation sites are the return addresses inside make_records() and
 * make_objects(), so a debugger can name them.
 *
 * Then it prints mems_print_stats(), one `mems_get 0x... -> 0x...` line per
 * translated address and two oracle lines (`oracle mems_stats ...` and
 * `oracle mems_pool_stats ...`) that a debugger's view of the core must
 * match, and calls abort() to dump core (enable with `ulimit -c unlimited`).
 *
 * Output is written with write(2) from a stack buffer, and mems keeps its
 * metadata out of the glibc heap, so this program's glibc heap stays empty.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mems.h"

static void say(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
    if (n > 0 && write(1, buf, (size_t)n) < 0) _exit(1);
}

static void fill(void *p, size_t size, const char *tag) {
    size_t len = strlen(tag);
    for (size_t i = 0; i < size; i++) ((char *)p)[i] = tag[i % len];
}

#define NSEG 6
static const size_t seg_sizes[NSEG] = {100, 2000, 5000, 300, 64, 12000};
static void *segs[NSEG]; /* MeMS virtual addresses */

#define NOBJ 19
static void *objs[NOBJ]; /* physical pool blocks */

static __attribute__((noinline)) void make_records(void) {
    for (int i = 0; i < NSEG; i++) {
        segs[i] = mems_malloc(seg_sizes[i]);
        if (segs[i] == NULL) abort();
        char tag[8];
        snprintf(tag, sizeof tag, "SEG%d", i);
        fill(mems_get(segs[i]), seg_sizes[i], tag);
    }
}

static __attribute__((noinline)) void make_objects(void) {
    static const struct { size_t size; int count; } kinds[] = {{24, 10}, {100, 6}, {500, 3}};
    int k = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        for (int n = 0; n < kinds[i].count; n++, k++) {
            objs[k] = mems_pool_alloc(kinds[i].size);
            if (objs[k] == NULL) abort();
            char tag[32];
            snprintf(tag, sizeof tag, "OBJ%u.%d", (unsigned)((kinds[i].size - 1) / 16), n);
            fill(objs[k], kinds[i].size, tag);
        }
    }
}

static __attribute__((noinline)) void drop_some(void) {
    mems_free(segs[1]);
    mems_free(segs[4]);
    segs[1] = segs[4] = NULL;
    for (int k = 0; k < NOBJ; k += 2) {
        mems_pool_free(objs[k]);
        objs[k] = NULL;
    }
}

static void show_get(void *v) {
    say("mems_get %#llx -> %#llx\n", (unsigned long long)(uintptr_t)v,
        (unsigned long long)(uintptr_t)mems_get(v));
}

int main(void) {
    if (mems_init() != 0) return 1;
    make_records();
    make_objects();
    drop_some();

    mems_print_stats();
    show_get(segs[0]);                                 /* 0x3e8: the first segment */
    show_get((void *)((uintptr_t)segs[0] + 50));       /* an interior address */
    show_get(segs[2]);                                 /* the 5000-byte segment */
    show_get((void *)((uintptr_t)segs[2] + 4999));     /* its last byte */
    show_get(segs[5]);                                 /* the 12000-byte one, its own node */

    struct mems_stats st;
    struct mems_pool_stats ps;
    if (mems_get_stats(&st) != 0 || mems_pool_get_stats(&ps) != 0) return 1;
    say("oracle mems_stats pages=%zu nodes=%zu segments=%zu process_segments=%zu process_bytes=%zu "
        "hole_segments=%zu hole_bytes=%zu\n",
        st.pages, st.nodes, st.segments, st.process_segments, st.process_bytes, st.hole_segments,
        st.hole_bytes);
    say("oracle mems_pool_stats arenas=%zu pools=%zu blocks_used=%zu blocks_free=%zu bytes_used=%zu\n",
        ps.arenas, ps.pools, ps.blocks_used, ps.blocks_free, ps.bytes_used);
    say("oracle mems_root %#llx\n", (unsigned long long)(uintptr_t)&mems_root);
    abort();
}
