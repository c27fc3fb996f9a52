/*
 * mems_internal.h — shared by the mems sources, not installed.
 *
 * Every function here expects the caller to hold the mems lock (mems__lock)
 * unless its comment says otherwise. Records use uint64_t addresses (see
 * mems_layout.h); P() and U() convert between them and C pointers.
 */
#ifndef MEMS_INTERNAL_H
#define MEMS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "mems.h"

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MEMS_HAVE_SINGLE_THREADED 1
#endif
#endif

#define MEMS_HIDDEN __attribute__((visibility("hidden")))

#define P(type, addr) ((type *)(uintptr_t)(addr))
#define U(ptr) ((uint64_t)(uintptr_t)(ptr))

/* Lock: one mutex for both allocators. Also sets/clears mems_root.busy.
 * Inline, as they are on the pool allocator's fast path. While glibc says the
 * process has a single thread (__libc_single_threaded, glibc >= 2.32) the
 * mutex is skipped, as glibc's malloc does: no other thread can exist during
 * the call, since only this one could create it. */
MEMS_HIDDEN extern pthread_mutex_t mems__mutex;
MEMS_HIDDEN extern int mems__mutex_held; /* written only by the holder of the mutex */

static inline void mems__lock(void) {
#ifdef MEMS_HAVE_SINGLE_THREADED
    if (__libc_single_threaded) {
        mems_root.busy = 1;
        return;
    }
#endif
    pthread_mutex_lock(&mems__mutex);
    mems__mutex_held = 1;
    mems_root.busy = 1;
}

static inline void mems__unlock(void) {
    mems_root.busy = 0;
    if (mems__mutex_held) {
        mems__mutex_held = 0;
        pthread_mutex_unlock(&mems__mutex);
    }
}

/* Prints "mems: <formatted>\n" on stderr with one write(2); counts it. */
MEMS_HIDDEN void mems__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats into a stack buffer and writes it to fd (no stdio buffers). */
MEMS_HIDDEN void mems__printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Maps/unmaps anonymous read-write memory; NULL on failure. */
MEMS_HIDDEN void *mems__map(uint64_t bytes);
MEMS_HIDDEN void mems__unmap(uint64_t addr, uint64_t bytes);

/* Metadata slots (96-byte records in metadata pages). mems__meta_reserve
 * makes sure n slots can be taken without mapping; mems__meta_take then
 * cannot fail after a successful reserve. Taken slots are zeroed. */
MEMS_HIDDEN int mems__meta_reserve(unsigned n);
MEMS_HIDDEN void *mems__meta_take(void);
MEMS_HIDDEN void mems__meta_give(void *slot);
MEMS_HIDDEN void mems__meta_release_all(void);

/* Pool map: hash set of carved pool addresses. */
MEMS_HIDDEN int mems__pool_map_reserve(uint64_t extra);
MEMS_HIDDEN void mems__pool_map_insert(uint64_t pool);
MEMS_HIDDEN void mems__pool_map_remove(uint64_t pool);
MEMS_HIDDEN void mems__pool_map_release(void);

static inline uint64_t mems__pool_hash(uint64_t pool, uint64_t mask) {
    return ((pool / MEMS_POOL_SIZE) * 0x9E3779B97F4A7C15ULL >> 17) & mask;
}

/* Is pool (a pool-aligned address) a carved pool? Inline: every pool free
 * asks, before anything at the address is read. Under the lock. */
static inline int mems__pool_map_contains(uint64_t pool) {
    uint64_t capacity = mems_root.pool_map_capacity;
    if (capacity == 0 || pool == 0) return 0;
    const uint64_t *table = (const uint64_t *)(uintptr_t)mems_root.pool_map;
    uint64_t mask = capacity - 1;
    for (uint64_t i = mems__pool_hash(pool, mask);; i = (i + 1) & mask) {
        if (table[i] == pool) return 1;
        if (table[i] == 0) return 0;
    }
}

/* The same without the lock (see meta.c): 1 means pool is carved (or was,
 * and its memory is still mapped); 0 may be wrong while another thread
 * changes the map, so the caller asks again under the lock. */
MEMS_HIDDEN extern uint64_t mems__pool_map_word; /* table | log2(capacity), 0 = none */
static inline int mems__pool_map_contains_racy(uint64_t pool) {
    uint64_t word = __atomic_load_n(&mems__pool_map_word, __ATOMIC_ACQUIRE);
    if (word == 0 || pool == 0) return 0;
    const uint64_t *table = (const uint64_t *)(uintptr_t)(word & ~(uint64_t)63);
    uint64_t mask = (1ULL << (word & 63)) - 1;
    for (uint64_t i = mems__pool_hash(pool, mask), n = 0; n <= mask; i = (i + 1) & mask, n++) {
        uint64_t e = __atomic_load_n(&table[i], __ATOMIC_RELAXED);
        if (e == pool) return 1;
        if (e == 0) return 0;
    }
    return 0;
}

/* Segment allocator internals, used by the pool allocator.
 * mems__segment_alloc: a PROCESS segment of size bytes (a multiple of
 * MEMS_ALIGN) whose physical start is a multiple of align (a power of two,
 * at most the page size). NULL on failure, with an error already printed
 * naming `who`. */
MEMS_HIDDEN struct mems_segment *mems__segment_alloc(const char *who, uint64_t size,
                                                     uint64_t align, uint64_t requested,
                                                     uint64_t site, uint32_t flags);
/* Turns a PROCESS segment into a HOLE and merges it with its neighbours. */
MEMS_HIDDEN void mems__segment_release(struct mems_segment *seg);

/* Thread caches (pool.c). mems__tcache_release_all: mems_finish drops every
 * cache. mems__pool_user_counters: the root's block counters minus what the
 * thread caches hold (what mems_pool_get_stats reports). mems__tcache_key:
 * the value in word 1 of every cached block (0 before the first cache). */
MEMS_HIDDEN void mems__tcache_release_all(void);
MEMS_HIDDEN void mems__pool_user_counters(uint64_t *blocks_used, uint64_t *blocks_free, uint64_t *bytes_used);
MEMS_HIDDEN uint64_t mems__tcache_key(void);

static inline unsigned mems__popcount64(uint64_t x) { return (unsigned)__builtin_popcountll(x); }

#endif /* MEMS_INTERNAL_H */
