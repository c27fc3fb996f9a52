/*
 * mems.h — the project's own allocators: a segment allocator (the MeMS model)
 * and a small-object pool allocator, both thread-safe (one mutex).
 *
 * Segment allocator. Memory comes from mmap in whole pages. Each mapping is a
 * node of the main chain; each node holds a sub-chain of segments, each a
 * HOLE (free) or a PROCESS (allocated). mems_malloc returns a MeMS *virtual*
 * address from an address space of its own starting at MEMS_VIRT_BASE (1000);
 * mems_get turns it into the physical (usable) address. Holes are reused
 * first-fit and merged on free. Sizes are rounded up to MEMS_ALIGN (16) bytes.
 * Nodes are only unmapped by mems_finish.
 *
 * Pool allocator. Blocks of at most 512 bytes in 32 size classes (16-byte
 * steps). Arenas of 256 KiB are PROCESS segments of the segment allocator
 * (flag MEMS_SEGMENT_FLAG_ARENA, aligned to the pool size), carved into 64
 * pools of 4 KiB; each pool serves one class and has its own free list.
 * mems_pool_alloc returns a physical pointer (16-byte aligned). Alloc and free
 * are O(1). An arena whose pools are all empty is given back to the segment
 * allocator (it becomes a HOLE) unless it is the only arena.
 *
 * Errors. A bad call prints one line starting with "mems: " on stderr and
 * returns NULL or -1; the allocator state is left unchanged. Bad calls are:
 * any call other than mems_init before mems_init (or after mems_finish), a
 * second mems_init, mems_malloc(0) or a size that cannot be mapped, freeing
 * an address that is unknown, interior to an allocation or already free,
 * freeing a pool arena with mems_free, translating an address that is outside
 * every node or inside a HOLE, mems_pool_alloc(0) or of more than 512 bytes,
 * a NULL stats pointer. Freeing NULL is a no-op that returns 0, as free().
 *
 * Memory. All allocator metadata lives in mmapped pages (never the glibc
 * heap), reachable from the exported symbol `mems_root` (see mems_layout.h),
 * so a debugger can decode a core dump. Output (stats, errors) is formatted
 * on the stack and written with write(2), so calling it does not allocate
 * from glibc either.
 */
#ifndef MEMS_H
#define MEMS_H

#include <stddef.h>

#include "mems_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The root of all allocator state (layout in mems_layout.h). Read only. */
extern struct mems_root mems_root;

/* ---- segment allocator ------------------------------------------------- */

/* Sets up an empty allocator. 0, or -1 if already initialized. */
int mems_init(void);
/* Unmaps every node, metadata page and the pool map; the allocator goes back
 * to the uninitialized state (mems_init may be called again). 0, or -1 if not
 * initialized. */
int mems_finish(void);

/* Allocates size bytes (rounded up to 16); returns the MeMS virtual address,
 * or NULL on a bad call or when mmap fails. Records the caller's return
 * address and a sequence number in the segment. */
void *mems_malloc(size_t size);
/* Frees the allocation starting at virtual address v: the segment becomes a
 * HOLE and merges with neighbouring HOLEs of its node. 0, or -1 on a bad
 * call (unknown, interior or free address, a pool arena). */
int mems_free(void *v);
/* The physical address for virtual address v, which may be anywhere inside
 * a PROCESS segment; NULL if v is outside every node or inside a HOLE. */
void *mems_get(void *v);

/* Prints to stdout: pages used, unused memory (HOLE bytes), main chain
 * length, the sub-chain length of every node, each node's segments (type,
 * virtual range, physical address, size, site, sequence) and pool totals. */
void mems_print_stats(void);

struct mems_stats {
    size_t pages;            /* data pages mapped for nodes (metadata excluded) */
    size_t nodes;            /* main chain length */
    size_t segments;         /* segments in all sub-chains */
    size_t process_segments; /* allocated segments, pool arenas included */
    size_t process_bytes;    /* their sizes (rounded to 16) */
    size_t hole_segments;
    size_t hole_bytes;       /* unused memory */
};
/* Copies the counters. 0, or -1 if not initialized or out is NULL. */
int mems_get_stats(struct mems_stats *out);

/* ---- pool allocator ---------------------------------------------------- */

/* A block of at least size bytes (1..512), from the pool of its class
 * (class = (size - 1) / 16, block size 16 * (class + 1)). Physical pointer,
 * 16-byte aligned; NULL on a bad call or when no memory can be mapped. */
void *mems_pool_alloc(size_t size);
/* Frees a block returned by mems_pool_alloc. 0, or -1 on a bad call (not in
 * any pool, not the start of a block, block already free). Any thread may
 * free a block another thread allocated. */
int mems_pool_free(void *p);
/* Each thread keeps up to 14 freed blocks per class in a cache of its own and
 * hands them out again without taking the mems lock (see struct mems_tcache in
 * mems_layout.h); the cache goes back to the pools when the thread exits.
 * mems_pool_flush gives the calling thread's cached blocks back to their
 * pools now (for tests and debuggers that want to see every free block on a
 * pool free list). 0, or -1 if not initialized. */
int mems_pool_flush(void);

struct mems_pool_stats {
    size_t arenas;      /* arenas held (each one PROCESS segment) */
    size_t pools;       /* pools serving a class: holding >= 1 block in use
                           (by the program or a thread cache), plus at most
                           one emptied pool each class keeps; other empty
                           pools go back to their arena and are not counted */
    size_t blocks_used; /* blocks handed out and not freed (blocks in thread
                           caches are free, not used) */
    size_t blocks_free; /* free blocks in the counted pools: capacity - used
                           summed over them, which includes blocks never used
                           yet and blocks in thread caches; blocks of empty or
                           uncarved pools excluded */
    size_t bytes_used;  /* sum over used blocks of their class block size */
};
/* Copies the counters. 0, or -1 if not initialized or out is NULL. */
int mems_pool_get_stats(struct mems_pool_stats *out);

/* ---- self-check -------------------------------------------------------- */

/* Validates every invariant of both allocators: main chain and sub-chains
 * linked both ways, node virtual ranges consecutive from MEMS_VIRT_BASE,
 * segments exactly tiling their node, no two adjacent HOLEs, arenas and their
 * segments pointing at each other, pool headers, bitmaps, free lists, class
 * and usable-arena lists, the pool map, metadata slot accounting, the
 * thread caches, and every root counter against the structures (exact when
 * no other thread is inside a pool call). Returns 0 if all hold (also when not
 * initialized and the root is empty), else -1 with a description of the first
 * violation in err (if err is not NULL). Prints nothing. */
int mems_check_invariants(char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* MEMS_H */
