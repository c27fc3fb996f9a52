/*
 * mems_internal.h — shared by the mems sources, not installed.
 *
 * Every function here expects the caller to hold the mems lock (mems__lock)
 * unless its comment says otherwise. Records use uint64_t addresses (see
 * mems_layout.h); P() and U() convert between them and C pointers.
 */
#ifndef MEMS_INTERNAL_H
#define MEMS_INTERNAL_H

#include <stdint.h>

#include "mems.h"

#define MEMS_HIDDEN __attribute__((visibility("hidden")))

#define P(type, addr) ((type *)(uintptr_t)(addr))
#define U(ptr) ((uint64_t)(uintptr_t)(ptr))

/* Lock: one mutex for both allocators. Also sets/clears mems_root.busy. */
MEMS_HIDDEN void mems__lock(void);
MEMS_HIDDEN void mems__unlock(void);

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
MEMS_HIDDEN int mems__pool_map_contains(uint64_t pool);
MEMS_HIDDEN void mems__pool_map_release(void);

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

static inline unsigned mems__popcount64(uint64_t x) { return (unsigned)__builtin_popcountll(x); }

#endif /* MEMS_INTERNAL_H */
