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
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mems_internal.h"

#define NOT_INITIALIZED "%s: allocator not initialized (call mems_init first)"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Fields other threads may read while their owner changes them (thread
 * caches; pool headers, read by the fast free path): relaxed atomics, plain
 * moves on x86-64 and AArch64. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* Orders the busy flag around a cache change for a debugger that stops the
 * thread (a signal, a core dump), not for other threads. */
#define SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

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
    for (unsigned w = 0; w < MEMS_POOL_BITMAP_WORDS; w++) STORE(pool->in_use[w], 0);
    STORE(pool->state, MEMS_POOL_STATE_USED);
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
    STORE(pool->state, MEMS_POOL_STATE_EMPTY);
    mems_root.pools--;
    mems_root.blocks_free -= pool->capacity;
    pool->next = arena->free_pools;
    arena->free_pools = U(pool);
    if (arena->pools_free++ == 0) usable_push(arena);
    if (arena->pools_free == arena->pool_count && mems_root.arenas > 1) release_arena(arena);
}

/* ---- blocks out of and back into pools (under the lock) ------------------ */

/* A block of class cls out of its class's first pool (a new pool if none):
 * in-use bit set and counted. 0 if no pool can be had (error printed). */
static uint64_t pool_take_block(uint32_t cls, uint64_t site) {
    struct mems_pool_header *pool = P(struct mems_pool_header, mems_root.classes[cls]);
    if (UNLIKELY(pool == NULL) && (pool = take_pool(cls, site)) == NULL) return 0;
    uint64_t block = pool->freelist;
    if (block != 0) {
        pool->freelist = *P(uint64_t, block);
    } else {
        block = U(pool) + pool->next_offset;
        pool->next_offset += pool->block_size;
    }
    uint32_t k = block_index(block - U(pool) - MEMS_POOL_HEADER_SIZE, cls);
    STORE(pool->in_use[k / 64], pool->in_use[k / 64] | 1ULL << (k % 64));
    if (pool->used++ == 0) mems_root.kept_pools &= ~(1ULL << cls); /* no longer the kept pool */
    mems_root.blocks_used++;
    mems_root.blocks_free--;
    mems_root.bytes_used += pool->block_size;
    if (UNLIKELY(pool->used == pool->capacity)) {
        class_unlink(pool);
        STORE(pool->state, MEMS_POOL_STATE_FULL);
    }
    return block;
}

/* Block k of pool, in use (checked by the caller), back to its pool. */
static void pool_give_block(struct mems_pool_header *pool, uint64_t addr, uint32_t k) {
    STORE(pool->in_use[k / 64], pool->in_use[k / 64] & ~(1ULL << (k % 64)));
    *P(uint64_t, addr) = pool->freelist;
    pool->freelist = addr;
    mems_root.blocks_used--;
    mems_root.blocks_free++;
    mems_root.bytes_used -= pool->block_size;
    if (UNLIKELY(pool->state == MEMS_POOL_STATE_FULL)) {
        STORE(pool->state, MEMS_POOL_STATE_USED);
        class_push(pool);
    }
    if (UNLIKELY(--pool->used == 0)) pool_emptied(pool, pool->class_index);
}

/* ---- thread caches -------------------------------------------------------- */
/* Each thread that allocates gets a mems_tcache (one mapping, on the root's
 * list): per class a stack of up to MEMS_TCACHE_SLOTS blocks that it takes
 * and gives without the lock. Its blocks stay in use for their pools; word 1
 * of a cached block holds tcache_key, so that a second free of a cached block
 * is caught (the slow path then looks for it in every cache). A thread's
 * cache goes back to the pools when the thread exits (a pthread key
 * destructor) and is dropped by mems_finish (tcache_generation changes, so a
 * thread's pointer to an old cache is not used again). */

#define HALF (MEMS_TCACHE_SLOTS / 2)

static __thread struct mems_tcache *tls_cache __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_generation __attribute__((tls_model("initial-exec")));
static uint64_t tcache_generation = 1; /* changed by mems_finish */
static uint64_t tcache_key;            /* set before the first cache exists */
static pthread_key_t tcache_exit_key;
static int tcache_exit_key_ok;
static pthread_once_t tcache_once = PTHREAD_ONCE_INIT;

static inline struct mems_tcache *my_cache(void) {
    struct mems_tcache *tc = tls_cache;
    return tc != NULL && tls_generation == LOAD(tcache_generation) ? tc : NULL;
}

static inline void tcache_push(struct mems_tcache *tc, uint32_t cls, uint64_t block) {
    uint32_t n = tc->count[cls];
    P(uint64_t, block)[1] = tcache_key;
    STORE(tc->slots[cls][n], block);
    STORE(tc->count[cls], n + 1);
    STORE(tc->blocks, tc->blocks + 1);
    STORE(tc->bytes, tc->bytes + MEMS_POOL_CLASS_STEP * (cls + 1));
}

static inline uint64_t tcache_pop(struct mems_tcache *tc, uint32_t cls) {
    uint32_t n = tc->count[cls] - 1;
    uint64_t block = tc->slots[cls][n];
    STORE(tc->count[cls], n);
    STORE(tc->blocks, tc->blocks - 1);
    STORE(tc->bytes, tc->bytes - MEMS_POOL_CLASS_STEP * (cls + 1));
    P(uint64_t, block)[1] = 0;
    return block;
}

/* The n oldest blocks of class cls back to their pools. Under the lock. */
static void tcache_flush(struct mems_tcache *tc, uint32_t cls, uint32_t n) {
    uint32_t count = tc->count[cls];
    if (n > count) n = count;
    if (n == 0) return;
    STORE(tc->busy, 1);
    SIGNAL_FENCE();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t block = tc->slots[cls][i];
        struct mems_pool_header *pool = P(struct mems_pool_header, block & ~(uint64_t)(MEMS_POOL_SIZE - 1));
        P(uint64_t, block)[1] = 0;
        pool_give_block(pool, block, block_index(block - U(pool) - MEMS_POOL_HEADER_SIZE, cls));
    }
    for (uint32_t i = n; i < count; i++) STORE(tc->slots[cls][i - n], tc->slots[cls][i]);
    STORE(tc->count[cls], count - n);
    STORE(tc->blocks, tc->blocks - n);
    STORE(tc->bytes, tc->bytes - (uint64_t)n * MEMS_POOL_CLASS_STEP * (cls + 1));
    SIGNAL_FENCE();
    STORE(tc->busy, 0);
}

static void tcache_unlink(struct mems_tcache *tc) {
    if (tc->prev != 0)
        P(struct mems_tcache, tc->prev)->next = tc->next;
    else
        mems_root.tcache_head = tc->next;
    if (tc->next != 0) P(struct mems_tcache, tc->next)->prev = tc->prev;
    mems_root.tcaches--;
}

/* Thread exit: its cached blocks go back to their pools, its cache away. */
static void tcache_thread_exit(void *unused) {
    (void)unused;
    mems__lock();
    struct mems_tcache *tc = my_cache();
    if (tc != NULL && mems_root.initialized) {
        for (uint32_t c = 0; c < MEMS_POOL_CLASS_COUNT; c++) tcache_flush(tc, c, tc->count[c]);
        tcache_unlink(tc);
        mems__unmap(U(tc), MEMS_TCACHE_SIZE);
    }
    tls_cache = NULL;
    mems__unlock();
}

static void tcache_make_key(void) {
    tcache_exit_key_ok = pthread_key_create(&tcache_exit_key, tcache_thread_exit) == 0;
}

/* The calling thread's new cache, NULL if none can be had (the pool
 * allocator then works without one). Under the lock. */
static struct mems_tcache *tcache_create(void) {
    pthread_once(&tcache_once, tcache_make_key);
    if (!tcache_exit_key_ok) return NULL;
    struct mems_tcache *tc = mems__map(MEMS_TCACHE_SIZE);
    if (tc == NULL) return NULL;
    if (pthread_setspecific(tcache_exit_key, tc) != 0) {
        mems__unmap(U(tc), MEMS_TCACHE_SIZE);
        return NULL;
    }
    while (tcache_key == 0) { /* odd, unlikely as program data */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        tcache_key = ((U(tc) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32)) * 0x9E3779B97F4A7C15ULL) | 1;
    }
    tc->magic = MEMS_TCACHE_MAGIC;
    tc->thread = (uint64_t)syscall(SYS_gettid);
    tc->next = mems_root.tcache_head;
    if (tc->next != 0) P(struct mems_tcache, tc->next)->prev = U(tc);
    mems_root.tcache_head = U(tc);
    mems_root.tcaches++;
    tls_cache = tc;
    tls_generation = LOAD(tcache_generation);
    return tc;
}

/* Is block in some thread's cache? Under the lock; other threads may be
 * changing their own caches, which cannot hold a block the caller owns. */
static int tcache_holds(uint64_t block, uint32_t cls) {
    for (uint64_t t = mems_root.tcache_head; t != 0; t = P(struct mems_tcache, t)->next) {
        const struct mems_tcache *tc = P(struct mems_tcache, t);
        uint32_t n = LOAD(tc->count[cls]);
        for (uint32_t i = 0; i < n && i < MEMS_TCACHE_SLOTS; i++)
            if (LOAD(tc->slots[cls][i]) == block) return 1;
    }
    return 0;
}

void mems__tcache_release_all(void) {
    for (uint64_t t = mems_root.tcache_head; t != 0;) {
        uint64_t next = P(struct mems_tcache, t)->next;
        mems__unmap(t, MEMS_TCACHE_SIZE);
        t = next;
    }
    mems_root.tcache_head = 0;
    mems_root.tcaches = 0;
    STORE(tcache_generation, tcache_generation + 1);
}

void mems__pool_user_counters(uint64_t *blocks_used, uint64_t *blocks_free, uint64_t *bytes_used) {
    uint64_t blocks = 0, bytes = 0;
    for (uint64_t t = mems_root.tcache_head; t != 0; t = P(struct mems_tcache, t)->next) {
        blocks += LOAD(P(struct mems_tcache, t)->blocks);
        bytes += LOAD(P(struct mems_tcache, t)->bytes);
    }
    *blocks_used = mems_root.blocks_used - blocks;
    *blocks_free = mems_root.blocks_free + blocks;
    *bytes_used = mems_root.bytes_used - bytes;
}

uint64_t mems__tcache_key(void) { return tcache_key; }

/* ---- public API ----------------------------------------------------------- */

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

/* The thread's cache is empty for this class (or the thread has none yet):
 * under the lock, refill half of it from the pools and take one. */
static __attribute__((noinline)) void *alloc_slow(size_t size, uint64_t site) {
    mems__lock();
    /* size - 1 wraps for 0, so one comparison refuses 0 and too large */
    if (UNLIKELY(!mems_root.initialized || size - 1 >= MEMS_POOL_MAX_BLOCK)) return alloc_refused(size);
    uint32_t cls = (uint32_t)((size - 1) / MEMS_POOL_CLASS_STEP);
    struct mems_tcache *tc = my_cache();
    if (tc == NULL) tc = tcache_create();
    uint64_t block;
    if (tc == NULL) {
        block = pool_take_block(cls, site);
        if (block != 0) P(uint64_t, block)[1] = 0;
    } else if (tc->count[cls] != 0) {
        STORE(tc->busy, 1);
        SIGNAL_FENCE();
        block = tcache_pop(tc, cls);
        SIGNAL_FENCE();
        STORE(tc->busy, 0);
    } else {
        uint64_t got[HALF];
        uint32_t n = 0;
        while (n < HALF && (got[n] = pool_take_block(cls, site)) != 0) n++;
        block = n ? got[0] : 0;
        STORE(tc->busy, 1);
        SIGNAL_FENCE();
        /* the lowest addresses on top: blocks are handed out in address order */
        while (n > 1) tcache_push(tc, cls, got[--n]);
        SIGNAL_FENCE();
        STORE(tc->busy, 0);
        if (block != 0) P(uint64_t, block)[1] = 0;
    }
    mems__unlock();
    return P(void, block);
}

__attribute__((noinline)) void *mems_pool_alloc(size_t size) {
    struct mems_tcache *tc = tls_cache;
    if (LIKELY(tc != NULL && size - 1 < MEMS_POOL_MAX_BLOCK && tls_generation == LOAD(tcache_generation))) {
        uint32_t cls = (uint32_t)((size - 1) / MEMS_POOL_CLASS_STEP);
        if (LIKELY(tc->count[cls] != 0)) {
            STORE(tc->busy, 1);
            SIGNAL_FENCE();
            uint64_t block = tcache_pop(tc, cls);
            SIGNAL_FENCE();
            STORE(tc->busy, 0);
            return P(void, block);
        }
    }
    return alloc_slow(size, U(__builtin_return_address(0)));
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
        else if (pool->in_use[k / 64] >> (k % 64) & 1)
            mems__error("mems_pool_free: %#" PRIx64 " is not allocated: it is in a thread cache (double free?)",
                        addr);
        else
            mems__error("mems_pool_free: %#" PRIx64 " is not allocated (double free?)", addr);
    }
    mems__unlock();
    return -1;
}

/* Everything the fast path did not take: checks under the lock, then into
 * the thread's cache (made if the thread has none; half of a full class goes
 * back to the pools first) or, if no cache can be had, straight back to the
 * pool. */
static __attribute__((noinline)) int free_slow(uint64_t addr) {
    uint64_t base = addr & ~(uint64_t)(MEMS_POOL_SIZE - 1);
    uint64_t offset = addr - base;
    mems__lock();
    /* The pool map confirms the pool before its header is read. */
    if (UNLIKELY(!mems_root.initialized || !mems__pool_map_contains(base) || offset < MEMS_POOL_HEADER_SIZE))
        return free_refused(addr);
    struct mems_pool_header *pool = P(struct mems_pool_header, base);
    uint32_t cls = pool->class_index;
    uint32_t k = block_index(offset - MEMS_POOL_HEADER_SIZE, cls);
    /* An EMPTY pool's bitmap is clear, so the bit test refuses it too. */
    if (UNLIKELY(base + MEMS_POOL_HEADER_SIZE + (uint64_t)k * pool->block_size != addr || k >= pool->capacity ||
                 !(pool->in_use[k / 64] >> (k % 64) & 1) || pool->state == MEMS_POOL_STATE_EMPTY))
        return free_refused(addr);
    if (tcache_key != 0 && P(uint64_t, addr)[1] == tcache_key && tcache_holds(addr, cls))
        return free_refused(addr); /* cached already: a second free */
    struct mems_tcache *tc = my_cache();
    if (tc == NULL) tc = tcache_create(); /* a thread that only frees batches its frees too */
    if (tc == NULL) {
        pool_give_block(pool, addr, k);
    } else {
        if (tc->count[cls] == MEMS_TCACHE_SLOTS) tcache_flush(tc, cls, HALF);
        STORE(tc->busy, 1);
        SIGNAL_FENCE();
        tcache_push(tc, cls, addr);
        SIGNAL_FENCE();
        STORE(tc->busy, 0);
    }
    mems__unlock();
    return 0;
}

int mems_pool_free(void *p) {
    uint64_t addr = U(p);
    struct mems_tcache *tc = tls_cache;
    if (LIKELY(tc != NULL && tls_generation == LOAD(tcache_generation))) {
        uint64_t base = addr & ~(uint64_t)(MEMS_POOL_SIZE - 1);
        uint64_t offset = addr - base;
        /* Without the lock: the map says the pool is carved (its memory stays
         * mapped), and a block the caller owns keeps its pool's class and its
         * in-use bit. Anything doubtful takes the slow path. */
        if (LIKELY(offset >= MEMS_POOL_HEADER_SIZE && mems__pool_map_contains_racy(base))) {
            struct mems_pool_header *pool = P(struct mems_pool_header, base);
            uint32_t cls = LOAD(pool->class_index);
            if (LIKELY(cls < MEMS_POOL_CLASS_COUNT)) {
                /* k < 250 always; an EMPTY pool's bits and the bits past a
                 * pool's capacity are clear, so the bit test refuses those */
                uint32_t k = block_index(offset - MEMS_POOL_HEADER_SIZE, cls);
                uint32_t n = tc->count[cls];
                if (LIKELY(base + MEMS_POOL_HEADER_SIZE + (uint64_t)k * MEMS_POOL_CLASS_STEP * (cls + 1) == addr &&
                           (LOAD(pool->in_use[k / 64]) >> (k % 64) & 1) && n < MEMS_TCACHE_SLOTS &&
                           P(uint64_t, addr)[1] != tcache_key)) {
                    STORE(tc->busy, 1);
                    SIGNAL_FENCE();
                    tcache_push(tc, cls, addr);
                    SIGNAL_FENCE();
                    STORE(tc->busy, 0);
                    return 0;
                }
            }
        }
    }
    if (p == NULL) return 0;
    return free_slow(addr);
}

int mems_pool_flush(void) {
    int rc = -1;
    mems__lock();
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_pool_flush");
    } else {
        struct mems_tcache *tc = my_cache();
        if (tc != NULL)
            for (uint32_t c = 0; c < MEMS_POOL_CLASS_COUNT; c++) tcache_flush(tc, c, tc->count[c]);
        rc = 0;
    }
    mems__unlock();
    return rc;
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
        uint64_t used, free_blocks, bytes;
        mems__pool_user_counters(&used, &free_blocks, &bytes);
        out->blocks_used = (size_t)used;
        out->blocks_free = (size_t)free_blocks;
        out->bytes_used = (size_t)bytes;
        rc = 0;
    }
    mems__unlock();
    return rc;
}
