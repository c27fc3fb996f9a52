/*
 * pool.c — the small-object allocator, in the style of CPython's obmalloc.
 *
 * An arena (256 KiB) is one PROCESS segment of the segment allocator, aligned
 * to the pool size, and holds 64 pools of 4 KiB. A pool serves one size class
 * (16, 32, ..., 512 bytes): a 96-byte header, then blocks. Blocks are handed
 * out from the pool's free list (freed blocks, linked through their first
 * 8 bytes) or, when it is empty, from the never-used tail (next_offset), so
 * pools are only touched as far as they are used.
 *
 * Lists, all O(1) to update:
 *   root.classes[c]     pools of class c with a free block (state USED)
 *   root.usable_arenas  arenas with an uncarved or EMPTY pool
 *   arena.free_pools    EMPTY pools of the arena
 * FULL pools are on no list; a free makes them USED again. A pool whose last
 * block is freed stays USED (used == 0) as its class's kept pool if the class
 * keeps none yet (bit in root.kept_pools), else it goes back to its arena.
 *
 * A pointer's pool is the pointer aligned down to the pool size. Before the
 * header is read, the pool map (a hash set of carved pools) confirms that the
 * address is one of ours, so bad pointers are reported, never dereferenced.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "mems_internal.h"

#define NOT_INITIALIZED "%s: allocator not initialized (call mems_init first)"

/* ceil(2^32 / block_size): (offset * inv) >> 32 == offset / block_size for
 * every multiple of block_size below the pool size, without a division. */
#define INV(n) ((uint32_t)((0x100000000ULL + 16u * (n) - 1) / (16u * (n))))
static const uint32_t block_inverse[MEMS_POOL_CLASS_COUNT] = {
    INV(1),  INV(2),  INV(3),  INV(4),  INV(5),  INV(6),  INV(7),  INV(8),
    INV(9),  INV(10), INV(11), INV(12), INV(13), INV(14), INV(15), INV(16),
    INV(17), INV(18), INV(19), INV(20), INV(21), INV(22), INV(23), INV(24),
    INV(25), INV(26), INV(27), INV(28), INV(29), INV(30), INV(31), INV(32),
};

static uint32_t block_index(uint64_t offset, uint32_t cls) {
    return (uint32_t)((offset * block_inverse[cls]) >> 32);
}

/* ---- lists -------------------------------------------------------------- */

static void class_push(struct mems_pool_header *pool) {
    uint64_t *head = &mems_root.classes[pool->class_index];
    pool->prev = 0;
    pool->next = *head;
    if (*head != 0) P(struct mems_pool_header, *head)->prev = U(pool);
    *head = U(pool);
}

static void class_unlink(struct mems_pool_header *pool) {
    if (pool->prev != 0)
        P(struct mems_pool_header, pool->prev)->next = pool->next;
    else
        mems_root.classes[pool->class_index] = pool->next;
    if (pool->next != 0) P(struct mems_pool_header, pool->next)->prev = pool->prev;
    pool->next = pool->prev = 0;
}

static void usable_push(struct mems_arena *arena) {
    arena->usable_prev = 0;
    arena->usable_next = mems_root.usable_arenas;
    if (mems_root.usable_arenas != 0)
        P(struct mems_arena, mems_root.usable_arenas)->usable_prev = U(arena);
    mems_root.usable_arenas = U(arena);
}

static void usable_unlink(struct mems_arena *arena) {
    if (arena->usable_prev != 0)
        P(struct mems_arena, arena->usable_prev)->usable_next = arena->usable_next;
    else
        mems_root.usable_arenas = arena->usable_next;
    if (arena->usable_next != 0)
        P(struct mems_arena, arena->usable_next)->usable_prev = arena->usable_prev;
    arena->usable_next = arena->usable_prev = 0;
}

/* ---- arenas ------------------------------------------------------------- */

static struct mems_arena *new_arena(uint64_t site) {
    /* the arena descriptor plus what mems__segment_alloc may need */
    if (mems__meta_reserve(4) != 0) {
        mems__error("mems_pool_alloc: cannot map a metadata page (out of memory)");
        return NULL;
    }
    struct mems_segment *seg = mems__segment_alloc("mems_pool_alloc", MEMS_ARENA_SIZE, MEMS_POOL_SIZE,
                                                   MEMS_ARENA_SIZE, site, MEMS_SEGMENT_FLAG_ARENA);
    if (seg == NULL) return NULL;
    struct mems_arena *arena = mems__meta_take();
    arena->magic = MEMS_ARENA_MAGIC;
    arena->pool_count = MEMS_POOLS_PER_ARENA;
    arena->segment = U(seg);
    arena->vstart = seg->vstart;
    arena->pstart = seg->pstart;
    arena->size = MEMS_ARENA_SIZE;
    arena->pools_free = MEMS_POOLS_PER_ARENA;
    seg->arena = U(arena);
    arena->next = mems_root.arena_head;
    if (mems_root.arena_head != 0) P(struct mems_arena, mems_root.arena_head)->prev = U(arena);
    mems_root.arena_head = U(arena);
    usable_push(arena);
    mems_root.arenas++;
    return arena;
}

static void release_arena(struct mems_arena *arena) {
    for (uint32_t i = 0; i < arena->pools_carved; i++)
        mems__pool_map_remove(arena->pstart + (uint64_t)i * MEMS_POOL_SIZE);
    usable_unlink(arena);
    if (arena->prev != 0)
        P(struct mems_arena, arena->prev)->next = arena->next;
    else
        mems_root.arena_head = arena->next;
    if (arena->next != 0) P(struct mems_arena, arena->next)->prev = arena->prev;
    mems__segment_release(P(struct mems_segment, arena->segment));
    mems__meta_give(arena);
    mems_root.arenas--;
}

/* A pool for class cls, initialized and on the class list; NULL on error. */
static struct mems_pool_header *take_pool(uint32_t cls, uint64_t site) {
    if (mems__pool_map_reserve(1) != 0) {
        mems__error("mems_pool_alloc: cannot map the pool map (out of memory)");
        return NULL;
    }
    struct mems_arena *arena = P(struct mems_arena, mems_root.usable_arenas);
    if (arena == NULL && (arena = new_arena(site)) == NULL) return NULL;
    struct mems_pool_header *pool;
    if (arena->free_pools != 0) {
        pool = P(struct mems_pool_header, arena->free_pools);
        arena->free_pools = pool->next;
    } else {
        pool = P(struct mems_pool_header, arena->pstart + (uint64_t)arena->pools_carved * MEMS_POOL_SIZE);
        pool->magic = MEMS_POOL_MAGIC;
        pool->arena = U(arena);
        pool->index = arena->pools_carved++;
        mems__pool_map_insert(U(pool));
    }
    if (--arena->pools_free == 0) usable_unlink(arena);
    uint32_t block_size = MEMS_POOL_CLASS_STEP * (cls + 1);
    pool->class_index = cls;
    pool->block_size = block_size;
    pool->used = 0;
    pool->capacity = (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / block_size;
    pool->next_offset = MEMS_POOL_HEADER_SIZE;
    pool->freelist = 0;
    memset(pool->in_use, 0, sizeof pool->in_use);
    pool->state = MEMS_POOL_STATE_USED;
    class_push(pool);
    mems_root.pools++;
    mems_root.blocks_free += pool->capacity;
    return pool;
}

/* Pool p of class cls has no block in use any more. The class keeps one such
 * pool (USED, on its class list), so that a class flipping between empty and
 * used does not give back and re-carve a pool each time; a second one goes
 * back to its arena as EMPTY, and an arena left with no carved pool in use is
 * released (the last arena is kept). */
static void pool_emptied(struct mems_pool_header *pool, uint32_t cls) {
    uint64_t bit = 1ULL << cls;
    if (!(mems_root.kept_pools & bit)) {
        mems_root.kept_pools |= bit;
        return;
    }
    struct mems_arena *arena = P(struct mems_arena, pool->arena);
    class_unlink(pool);
    pool->state = MEMS_POOL_STATE_EMPTY;
    mems_root.pools--;
    mems_root.blocks_free -= pool->capacity;
    pool->next = arena->free_pools;
    arena->free_pools = U(pool);
    if (arena->pools_free++ == 0) usable_push(arena);
    if (arena->pools_free == arena->pool_count && mems_root.arenas > 1) release_arena(arena);
}

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static __attribute__((noinline, cold)) void *alloc_refused(size_t size) {
    if (!mems_root.initialized)
        mems__error(NOT_INITIALIZED, "mems_pool_alloc");
    else if (size == 0)
        mems__error("mems_pool_alloc: size 0 is not allowed");
    else
        mems__error("mems_pool_alloc: size %zu exceeds the largest block (%u); use mems_malloc", size,
                    MEMS_POOL_MAX_BLOCK);
    mems__unlock();
    return NULL;
}

__attribute__((noinline)) void *mems_pool_alloc(size_t size) {
    mems__lock();
    /* size - 1 wraps for 0, so one comparison refuses 0 and too large */
    if (UNLIKELY(!mems_root.initialized || size - 1 >= MEMS_POOL_MAX_BLOCK)) return alloc_refused(size);
    uint32_t cls = (uint32_t)((size - 1) / MEMS_POOL_CLASS_STEP);
    struct mems_pool_header *pool = P(struct mems_pool_header, mems_root.classes[cls]);
    if (UNLIKELY(pool == NULL) && (pool = take_pool(cls, U(__builtin_return_address(0)))) == NULL) {
        mems__unlock();
        return NULL;
    }
    uint64_t block = pool->freelist;
    if (block != 0) {
        pool->freelist = *P(uint64_t, block);
    } else {
        block = U(pool) + pool->next_offset;
        pool->next_offset += pool->block_size;
    }
    uint32_t k = block_index(block - U(pool) - MEMS_POOL_HEADER_SIZE, cls);
    pool->in_use[k / 64] |= 1ULL << (k % 64);
    if (pool->used++ == 0) mems_root.kept_pools &= ~(1ULL << cls); /* no longer the kept pool */
    mems_root.blocks_used++;
    mems_root.blocks_free--;
    mems_root.bytes_used += pool->block_size;
    if (UNLIKELY(pool->used == pool->capacity)) {
        class_unlink(pool);
        pool->state = MEMS_POOL_STATE_FULL;
    }
    mems__unlock();
    return P(void, block);
}

/* The error of a refused free; the caller holds the lock, this releases it. */
static __attribute__((noinline, cold)) int free_refused(uint64_t addr) {
    uint64_t base = addr & ~(uint64_t)(MEMS_POOL_SIZE - 1);
    uint64_t offset = addr - base;
    const struct mems_pool_header *pool = P(struct mems_pool_header, base);
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_pool_free");
    } else if (!mems__pool_map_contains(base)) {
        mems__error("mems_pool_free: %#" PRIx64 " is not a pool block (outside every pool)", addr);
    } else if (pool->state == MEMS_POOL_STATE_EMPTY) {
        mems__error("mems_pool_free: %#" PRIx64 " is not allocated: pool %#" PRIx64 " is empty (double free?)",
                    addr, base);
    } else if (offset < MEMS_POOL_HEADER_SIZE) {
        mems__error("mems_pool_free: %#" PRIx64 " points into the header of pool %#" PRIx64, addr, base);
    } else {
        uint32_t k = block_index(offset - MEMS_POOL_HEADER_SIZE, pool->class_index);
        if (base + MEMS_POOL_HEADER_SIZE + (uint64_t)k * pool->block_size != addr || k >= pool->capacity)
            mems__error("mems_pool_free: %#" PRIx64 " is not the start of a block (pool %#" PRIx64
                        ", block size %" PRIu32 ")", addr, base, pool->block_size);
        else if (pool->used == 0)
            mems__error("mems_pool_free: %#" PRIx64 " is not allocated: pool %#" PRIx64
                        " is empty (double free?)", addr, base);
        else
            mems__error("mems_pool_free: %#" PRIx64 " is not allocated (double free?)", addr);
    }
    mems__unlock();
    return -1;
}

int mems_pool_free(void *p) {
    if (p == NULL) return 0;
    uint64_t addr = U(p);
    uint64_t base = addr & ~(uint64_t)(MEMS_POOL_SIZE - 1);
    uint64_t offset = addr - base;
    mems__lock();
    /* The pool map confirms the pool before its header is read. */
    if (UNLIKELY(!mems_root.initialized || !mems__pool_map_contains(base) || offset < MEMS_POOL_HEADER_SIZE))
        return free_refused(addr);
    struct mems_pool_header *pool = P(struct mems_pool_header, base);
    uint32_t cls = pool->class_index;
    uint32_t k = block_index(offset - MEMS_POOL_HEADER_SIZE, cls);
    uint64_t bit = 1ULL << (k % 64);
    /* An EMPTY pool's bitmap is clear, so the bit test refuses it too. */
    if (UNLIKELY(base + MEMS_POOL_HEADER_SIZE + (uint64_t)k * pool->block_size != addr || k >= pool->capacity ||
                 !(pool->in_use[k / 64] & bit) || pool->state == MEMS_POOL_STATE_EMPTY))
        return free_refused(addr);
    pool->in_use[k / 64] &= ~bit;
    *P(uint64_t, addr) = pool->freelist;
    pool->freelist = addr;
    mems_root.blocks_used--;
    mems_root.blocks_free++;
    mems_root.bytes_used -= pool->block_size;
    if (UNLIKELY(pool->state == MEMS_POOL_STATE_FULL)) {
        pool->state = MEMS_POOL_STATE_USED;
        class_push(pool);
    }
    if (UNLIKELY(--pool->used == 0)) pool_emptied(pool, cls);
    mems__unlock();
    return 0;
}

int mems_pool_get_stats(struct mems_pool_stats *out) {
    int rc = -1;
    mems__lock();
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_pool_get_stats");
    } else if (out == NULL) {
        mems__error("mems_pool_get_stats: out is NULL");
    } else {
        out->arenas = (size_t)mems_root.arenas;
        out->pools = (size_t)mems_root.pools;
        out->blocks_used = (size_t)mems_root.blocks_used;
        out->blocks_free = (size_t)mems_root.blocks_free;
        out->bytes_used = (size_t)mems_root.bytes_used;
        rc = 0;
    }
    mems__unlock();
    return rc;
}
