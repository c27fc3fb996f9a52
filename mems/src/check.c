/*
 * check.c — mems_check_invariants: walks every structure of both allocators
 * and compares it with the links, the geometry and the root counters. Used by
 * the tests after every operation sequence; it is also a reference for what a
 * debugger may assume about a consistent heap.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mems_internal.h"

struct checker {
    char *err;
    size_t err_len;
};

static int fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct checker *c, const char *fmt, ...) {
    if (c->err != NULL && c->err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define CHECK(cond, ...)                              \
    do {                                              \
        if (!(cond)) return fail(c, __VA_ARGS__);     \
    } while (0)

/* Upper bound on list walks, so a corrupted cycle cannot hang the check. */
static uint64_t walk_bound(void) {
    return mems_root.meta_pages * (mems_root.meta_page_bytes / MEMS_META_SLOT_SIZE) + 1;
}

static int check_segments(struct checker *c, uint64_t *arena_segments) {
    uint64_t nodes = 0, segments = 0, pages = 0, proc = 0, proc_bytes = 0, holes = 0,
             hole_bytes = 0, bound = walk_bound();
    uint64_t prev = 0, vnext = MEMS_VIRT_BASE;
    for (uint64_t n = mems_root.head; n != 0; n = P(struct mems_node, n)->next) {
        const struct mems_node *node = P(struct mems_node, n);
        CHECK(++nodes <= bound, "main chain: cycle");
        CHECK(node->magic == MEMS_NODE_MAGIC, "node %#" PRIx64 ": bad magic %#x", n, node->magic);
        CHECK(node->prev == prev, "node %#" PRIx64 ": prev %#" PRIx64 ", expected %#" PRIx64, n,
              node->prev, prev);
        CHECK(node->vstart == vnext, "node %#" PRIx64 ": vstart %#" PRIx64 ", expected %#" PRIx64, n,
              node->vstart, vnext);
        CHECK(node->length > 0 && node->length % mems_root.page_size == 0,
              "node %#" PRIx64 ": length %" PRIu64 " not whole pages", n, node->length);
        CHECK(node->pstart % mems_root.page_size == 0, "node %#" PRIx64 ": mapping not page aligned", n);
        CHECK(node->index == nodes - 1, "node %#" PRIx64 ": index %" PRIu64 ", expected %" PRIu64, n, node->index,
              nodes - 1);
        pages += node->length / mems_root.page_size;
        vnext += node->length;

        uint64_t count = 0, nholes = 0, nhole_bytes = 0, sprev = 0, off = 0;
        int prev_hole = 0;
        for (uint64_t s = node->seg_head; s != 0; s = P(struct mems_segment, s)->next) {
            const struct mems_segment *seg = P(struct mems_segment, s);
            CHECK(++count <= bound, "node %#" PRIx64 ": sub-chain cycle", n);
            CHECK(seg->magic == MEMS_SEGMENT_MAGIC, "segment %#" PRIx64 ": bad magic", s);
            CHECK(seg->prev == sprev, "segment %#" PRIx64 ": prev %#" PRIx64 ", expected %#" PRIx64, s,
                  seg->prev, sprev);
            CHECK(seg->node == n, "segment %#" PRIx64 ": node %#" PRIx64 ", expected %#" PRIx64, s,
                  seg->node, n);
            CHECK(seg->size > 0 && seg->size % MEMS_ALIGN == 0, "segment %#" PRIx64 ": size %" PRIu64, s,
                  seg->size);
            CHECK(seg->vstart == node->vstart + off && seg->pstart == node->pstart + off,
                  "segment %#" PRIx64 ": does not start where the previous one ends", s);
            CHECK(seg->size <= node->length - off, "segment %#" PRIx64 ": runs past its node", s);
            off += seg->size;
            if (seg->type == MEMS_SEGMENT_HOLE) {
                CHECK(!prev_hole, "segment %#" PRIx64 ": two adjacent HOLEs", s);
                CHECK(seg->seq == 0 && seg->flags == 0 && seg->arena == 0,
                      "HOLE %#" PRIx64 ": has PROCESS fields set", s);
                nholes++;
                nhole_bytes += seg->size;
                prev_hole = 1;
            } else {
                CHECK(seg->type == MEMS_SEGMENT_PROCESS, "segment %#" PRIx64 ": bad type %u", s, seg->type);
                CHECK(seg->seq > 0 && seg->seq < mems_root.next_seq, "PROCESS %#" PRIx64 ": bad seq", s);
                CHECK(seg->requested > 0 && seg->requested <= seg->size &&
                          seg->size - seg->requested < MEMS_ALIGN,
                      "PROCESS %#" PRIx64 ": requested %" PRIu64 " vs size %" PRIu64, s, seg->requested,
                      seg->size);
                if (seg->flags & MEMS_SEGMENT_FLAG_ARENA) {
                    const struct mems_arena *arena = P(struct mems_arena, seg->arena);
                    CHECK(arena != NULL && arena->magic == MEMS_ARENA_MAGIC && arena->segment == s,
                          "arena segment %#" PRIx64 ": arena descriptor does not point back", s);
                    (*arena_segments)++;
                } else {
                    CHECK(seg->arena == 0, "PROCESS %#" PRIx64 ": arena set without flag", s);
                }
                proc++;
                proc_bytes += seg->size;
                prev_hole = 0;
            }
            sprev = s;
        }
        CHECK(off == node->length, "node %#" PRIx64 ": segments cover %" PRIu64 " of %" PRIu64 " bytes", n,
              off, node->length);
        CHECK(node->seg_tail == sprev, "node %#" PRIx64 ": seg_tail is not the last segment", n);
        CHECK(node->segment_count == count, "node %#" PRIx64 ": segment_count %" PRIu32 ", walked %" PRIu64,
              n, node->segment_count, count);
        CHECK(node->hole_count == nholes && node->hole_bytes == nhole_bytes,
              "node %#" PRIx64 ": hole counters do not match its segments", n);
        segments += count;
        holes += nholes;
        hole_bytes += nhole_bytes;
        prev = n;
    }
    CHECK(mems_root.tail == prev, "root: tail is not the last node");
    CHECK(mems_root.virt_next == vnext, "root: virt_next %#" PRIx64 ", expected %#" PRIx64,
          mems_root.virt_next, vnext);
    CHECK(mems_root.nodes == nodes, "root: nodes %" PRIu64 ", walked %" PRIu64, mems_root.nodes, nodes);
    CHECK(mems_root.pages == pages, "root: pages %" PRIu64 ", walked %" PRIu64, mems_root.pages, pages);
    CHECK(mems_root.segments == segments, "root: segments %" PRIu64 ", walked %" PRIu64,
          mems_root.segments, segments);
    CHECK(mems_root.process_segments == proc && mems_root.process_bytes == proc_bytes,
          "root: PROCESS counters %" PRIu64 "/%" PRIu64 ", walked %" PRIu64 "/%" PRIu64,
          mems_root.process_segments, mems_root.process_bytes, proc, proc_bytes);
    CHECK(mems_root.hole_segments == holes && mems_root.hole_bytes == hole_bytes,
          "root: HOLE counters %" PRIu64 "/%" PRIu64 ", walked %" PRIu64 "/%" PRIu64,
          mems_root.hole_segments, mems_root.hole_bytes, holes, hole_bytes);
    CHECK(pages * mems_root.page_size == proc_bytes + hole_bytes, "PROCESS + HOLE bytes != mapped bytes");
    return 0;
}

static int check_pool(struct checker *c, const struct mems_pool_header *pool, uint64_t *pools,
                      uint64_t *used, uint64_t *free_blocks, uint64_t *bytes) {
    uint64_t base = U(pool);
    if (pool->state == MEMS_POOL_STATE_EMPTY) return 0;
    CHECK(pool->state == MEMS_POOL_STATE_USED || pool->state == MEMS_POOL_STATE_FULL,
          "pool %#" PRIx64 ": bad state %u", base, pool->state);
    CHECK(pool->class_index < MEMS_POOL_CLASS_COUNT, "pool %#" PRIx64 ": bad class", base);
    uint32_t bs = MEMS_POOL_CLASS_STEP * (pool->class_index + 1);
    CHECK(pool->block_size == bs && pool->capacity == (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / bs,
          "pool %#" PRIx64 ": bad block size or capacity", base);
    CHECK(pool->next_offset >= MEMS_POOL_HEADER_SIZE && (pool->next_offset - MEMS_POOL_HEADER_SIZE) % bs == 0 &&
              (pool->next_offset - MEMS_POOL_HEADER_SIZE) / bs <= pool->capacity,
          "pool %#" PRIx64 ": bad next_offset %u", base, pool->next_offset);
    uint32_t touched = (pool->next_offset - MEMS_POOL_HEADER_SIZE) / bs;
    unsigned bits = 0;
    for (unsigned w = 0; w < MEMS_POOL_BITMAP_WORDS; w++) bits += mems__popcount64(pool->in_use[w]);
    CHECK(bits == pool->used, "pool %#" PRIx64 ": used %u, bitmap has %u", base, pool->used, bits);
    CHECK(pool->used > 0 || pool->state == MEMS_POOL_STATE_USED,
          "pool %#" PRIx64 ": %s with no used block", base, pool->state == MEMS_POOL_STATE_FULL ? "FULL" : "?");
    for (uint32_t k = touched; k < MEMS_POOL_BITMAP_WORDS * 64; k++)
        CHECK(!(pool->in_use[k / 64] >> (k % 64) & 1), "pool %#" PRIx64 ": never-used block %u marked used",
              base, k);
    uint32_t nfree = 0;
    for (uint64_t b = pool->freelist; b != 0; b = *P(uint64_t, b)) {
        CHECK(++nfree <= touched, "pool %#" PRIx64 ": free list too long or cyclic", base);
        CHECK(b >= base + MEMS_POOL_HEADER_SIZE && b < base + pool->next_offset &&
                  (b - base - MEMS_POOL_HEADER_SIZE) % bs == 0,
              "pool %#" PRIx64 ": free list entry %#" PRIx64 " is not a touched block", base, b);
        uint32_t k = (uint32_t)((b - base - MEMS_POOL_HEADER_SIZE) / bs);
        CHECK(!(pool->in_use[k / 64] >> (k % 64) & 1), "pool %#" PRIx64 ": block %#" PRIx64
              " both free and used", base, b);
    }
    CHECK(nfree + pool->used == touched, "pool %#" PRIx64 ": %u free + %u used != %u touched", base, nfree,
          pool->used, touched);
    CHECK((pool->state == MEMS_POOL_STATE_FULL) == (pool->used == pool->capacity),
          "pool %#" PRIx64 ": state does not match used count", base);
    CHECK(mems__pool_map_contains(base), "pool %#" PRIx64 ": missing from the pool map", base);
    (*pools)++;
    *used += pool->used;
    *free_blocks += pool->capacity - pool->used;
    *bytes += (uint64_t)pool->used * bs;
    return 0;
}

static int check_pools(struct checker *c, uint64_t arena_segments) {
    uint64_t arenas = 0, usable = 0, pools = 0, used = 0, free_blocks = 0, bytes = 0, carved = 0,
             in_class_lists = 0, used_state = 0, bound = walk_bound();
    uint64_t prev = 0;
    for (uint64_t a = mems_root.arena_head; a != 0; a = P(struct mems_arena, a)->next) {
        const struct mems_arena *arena = P(struct mems_arena, a);
        CHECK(++arenas <= bound, "arena list: cycle");
        CHECK(arena->magic == MEMS_ARENA_MAGIC, "arena %#" PRIx64 ": bad magic", a);
        CHECK(arena->prev == prev, "arena %#" PRIx64 ": bad prev", a);
        const struct mems_segment *seg = P(struct mems_segment, arena->segment);
        CHECK(seg != NULL && seg->magic == MEMS_SEGMENT_MAGIC && seg->type == MEMS_SEGMENT_PROCESS &&
                  (seg->flags & MEMS_SEGMENT_FLAG_ARENA) && seg->arena == a,
              "arena %#" PRIx64 ": its segment does not point back", a);
        CHECK(seg->pstart == arena->pstart && seg->vstart == arena->vstart && seg->size == arena->size &&
                  arena->size == MEMS_ARENA_SIZE && arena->pool_count == MEMS_POOLS_PER_ARENA,
              "arena %#" PRIx64 ": geometry does not match its segment", a);
        CHECK(arena->pstart % MEMS_POOL_SIZE == 0, "arena %#" PRIx64 ": not pool aligned", a);
        CHECK(arena->pools_carved <= arena->pool_count, "arena %#" PRIx64 ": carved too many", a);
        uint32_t empty = 0;
        for (uint32_t i = 0; i < arena->pools_carved; i++) {
            const struct mems_pool_header *pool =
                P(struct mems_pool_header, arena->pstart + (uint64_t)i * MEMS_POOL_SIZE);
            CHECK(pool->magic == MEMS_POOL_MAGIC && pool->arena == a && pool->index == i,
                  "pool %#" PRIx64 ": bad magic, arena or index", U(pool));
            if (pool->state == MEMS_POOL_STATE_EMPTY) empty++;
            if (pool->state == MEMS_POOL_STATE_USED) used_state++;
            if (check_pool(c, pool, &pools, &used, &free_blocks, &bytes) != 0) return -1;
        }
        uint32_t listed = 0;
        for (uint64_t p = arena->free_pools; p != 0; p = P(struct mems_pool_header, p)->next) {
            const struct mems_pool_header *pool = P(struct mems_pool_header, p);
            CHECK(++listed <= arena->pools_carved, "arena %#" PRIx64 ": free pool list too long", a);
            CHECK(pool->arena == a && pool->state == MEMS_POOL_STATE_EMPTY,
                  "arena %#" PRIx64 ": free pool list holds pool %#" PRIx64 " which is not its EMPTY pool", a, p);
        }
        CHECK(listed == empty, "arena %#" PRIx64 ": %u EMPTY pools but %u listed", a, empty, listed);
        CHECK(arena->pools_free == empty + (arena->pool_count - arena->pools_carved),
              "arena %#" PRIx64 ": pools_free %u does not match", a, arena->pools_free);
        if (arena->pools_free > 0) usable++;
        carved += arena->pools_carved;
        prev = a;
    }
    uint64_t usable_listed = 0;
    prev = 0;
    for (uint64_t a = mems_root.usable_arenas; a != 0; a = P(struct mems_arena, a)->usable_next) {
        const struct mems_arena *arena = P(struct mems_arena, a);
        CHECK(++usable_listed <= arenas, "usable arena list: too long or cyclic");
        CHECK(arena->magic == MEMS_ARENA_MAGIC && arena->usable_prev == prev && arena->pools_free > 0,
              "usable arena list: bad entry %#" PRIx64, a);
        prev = a;
    }
    CHECK(usable_listed == usable, "usable arena list: %" PRIu64 " listed, %" PRIu64 " usable", usable_listed,
          usable);
    for (uint32_t cls = 0; cls < MEMS_POOL_CLASS_COUNT; cls++) {
        prev = 0;
        unsigned kept = 0;
        for (uint64_t p = mems_root.classes[cls]; p != 0; p = P(struct mems_pool_header, p)->next) {
            const struct mems_pool_header *pool = P(struct mems_pool_header, p);
            CHECK(++in_class_lists <= carved, "class lists: too long or cyclic");
            CHECK(mems__pool_map_contains(p), "class %u: pool %#" PRIx64 " is not a carved pool", cls, p);
            CHECK(pool->class_index == cls && pool->state == MEMS_POOL_STATE_USED && pool->prev == prev,
                  "class %u: bad pool %#" PRIx64 " in list", cls, p);
            kept += pool->used == 0;
            prev = p;
        }
        /* at most one kept (empty) pool per class, and kept_pools says which classes have one */
        CHECK(kept <= 1, "class %u: %u USED pools with no used block (at most one is kept)", cls, kept);
        CHECK(kept == ((mems_root.kept_pools >> cls) & 1),
              "class %u: %s kept pool, but root kept_pools bit is %u", cls, kept ? "a" : "no",
              (unsigned)((mems_root.kept_pools >> cls) & 1));
    }
    CHECK(mems_root.kept_pools >> MEMS_POOL_CLASS_COUNT == 0, "root: kept_pools has bits beyond the classes");
    CHECK(in_class_lists == used_state, "class lists hold %" PRIu64 " pools, %" PRIu64 " are USED",
          in_class_lists, used_state);
    CHECK(arenas == arena_segments, "%" PRIu64 " arenas but %" PRIu64 " arena segments", arenas,
          arena_segments);
    CHECK(mems_root.arenas == arenas, "root: arenas %" PRIu64 ", walked %" PRIu64, mems_root.arenas, arenas);
    CHECK(mems_root.pools == pools, "root: pools %" PRIu64 ", walked %" PRIu64, mems_root.pools, pools);
    CHECK(mems_root.blocks_used == used, "root: blocks_used %" PRIu64 ", walked %" PRIu64,
          mems_root.blocks_used, used);
    CHECK(mems_root.blocks_free == free_blocks, "root: blocks_free %" PRIu64 ", walked %" PRIu64,
          mems_root.blocks_free, free_blocks);
    CHECK(mems_root.bytes_used == bytes, "root: bytes_used %" PRIu64 ", walked %" PRIu64,
          mems_root.bytes_used, bytes);
    CHECK(mems_root.pool_map_count == carved, "pool map: %" PRIu64 " entries, %" PRIu64 " carved pools",
          mems_root.pool_map_count, carved);
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Thread caches: the list, each cache's counters, and every cached block: the
 * start of an in-use block of a carved pool of the cache's class (a pool
 * that counts it in `used`), carrying the cache key, cached once. Exact when
 * no other thread is inside a pool call. */
static int check_tcaches(struct checker *c) {
    uint64_t n = 0, prev = 0, total = 0, bound = mems_root.tcaches + 1;
    uint64_t key = mems__tcache_key();
    for (uint64_t t = mems_root.tcache_head; t != 0; t = P(struct mems_tcache, t)->next) {
        const struct mems_tcache *tc = P(struct mems_tcache, t);
        CHECK(++n <= bound, "thread cache list: longer than root tcaches %" PRIu64 " or cyclic", mems_root.tcaches);
        CHECK(tc->magic == MEMS_TCACHE_MAGIC, "thread cache %#" PRIx64 ": bad magic", t);
        CHECK(tc->prev == prev, "thread cache %#" PRIx64 ": prev %#" PRIx64 ", expected %#" PRIx64, t, tc->prev,
              prev);
        uint64_t blocks = 0, bytes = 0;
        for (uint32_t cls = 0; cls < MEMS_POOL_CLASS_COUNT; cls++) {
            CHECK(tc->count[cls] <= MEMS_TCACHE_SLOTS, "thread cache %#" PRIx64 ": class %u holds %u blocks", t,
                  cls, tc->count[cls]);
            const uint32_t bs = MEMS_POOL_CLASS_STEP * (cls + 1);
            for (uint32_t i = 0; i < tc->count[cls]; i++) {
                uint64_t b = tc->slots[cls][i], base = b & ~(uint64_t)(MEMS_POOL_SIZE - 1);
                CHECK(mems__pool_map_contains(base), "thread cache %#" PRIx64 ": block %#" PRIx64
                      " is not in a carved pool", t, b);
                const struct mems_pool_header *pool = P(struct mems_pool_header, base);
                CHECK(pool->state != MEMS_POOL_STATE_EMPTY && pool->class_index == cls && b >= base + MEMS_POOL_HEADER_SIZE &&
                          (b - base - MEMS_POOL_HEADER_SIZE) % bs == 0 &&
                          (b - base - MEMS_POOL_HEADER_SIZE) / bs < pool->capacity,
                      "thread cache %#" PRIx64 ": block %#" PRIx64 " is not a block of a class %u pool", t, b, cls);
                uint32_t k = (uint32_t)((b - base - MEMS_POOL_HEADER_SIZE) / bs);
                CHECK(pool->in_use[k / 64] >> (k % 64) & 1, "thread cache %#" PRIx64 ": block %#" PRIx64
                      " is not in use in its pool", t, b);
                CHECK(P(uint64_t, b)[1] == key, "thread cache %#" PRIx64 ": block %#" PRIx64
                      " does not carry the cache key", t, b);
                blocks++;
                bytes += bs;
            }
        }
        CHECK(tc->blocks == blocks && tc->bytes == bytes, "thread cache %#" PRIx64 ": counters %" PRIu64 "/%" PRIu64
              ", slots hold %" PRIu64 "/%" PRIu64, t, tc->blocks, tc->bytes, blocks, bytes);
        total += blocks;
        prev = t;
    }
    CHECK(n == mems_root.tcaches, "root: tcaches %" PRIu64 ", walked %" PRIu64, mems_root.tcaches, n);
    CHECK(total <= mems_root.blocks_used, "thread caches hold %" PRIu64 " blocks, pools have %" PRIu64 " in use",
          total, mems_root.blocks_used);
    /* no block in two slots */
    uint64_t *all = total ? malloc(total * sizeof *all) : NULL;
    if (all != NULL) {
        uint64_t m = 0;
        for (uint64_t t = mems_root.tcache_head; t != 0; t = P(struct mems_tcache, t)->next)
            for (uint32_t cls = 0; cls < MEMS_POOL_CLASS_COUNT; cls++)
                for (uint32_t i = 0; i < P(struct mems_tcache, t)->count[cls]; i++)
                    all[m++] = P(struct mems_tcache, t)->slots[cls][i];
        qsort(all, m, sizeof *all, cmp_u64);
        for (uint64_t i = 1; i < m; i++)
            if (all[i] == all[i - 1]) {
                uint64_t b = all[i];
                free(all);
                return fail(c, "thread caches: block %#" PRIx64 " is cached twice", b);
            }
        free(all);
    }
    return 0;
}

static int check_meta(struct checker *c) {
    uint64_t pages = 0, bound = walk_bound(), prev = 0;
    for (uint64_t m = mems_root.meta_head; m != 0; m = P(struct mems_meta_page, m)->next) {
        const struct mems_meta_page *page = P(struct mems_meta_page, m);
        CHECK(++pages <= bound, "metadata pages: cycle");
        CHECK(page->magic == MEMS_META_PAGE_MAGIC && page->prev == prev && page->slot_size == MEMS_META_SLOT_SIZE,
              "metadata page %#" PRIx64 ": bad header", m);
        prev = m;
    }
    CHECK(pages == mems_root.meta_pages, "root: meta_pages %" PRIu64 ", walked %" PRIu64, mems_root.meta_pages,
          pages);
    uint64_t total = pages * ((mems_root.meta_page_bytes - MEMS_META_PAGE_HEADER_SIZE) / MEMS_META_SLOT_SIZE);
    uint64_t nfree = 0;
    for (uint64_t s = mems_root.meta_free; s != 0; s = P(struct mems_free_slot, s)->next) {
        CHECK(++nfree <= total, "free slot list: too long or cyclic");
        CHECK(P(struct mems_free_slot, s)->magic == MEMS_FREE_SLOT_MAGIC, "free slot %#" PRIx64 ": bad magic", s);
    }
    CHECK(nfree + mems_root.meta_slots_used == total, "metadata slots: %" PRIu64 " free + %" PRIu64
          " used != %" PRIu64, nfree, mems_root.meta_slots_used, total);
    CHECK(mems_root.meta_slots_used == mems_root.nodes + mems_root.segments + mems_root.arenas,
          "metadata slots: %" PRIu64 " used, but %" PRIu64 " nodes + %" PRIu64 " segments + %" PRIu64 " arenas",
          mems_root.meta_slots_used, mems_root.nodes, mems_root.segments, mems_root.arenas);
    return 0;
}

int mems_check_invariants(char *err, size_t err_len) {
    struct checker checker = {err, err_len}, *c = &checker;
    if (err != NULL && err_len > 0) err[0] = '\0';
    mems__lock();
    int rc = -1;
    if (mems_root.magic != MEMS_ROOT_MAGIC || mems_root.layout_version != MEMS_LAYOUT_VERSION ||
        mems_root.root_size != sizeof(struct mems_root)) {
        rc = fail(c, "root: bad magic, version or size");
    } else if (!mems_root.initialized) {
        rc = (mems_root.head == 0 && mems_root.nodes == 0 && mems_root.arena_head == 0 &&
              mems_root.meta_head == 0 && mems_root.pool_map == 0 && mems_root.tcache_head == 0)
                 ? 0
                 : fail(c, "root: not initialized but not empty");
    } else {
        uint64_t arena_segments = 0;
        rc = check_segments(c, &arena_segments);
        if (rc == 0) rc = check_pools(c, arena_segments);
        if (rc == 0) rc = check_tcaches(c);
        if (rc == 0) rc = check_meta(c);
    }
    mems__unlock();
    return rc;
}
