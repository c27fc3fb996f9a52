/*
 * segment.c — the segment allocator (the MeMS model) and the root symbol.
 *
 * The main chain is a doubly linked list of nodes, one per mmap mapping; each
 * node has a doubly linked sub-chain of segments that tile it exactly. A
 * segment is a HOLE or a PROCESS. Virtual addresses are handed out from
 * MEMS_VIRT_BASE upwards, each new node taking the next `length` addresses,
 * so virtual ranges of nodes are consecutive in chain order.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mems_internal.h"

__attribute__((visibility("default"))) struct mems_root mems_root = {
    .magic = MEMS_ROOT_MAGIC,
    .layout_version = MEMS_LAYOUT_VERSION,
    .root_size = (uint32_t)sizeof(struct mems_root),
    .virt_base = MEMS_VIRT_BASE,
    .meta_slot_size = MEMS_META_SLOT_SIZE,
    .pool_size = MEMS_POOL_SIZE,
    .arena_size = MEMS_ARENA_SIZE,
    .pool_header_size = MEMS_POOL_HEADER_SIZE,
    .pool_class_count = MEMS_POOL_CLASS_COUNT,
};

#define NOT_INITIALIZED "%s: allocator not initialized (call mems_init first)"

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* Clears everything but the identification and geometry fields. */
static void reset_root(void) {
    struct mems_root fresh = {
        .magic = MEMS_ROOT_MAGIC,
        .layout_version = MEMS_LAYOUT_VERSION,
        .root_size = (uint32_t)sizeof(struct mems_root),
        .busy = 1, /* still under the lock */
        .virt_base = MEMS_VIRT_BASE,
        .virt_next = MEMS_VIRT_BASE,
        .next_seq = 1,
        .meta_slot_size = MEMS_META_SLOT_SIZE,
        .pool_size = MEMS_POOL_SIZE,
        .arena_size = MEMS_ARENA_SIZE,
        .pool_header_size = MEMS_POOL_HEADER_SIZE,
        .pool_class_count = MEMS_POOL_CLASS_COUNT,
        .errors = mems_root.errors,
    };
    mems_root = fresh;
}

int mems_init(void) {
    mems__lock();
    if (mems_root.initialized) {
        mems__error("mems_init: already initialized (call mems_finish first)");
        mems__unlock();
        return -1;
    }
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || (page & (page - 1)) != 0) page = 4096;
    reset_root();
    mems_root.page_size = (uint64_t)page;
    mems_root.meta_page_bytes = (uint64_t)page;
    mems_root.initialized = 1;
    mems__unlock();
    return 0;
}

int mems_finish(void) {
    mems__lock();
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_finish");
        mems__unlock();
        return -1;
    }
    for (uint64_t n = mems_root.head; n != 0;) {
        struct mems_node *node = P(struct mems_node, n);
        uint64_t next = node->next;
        mems__unmap(node->pstart, node->length);
        n = next;
    }
    mems__tcache_release_all();
    mems__pool_map_release();
    mems__meta_release_all();
    reset_root(); /* initialized = 0 */
    mems__unlock();
    return 0;
}

/* ---- sub-chain surgery -------------------------------------------------- */

/* Splits seg at offset off (0 < off < seg->size, a multiple of MEMS_ALIGN):
 * seg keeps [0, off), a new segment of the same type after it gets the rest.
 * Needs one reserved metadata slot. */
static struct mems_segment *split(struct mems_segment *seg, uint64_t off) {
    struct mems_node *node = P(struct mems_node, seg->node);
    struct mems_segment *rest = mems__meta_take();
    rest->magic = MEMS_SEGMENT_MAGIC;
    rest->type = seg->type;
    rest->node = seg->node;
    rest->vstart = seg->vstart + off;
    rest->pstart = seg->pstart + off;
    rest->size = seg->size - off;
    seg->size = off;
    rest->prev = U(seg);
    rest->next = seg->next;
    if (seg->next != 0)
        P(struct mems_segment, seg->next)->prev = U(rest);
    else
        node->seg_tail = U(rest);
    seg->next = U(rest);
    node->segment_count++;
    mems_root.segments++;
    if (seg->type == MEMS_SEGMENT_HOLE) {
        node->hole_count++;
        mems_root.hole_segments++;
    }
    return rest;
}

/* Folds HOLE `next` into the HOLE before it and frees its descriptor. */
static void absorb_next(struct mems_segment *seg) {
    struct mems_segment *next = P(struct mems_segment, seg->next);
    struct mems_node *node = P(struct mems_node, seg->node);
    seg->size += next->size;
    seg->next = next->next;
    if (next->next != 0)
        P(struct mems_segment, next->next)->prev = U(seg);
    else
        node->seg_tail = U(seg);
    node->segment_count--;
    node->hole_count--;
    mems_root.segments--;
    mems_root.hole_segments--;
    mems__meta_give(next);
}

/* Maps a new node of `length` bytes holding one HOLE; appends it. Needs two
 * reserved slots. */
static struct mems_node *add_node(uint64_t length) {
    void *mem = mems__map(length);
    if (mem == NULL) return NULL;
    struct mems_node *node = mems__meta_take();
    struct mems_segment *hole = mems__meta_take();
    node->magic = MEMS_NODE_MAGIC;
    node->vstart = mems_root.virt_next;
    node->pstart = U(mem);
    node->length = length;
    node->seg_head = node->seg_tail = U(hole);
    node->segment_count = 1;
    node->hole_bytes = length;
    node->hole_count = 1;
    node->index = mems_root.tail ? P(struct mems_node, mems_root.tail)->index + 1 : 0;
    node->prev = mems_root.tail;
    if (mems_root.tail != 0)
        P(struct mems_node, mems_root.tail)->next = U(node);
    else
        mems_root.head = U(node);
    mems_root.tail = U(node);
    hole->magic = MEMS_SEGMENT_MAGIC;
    hole->type = MEMS_SEGMENT_HOLE;
    hole->node = U(node);
    hole->vstart = node->vstart;
    hole->pstart = node->pstart;
    hole->size = length;
    mems_root.virt_next += length;
    mems_root.pages += length / mems_root.page_size;
    mems_root.nodes++;
    mems_root.segments++;
    mems_root.hole_segments++;
    mems_root.hole_bytes += length;
    return node;
}

/* Turns [pad, pad + size) of HOLE `hole` into a PROCESS segment. */
static struct mems_segment *carve(struct mems_segment *hole, uint64_t pad, uint64_t size) {
    if (pad > 0) hole = split(hole, pad);
    if (hole->size > size) split(hole, size);
    struct mems_node *node = P(struct mems_node, hole->node);
    hole->type = MEMS_SEGMENT_PROCESS;
    node->hole_bytes -= size;
    node->hole_count--;
    mems_root.hole_segments--;
    mems_root.hole_bytes -= size;
    mems_root.process_segments++;
    mems_root.process_bytes += size;
    hole->seq = mems_root.next_seq++;
    return hole;
}

struct mems_segment *mems__segment_alloc(const char *who, uint64_t size, uint64_t align,
                                         uint64_t requested, uint64_t site, uint32_t flags) {
    if (align > mems_root.page_size) { /* a new node could not guarantee it */
        mems__error("%s: alignment %" PRIu64 " exceeds the page size", who, align);
        return NULL;
    }
    /* Worst cases: a new node (node + hole + remainder) or a split hole
     * (pad + remainder). */
    if (mems__meta_reserve(3) != 0) {
        mems__error("%s: cannot map a metadata page (out of memory)", who);
        return NULL;
    }
    struct mems_segment *found = NULL;
    for (uint64_t n = mems_root.head; n != 0 && found == NULL; n = P(struct mems_node, n)->next) {
        struct mems_node *node = P(struct mems_node, n);
        if (node->hole_bytes < size) continue;
        for (uint64_t s = node->seg_head; s != 0; s = P(struct mems_segment, s)->next) {
            struct mems_segment *seg = P(struct mems_segment, s);
            if (seg->type != MEMS_SEGMENT_HOLE) continue;
            uint64_t pad = align_up(seg->pstart, align) - seg->pstart;
            if (seg->size >= pad && seg->size - pad >= size) {
                found = carve(seg, pad, size);
                break;
            }
        }
    }
    if (found == NULL) {
        uint64_t page = mems_root.page_size;
        if (size > UINT64_MAX - page || size > (uint64_t)SIZE_MAX - page ||
            align_up(size, page) > UINT64_MAX - mems_root.virt_next) {
            mems__error("%s: size %" PRIu64 " is too large", who, requested);
            return NULL;
        }
        uint64_t length = align_up(size, page);
        struct mems_node *node = add_node(length);
        if (node == NULL) {
            mems__error("%s: mmap of %" PRIu64 " bytes failed (out of memory)", who, length);
            return NULL;
        }
        found = carve(P(struct mems_segment, node->seg_head), 0, size);
    }
    found->requested = requested;
    found->site = site;
    found->flags = flags;
    return found;
}

void mems__segment_release(struct mems_segment *seg) {
    struct mems_node *node = P(struct mems_node, seg->node);
    seg->type = MEMS_SEGMENT_HOLE;
    seg->requested = 0;
    seg->site = 0;
    seg->seq = 0;
    seg->flags = 0;
    seg->arena = 0;
    node->hole_bytes += seg->size;
    node->hole_count++;
    mems_root.process_segments--;
    mems_root.process_bytes -= seg->size;
    mems_root.hole_segments++;
    mems_root.hole_bytes += seg->size;
    if (seg->next != 0 && P(struct mems_segment, seg->next)->type == MEMS_SEGMENT_HOLE)
        absorb_next(seg);
    if (seg->prev != 0 && P(struct mems_segment, seg->prev)->type == MEMS_SEGMENT_HOLE)
        absorb_next(P(struct mems_segment, seg->prev));
}

/* ---- lookups ------------------------------------------------------------ */

static struct mems_node *node_of(uint64_t v) {
    for (uint64_t n = mems_root.head; n != 0; n = P(struct mems_node, n)->next) {
        struct mems_node *node = P(struct mems_node, n);
        if (v >= node->vstart && v - node->vstart < node->length) return node;
    }
    return NULL;
}

static struct mems_segment *segment_of(struct mems_node *node, uint64_t v) {
    for (uint64_t s = node->seg_head; s != 0; s = P(struct mems_segment, s)->next) {
        struct mems_segment *seg = P(struct mems_segment, s);
        if (v >= seg->vstart && v - seg->vstart < seg->size) return seg;
    }
    return NULL; /* cannot happen while segments tile the node */
}

/* ---- public API --------------------------------------------------------- */

__attribute__((noinline)) void *mems_malloc(size_t size) {
    uint64_t site = U(__builtin_return_address(0));
    mems__lock();
    void *result = NULL;
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_malloc");
    } else if (size == 0) {
        mems__error("mems_malloc: size 0 is not allowed");
    } else if ((uint64_t)size > UINT64_MAX - MEMS_ALIGN) {
        mems__error("mems_malloc: size %zu is too large", size);
    } else {
        struct mems_segment *seg = mems__segment_alloc("mems_malloc", align_up(size, MEMS_ALIGN),
                                                       MEMS_ALIGN, size, site, 0);
        if (seg != NULL) result = P(void, seg->vstart);
    }
    mems__unlock();
    return result;
}

int mems_free(void *v) {
    if (v == NULL) return 0;
    uint64_t va = U(v);
    int rc = -1;
    mems__lock();
    struct mems_node *node = NULL;
    struct mems_segment *seg = NULL;
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_free");
    } else if ((node = node_of(va)) == NULL || (seg = segment_of(node, va)) == NULL) {
        mems__error("mems_free: virtual address %#" PRIx64 " is not in any node (unknown address)", va);
    } else if (seg->type == MEMS_SEGMENT_HOLE) {
        mems__error("mems_free: virtual address %#" PRIx64
                    " is not allocated: it lies in a HOLE [%#" PRIx64 ", %#" PRIx64 ") (double free?)",
                    va, seg->vstart, seg->vstart + seg->size);
    } else if (seg->vstart != va) {
        mems__error("mems_free: virtual address %#" PRIx64
                    " is interior to PROCESS segment [%#" PRIx64 ", %#" PRIx64 "), not its start",
                    va, seg->vstart, seg->vstart + seg->size);
    } else if (seg->flags & MEMS_SEGMENT_FLAG_ARENA) {
        mems__error("mems_free: virtual address %#" PRIx64
                    " is a pool arena, owned by the pool allocator", va);
    } else {
        mems__segment_release(seg);
        rc = 0;
    }
    mems__unlock();
    return rc;
}

void *mems_get(void *v) {
    uint64_t va = U(v);
    void *result = NULL;
    mems__lock();
    struct mems_node *node = NULL;
    struct mems_segment *seg = NULL;
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_get");
    } else if ((node = node_of(va)) == NULL || (seg = segment_of(node, va)) == NULL) {
        mems__error("mems_get: virtual address %#" PRIx64 " is not mapped (outside every node)", va);
    } else if (seg->type == MEMS_SEGMENT_HOLE) {
        mems__error("mems_get: virtual address %#" PRIx64
                    " is not allocated: it lies in a HOLE [%#" PRIx64 ", %#" PRIx64 ")",
                    va, seg->vstart, seg->vstart + seg->size);
    } else {
        result = P(void, seg->pstart + (va - seg->vstart));
    }
    mems__unlock();
    return result;
}

int mems_get_stats(struct mems_stats *out) {
    int rc = -1;
    mems__lock();
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_get_stats");
    } else if (out == NULL) {
        mems__error("mems_get_stats: out is NULL");
    } else {
        out->pages = (size_t)mems_root.pages;
        out->nodes = (size_t)mems_root.nodes;
        out->segments = (size_t)mems_root.segments;
        out->process_segments = (size_t)mems_root.process_segments;
        out->process_bytes = (size_t)mems_root.process_bytes;
        out->hole_segments = (size_t)mems_root.hole_segments;
        out->hole_bytes = (size_t)mems_root.hole_bytes;
        rc = 0;
    }
    mems__unlock();
    return rc;
}

void mems_print_stats(void) {
    mems__lock();
    if (!mems_root.initialized) {
        mems__error(NOT_INITIALIZED, "mems_print_stats");
        mems__unlock();
        return;
    }
    fflush(stdout); /* keep order with the program's own stdio output */
    const int fd = 1;
    mems__printf(fd, "----- MeMS stats -----\n");
    mems__printf(fd, "pages used: %" PRIu64 " (%" PRIu64 " bytes; metadata pages: %" PRIu64 ")\n",
                 mems_root.pages, mems_root.pages * mems_root.page_size, mems_root.meta_pages);
    mems__printf(fd, "unused memory (HOLE bytes): %" PRIu64 "\n", mems_root.hole_bytes);
    mems__printf(fd, "main chain length: %" PRIu64 "\n", mems_root.nodes);
    mems__printf(fd, "sub-chain lengths: [");
    for (uint64_t n = mems_root.head; n != 0; n = P(struct mems_node, n)->next)
        mems__printf(fd, "%s%" PRIu32, n == mems_root.head ? "" : ", ",
                     P(struct mems_node, n)->segment_count);
    mems__printf(fd, "]\n");
    for (uint64_t n = mems_root.head; n != 0; n = P(struct mems_node, n)->next) {
        const struct mems_node *node = P(struct mems_node, n);
        mems__printf(fd,
                     "node %" PRIu64 ": virtual [%#" PRIx64 ", %#" PRIx64 ") physical %#" PRIx64
                     " length %" PRIu64 " (%" PRIu64 " page%s) segments %" PRIu32 "\n",
                     node->index, node->vstart, node->vstart + node->length, node->pstart,
                     node->length, node->length / mems_root.page_size,
                     node->length == mems_root.page_size ? "" : "s", node->segment_count);
        for (uint64_t s = node->seg_head; s != 0; s = P(struct mems_segment, s)->next) {
            const struct mems_segment *seg = P(struct mems_segment, s);
            if (seg->type == MEMS_SEGMENT_HOLE) {
                mems__printf(fd,
                             "  HOLE    virtual [%#" PRIx64 ", %#" PRIx64 ") physical %#" PRIx64
                             " size %" PRIu64 "\n",
                             seg->vstart, seg->vstart + seg->size, seg->pstart, seg->size);
            } else {
                mems__printf(fd,
                             "  PROCESS virtual [%#" PRIx64 ", %#" PRIx64 ") physical %#" PRIx64
                             " size %" PRIu64 " requested %" PRIu64 " seq %" PRIu64
                             " site %#" PRIx64 "%s\n",
                             seg->vstart, seg->vstart + seg->size, seg->pstart, seg->size,
                             seg->requested, seg->seq, seg->site,
                             (seg->flags & MEMS_SEGMENT_FLAG_ARENA) ? " (pool arena)" : "");
            }
        }
    }
    uint64_t blocks_used, blocks_free, bytes_used;
    mems__pool_user_counters(&blocks_used, &blocks_free, &bytes_used);
    mems__printf(fd,
                 "pools: arenas %" PRIu64 " pools %" PRIu64 " blocks used %" PRIu64
                 " blocks free %" PRIu64 " bytes used %" PRIu64 "\n",
                 mems_root.arenas, mems_root.pools, blocks_used, blocks_free, bytes_used);
    mems__printf(fd, "----------------------\n");
    mems__unlock();
}
