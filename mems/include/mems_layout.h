/*
 * mems_layout.h — the in-memory layout of the mems allocators, for readers.
 *
 * Everything a debugger (or heapscope reading a core file) needs to decode the
 * state of the mems segment allocator and pool allocator is declared here:
 * plain structs with fixed-width fields, no bitfields, no pointers (addresses
 * in the target are uint64_t), and constants. Every offset is given in a
 * comment and checked by a static assertion at the end. The header is valid C
 * (C11) and C++ and contains no code.
 *
 * How to decode a target:
 *   1. Find the exported symbol `mems_root` (a struct mems_root). Check
 *      `magic == MEMS_ROOT_MAGIC` and `layout_version == MEMS_LAYOUT_VERSION`.
 *      If `initialized == 0` there is nothing to read. If `busy == 1` the
 *      target stopped while a thread was changing the structures: expect
 *      inconsistencies.
 *   2. Segment allocator: walk the main chain from `head` through
 *      `mems_node.next` (a doubly linked list; `prev` points back, the first
 *      node's prev and the last node's next are 0). Each node is one mmap
 *      mapping [pstart, pstart + length) and covers the MeMS virtual range
 *      [vstart, vstart + length). Its sub-chain runs from `seg_head` through
 *      `mems_segment.next`; the segments exactly tile the node in order, both
 *      in virtual and in physical addresses, and two HOLEs are never adjacent.
 *   3. Pool allocator: walk arenas from `arena_head` through
 *      `mems_arena.next`. Each arena is the memory of one PROCESS segment
 *      (flag MEMS_SEGMENT_FLAG_ARENA) and holds `pool_count` pools of
 *      MEMS_POOL_SIZE bytes starting at `pstart` (pool-size aligned). The
 *      first `pools_carved` pools have a valid `mems_pool_header` at their
 *      start; the others were never touched. A block is in use iff its bit
 *      in the pool's `in_use` bitmap is set.
 *      A pool whose last block is freed is kept for its class (layout
 *      version 2): it stays USED, on its class list, with `used == 0`, so
 *      that a class flipping between empty and used does not release and
 *      re-carve a pool on every flip. Each class keeps at most one such pool;
 *      bit c of `mems_root.kept_pools` is set iff class c keeps one. A second
 *      pool of the class that empties goes back to its arena (EMPTY).
 *      Thread caches (version 2): walk `tcache_head` through
 *      `mems_tcache.next`; the blocks they hold are free for the program
 *      although their pools count them as in use (see struct mems_tcache).
 *   4. Node, segment and arena descriptors live in metadata pages (mmapped,
 *      listed from `meta_head`), never in the glibc heap. Pool headers live
 *      at the start of each pool. The pool map (an open-addressing hash set
 *      of carved pool addresses, used to validate frees) is one mapping at
 *      `pool_map`.
 *
 * Counters in the root are kept up to date on every operation, so a reader
 * can compare them with what it finds by walking the structures.
 *
 * Layout is for LP64 little-endian targets (x86-64, AArch64).
 */
#ifndef MEMS_LAYOUT_H
#define MEMS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MEMS_LAYOUT_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define MEMS_LAYOUT_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- identification ---------------------------------------------------- */

/* Root magic: the bytes "MeMSroot" as they appear in memory (little-endian). */
#define MEMS_ROOT_MAGIC 0x746F6F72534D654DULL
#define MEMS_LAYOUT_VERSION 2u

/* Per-record magics (first uint32_t of each record, except the pool
 * header's, at offset 64): the ASCII name as it appears in memory. */
#define MEMS_NODE_MAGIC 0x45444F4Eu      /* "NODE" */
#define MEMS_SEGMENT_MAGIC 0x4D474553u   /* "SEGM" */
#define MEMS_ARENA_MAGIC 0x4E455241u     /* "AREN" */
#define MEMS_FREE_SLOT_MAGIC 0x45455246u /* "FREE": unused metadata slot */
#define MEMS_META_PAGE_MAGIC 0x4154454Du /* "META" */
#define MEMS_POOL_MAGIC 0x4C4F4F50u      /* "POOL" */
#define MEMS_TCACHE_MAGIC 0x48434354u    /* "TCCH" */

/* ---- segment allocator ------------------------------------------------- */

/* First MeMS virtual address; node virtual ranges follow each other. */
#define MEMS_VIRT_BASE 1000u
/* Requested sizes are rounded up to this, so physical addresses handed out
 * are 16-byte aligned (segments start at 16-byte offsets of their node). */
#define MEMS_ALIGN 16u

/* mems_segment.type */
#define MEMS_SEGMENT_HOLE 0u
#define MEMS_SEGMENT_PROCESS 1u

/* mems_segment.flags */
#define MEMS_SEGMENT_FLAG_ARENA 1u /* PROCESS segment holding a pool arena */

/* ---- pool allocator ---------------------------------------------------- */

#define MEMS_POOL_SIZE 4096u            /* bytes per pool, pools are aligned to it */
#define MEMS_ARENA_SIZE (256u * 1024u)  /* bytes per arena */
#define MEMS_POOLS_PER_ARENA 64u        /* MEMS_ARENA_SIZE / MEMS_POOL_SIZE */
#define MEMS_POOL_CLASS_STEP 16u        /* class i serves blocks of 16*(i+1) bytes */
#define MEMS_POOL_CLASS_COUNT 32u       /* classes 16, 32, ..., 512 */
#define MEMS_POOL_MAX_BLOCK 512u        /* largest pool block */
#define MEMS_POOL_HEADER_SIZE 96u       /* blocks start at pool + 96 */
#define MEMS_POOL_BITMAP_WORDS 4u       /* 256 bits >= (4096-96)/16 = 250 blocks */

/* mems_pool_header.state */
#define MEMS_POOL_STATE_EMPTY 0u /* carved, no block in use, on arena free_pools */
#define MEMS_POOL_STATE_USED 1u  /* a free block, on root.classes[class]; used == 0 only
                                    for the class's one kept pool (see kept_pools) */
#define MEMS_POOL_STATE_FULL 2u  /* every block in use, on no list */

/* ---- thread caches (layout version 2) ------------------------------------ */

#define MEMS_TCACHE_SLOTS 14u    /* blocks a thread caches per class, at most */
#define MEMS_TCACHE_SIZE 4096u   /* bytes of a thread cache's mapping */

/* ---- metadata pages ---------------------------------------------------- */

#define MEMS_META_PAGE_HEADER_SIZE 64u /* slots start at page + 64 */
#define MEMS_META_SLOT_SIZE 96u        /* every node/segment/arena record is 96 bytes */

/*
 * The root: the only exported data symbol, `struct mems_root mems_root`.
 * It is statically initialized with magic, layout_version and root_size, so a
 * reader can validate it even before mems_init. Addresses are target
 * addresses (0 = none).
 */
struct mems_root {
    uint64_t magic;           /*   0: MEMS_ROOT_MAGIC */
    uint32_t layout_version;  /*   8: MEMS_LAYOUT_VERSION */
    uint32_t root_size;       /*  12: sizeof(struct mems_root) = 576 */
    uint32_t initialized;     /*  16: 1 between mems_init and mems_finish */
    uint32_t busy;            /*  20: 1 while a thread holds the lock */
    uint64_t page_size;       /*  24: sysconf(_SC_PAGESIZE) at mems_init */
    uint64_t virt_base;       /*  32: MEMS_VIRT_BASE */
    uint64_t virt_next;       /*  40: virtual start of the next new node */
    uint64_t head;            /*  48: first mems_node of the main chain */
    uint64_t tail;            /*  56: last mems_node of the main chain */
    uint64_t next_seq;        /*  64: sequence number of the next PROCESS segment (from 1) */

    /* segment allocator counters (what mems_get_stats returns) */
    uint64_t pages;            /*  72: data pages mapped (sum of node lengths / page_size) */
    uint64_t nodes;            /*  80: main chain length */
    uint64_t segments;         /*  88: segments in all sub-chains */
    uint64_t process_segments; /*  96 */
    uint64_t process_bytes;    /* 104: sum of PROCESS segment sizes (arenas included) */
    uint64_t hole_segments;    /* 112 */
    uint64_t hole_bytes;       /* 120: sum of HOLE sizes ("unused memory") */

    /* metadata pages (descriptors of nodes, segments, arenas) */
    uint64_t meta_head;        /* 128: first mems_meta_page */
    uint64_t meta_pages;       /* 136: number of metadata pages */
    uint64_t meta_page_bytes;  /* 144: size of each metadata page mapping */
    uint64_t meta_slot_size;   /* 152: MEMS_META_SLOT_SIZE */
    uint64_t meta_free;        /* 160: first free slot (FREE magic, next at +8) */
    uint64_t meta_slots_used;  /* 168: nodes + segments + arenas */

    /* pool allocator: geometry */
    uint64_t pool_size;         /* 176: MEMS_POOL_SIZE */
    uint64_t arena_size;        /* 184: MEMS_ARENA_SIZE */
    uint64_t pool_header_size;  /* 192: MEMS_POOL_HEADER_SIZE */
    uint64_t pool_class_count;  /* 200: MEMS_POOL_CLASS_COUNT */

    /* pool allocator: structures */
    uint64_t arena_head;        /* 208: first mems_arena (list of all arenas) */
    uint64_t usable_arenas;     /* 216: first arena with an uncarved or empty pool */
    uint64_t pool_map;          /* 224: uint64_t[pool_map_capacity], 0 = empty entry */
    uint64_t pool_map_capacity; /* 232: power of two, 0 before the first pool */
    uint64_t pool_map_count;    /* 240: carved pools (entries in the map) */

    /* pool allocator counters (what mems_pool_get_stats returns) */
    uint64_t arenas;            /* 248 */
    uint64_t pools;             /* 256: pools in state USED or FULL */
    uint64_t blocks_used;       /* 264 */
    uint64_t blocks_free;       /* 272: capacity - used, summed over USED/FULL pools */
    uint64_t bytes_used;        /* 280: sum of used blocks * block size */

    /* pools with a free block per class: head of a list of USED pools,
     * linked through mems_pool_header.next/prev */
    uint64_t classes[MEMS_POOL_CLASS_COUNT]; /* 288 .. 543 */

    uint64_t errors;            /* 544: bad calls reported on stderr so far */
    uint64_t kept_pools;        /* 552: bit c set: class c keeps an empty USED pool */

    /* thread caches (layout version 2) */
    uint64_t tcache_head;       /* 560: first mems_tcache (list of all thread caches) */
    uint64_t tcaches;           /* 568: number of thread caches */
};                              /* size 576 */

/*
 * A metadata page: one mmap of meta_page_bytes. A 64-byte header, then
 * slot_count slots of MEMS_META_SLOT_SIZE bytes. Each slot holds a
 * mems_node, a mems_segment, a mems_arena or a free slot (magic
 * MEMS_FREE_SLOT_MAGIC, next free slot address at offset 8).
 */
struct mems_meta_page {
    uint32_t magic;      /*  0: MEMS_META_PAGE_MAGIC */
    uint32_t slot_size;  /*  4: MEMS_META_SLOT_SIZE */
    uint32_t slot_count; /*  8 */
    uint32_t reserved0;  /* 12 */
    uint64_t prev;       /* 16: previous metadata page */
    uint64_t next;       /* 24: next metadata page */
    uint64_t bytes;      /* 32: length of this mapping */
    uint64_t reserved[3]; /* 40 */
};                       /* size 64 */

/* A free metadata slot. */
struct mems_free_slot {
    uint32_t magic;     /*  0: MEMS_FREE_SLOT_MAGIC */
    uint32_t reserved0; /*  4 */
    uint64_t next;      /*  8: next free slot */
    uint64_t reserved[10]; /* 16 */
};                      /* size 96 */

/* A node of the main chain: one mmap mapping. */
struct mems_node {
    uint32_t magic;         /*  0: MEMS_NODE_MAGIC */
    uint32_t segment_count; /*  4: sub-chain length */
    uint64_t prev;          /*  8: previous node (0 for the head) */
    uint64_t next;          /* 16: next node (0 for the tail) */
    uint64_t vstart;        /* 24: first MeMS virtual address */
    uint64_t pstart;        /* 32: mapping address (page aligned) */
    uint64_t length;        /* 40: mapping length, a multiple of page_size */
    uint64_t seg_head;      /* 48: first mems_segment */
    uint64_t seg_tail;      /* 56: last mems_segment */
    uint64_t hole_bytes;    /* 64: sum of this node's HOLE sizes */
    uint64_t hole_count;    /* 72: number of this node's HOLEs */
    uint64_t index;         /* 80: creation order of nodes (0, 1, ...) */
    uint64_t reserved;      /* 88 */
};                          /* size 96 */

/* A segment of a sub-chain: a HOLE (free) or a PROCESS (allocated) range. */
struct mems_segment {
    uint32_t magic;     /*  0: MEMS_SEGMENT_MAGIC */
    uint32_t type;      /*  4: MEMS_SEGMENT_HOLE or MEMS_SEGMENT_PROCESS */
    uint64_t prev;      /*  8: previous segment of the node (0 for the first) */
    uint64_t next;      /* 16: next segment of the node (0 for the last) */
    uint64_t node;      /* 24: owning mems_node */
    uint64_t vstart;    /* 32: first MeMS virtual address */
    uint64_t pstart;    /* 40: first physical (usable) address */
    uint64_t size;      /* 48: bytes, a multiple of MEMS_ALIGN */
    uint64_t requested; /* 56: PROCESS: size asked by the caller; HOLE: 0 */
    uint64_t site;      /* 64: PROCESS: return address of the allocating call */
    uint64_t seq;       /* 72: PROCESS: sequence number (1, 2, ...); HOLE: 0 */
    uint32_t flags;     /* 80: MEMS_SEGMENT_FLAG_* */
    uint32_t reserved;  /* 84 */
    uint64_t arena;     /* 88: the mems_arena if FLAG_ARENA, else 0 */
};                      /* size 96 */

/* A pool arena (descriptor in a metadata slot; memory in a PROCESS segment). */
struct mems_arena {
    uint32_t magic;        /*  0: MEMS_ARENA_MAGIC */
    uint32_t pool_count;   /*  4: MEMS_POOLS_PER_ARENA */
    uint64_t prev;         /*  8: list of all arenas */
    uint64_t next;         /* 16 */
    uint64_t segment;      /* 24: the PROCESS mems_segment holding the arena */
    uint64_t vstart;       /* 32: MeMS virtual address of the arena */
    uint64_t pstart;       /* 40: physical address, MEMS_POOL_SIZE aligned */
    uint64_t size;         /* 48: MEMS_ARENA_SIZE */
    uint32_t pools_carved; /* 56: pools [0, pools_carved) have a header */
    uint32_t pools_free;   /* 60: uncarved pools + EMPTY pools */
    uint64_t free_pools;   /* 64: first EMPTY pool, linked by header.next */
    uint64_t usable_prev;  /* 72: list of arenas with pools_free > 0 */
    uint64_t usable_next;  /* 80 */
    uint64_t reserved;     /* 88 */
};                         /* size 96 */

/* The header at the start of every carved pool (layout version 2: the fields
 * of the fast paths first, in one cache line; the magic is at offset 64,
 * not first). Blocks follow at offset
 * MEMS_POOL_HEADER_SIZE; block i is at pool + 96 + i * block_size. A free
 * block holds the address of the next free block in its first 8 bytes. */
struct mems_pool_header {
    /* first cache line: all that an allocation or a free reads or writes */
    uint32_t class_index; /*  0: 0..31 (meaningful unless EMPTY) */
    uint32_t block_size;  /*  4: 16 * (class_index + 1) */
    uint32_t used;        /*  8: blocks in use */
    uint32_t capacity;    /* 12: (MEMS_POOL_SIZE - 96) / block_size */
    uint32_t next_offset; /* 16: offset of the first never-used block */
    uint32_t state;       /* 20: MEMS_POOL_STATE_* */
    uint64_t freelist;    /* 24: first free block (address), 0 = none */
    uint64_t in_use[MEMS_POOL_BITMAP_WORDS]; /* 32: bit i set = block i in use */
    /* second cache line: identity and list links */
    uint32_t magic;       /* 64: MEMS_POOL_MAGIC */
    uint32_t index;       /* 68: index of the pool in its arena */
    uint64_t next;        /* 72: next pool in class list or arena free_pools */
    uint64_t prev;        /* 80: previous pool in class list (0 for the head) */
    uint64_t arena;       /* 88: owning mems_arena */
};                        /* size 96 */

/* A thread cache (layout version 2): one mapping of MEMS_TCACHE_SIZE bytes
 * per thread that used the pool allocator, listed from mems_root.tcache_head.
 * Its thread takes and gives blocks of class c at the top of slots[c] (a
 * stack of count[c] block addresses) without the mems lock, and moves
 * MEMS_TCACHE_SLOTS / 2 blocks at a time between it and the pools under the
 * lock. A cached block is still in use for its pool (in-use bit set, counted
 * in the pool's `used` and in mems_root.blocks_used/blocks_free/bytes_used),
 * but it is free for the program: mems_pool_get_stats reports the root
 * counters minus `blocks` and `bytes` of every thread cache. These are exact
 * when no thread is inside a pool call (`busy` is 1 while the owning thread
 * changes its cache without the lock).
 */
struct mems_tcache {
    uint32_t magic;     /*   0: MEMS_TCACHE_MAGIC */
    uint32_t busy;      /*   4: 1 while its thread changes it without the lock */
    uint64_t prev;      /*   8: list of all thread caches */
    uint64_t next;      /*  16 */
    uint64_t thread;    /*  24: kernel thread id (gettid) of its thread */
    uint64_t blocks;    /*  32: cached blocks, all classes */
    uint64_t bytes;     /*  40: sum of their block sizes */
    uint64_t reserved[2]; /* 48 */
    uint32_t count[MEMS_POOL_CLASS_COUNT]; /* 64: cached blocks per class */
    uint64_t slots[MEMS_POOL_CLASS_COUNT][MEMS_TCACHE_SLOTS]; /* 192: slots[c][0..count[c]) */
};                      /* size 3776 */

/* ---- layout checks ----------------------------------------------------- */

MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, layout_version) == 8, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, initialized) == 16, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, page_size) == 24, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, head) == 48, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, next_seq) == 64, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, pages) == 72, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, hole_bytes) == 120, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, meta_head) == 128, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, meta_slots_used) == 168, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, pool_size) == 176, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, arena_head) == 208, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, pool_map) == 224, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, arenas) == 248, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, bytes_used) == 280, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, classes) == 288, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, errors) == 544, "root");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_meta_page, slot_count) == 8, "meta page");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_meta_page, next) == 24, "meta page");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_meta_page, bytes) == 32, "meta page");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_meta_page) == MEMS_META_PAGE_HEADER_SIZE, "meta page");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_free_slot, next) == 8, "free slot");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_free_slot) == MEMS_META_SLOT_SIZE, "free slot");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, prev) == 8, "node");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, vstart) == 24, "node");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, length) == 40, "node");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, seg_head) == 48, "node");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, hole_bytes) == 64, "node");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_node, index) == 80, "node");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_node) == MEMS_META_SLOT_SIZE, "node");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, type) == 4, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, node) == 24, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, vstart) == 32, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, size) == 48, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, site) == 64, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, seq) == 72, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, flags) == 80, "segment");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_segment, arena) == 88, "segment");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_segment) == MEMS_META_SLOT_SIZE, "segment");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_arena, segment) == 24, "arena");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_arena, pstart) == 40, "arena");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_arena, pools_carved) == 56, "arena");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_arena, free_pools) == 64, "arena");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_arena, usable_next) == 80, "arena");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_arena) == MEMS_META_SLOT_SIZE, "arena");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, used) == 8, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, next_offset) == 16, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, state) == 20, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, freelist) == 24, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, in_use) == 32, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, magic) == 64, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, next) == 72, "pool");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_pool_header, arena) == 88, "pool");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_pool_header) == MEMS_POOL_HEADER_SIZE, "pool");

MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, kept_pools) == 552, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_root, tcache_head) == 560, "root");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_root) == 576, "root");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_tcache, blocks) == 32, "tcache");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_tcache, count) == 64, "tcache");
MEMS_LAYOUT_ASSERT(offsetof(struct mems_tcache, slots) == 192, "tcache");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_tcache) == 3776, "tcache");
MEMS_LAYOUT_ASSERT(sizeof(struct mems_tcache) <= MEMS_TCACHE_SIZE, "tcache");

MEMS_LAYOUT_ASSERT(MEMS_ARENA_SIZE == MEMS_POOLS_PER_ARENA * MEMS_POOL_SIZE, "geometry");
MEMS_LAYOUT_ASSERT(MEMS_POOL_MAX_BLOCK == MEMS_POOL_CLASS_COUNT * MEMS_POOL_CLASS_STEP, "geometry");
MEMS_LAYOUT_ASSERT((MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / MEMS_POOL_CLASS_STEP <=
                       MEMS_POOL_BITMAP_WORDS * 64u, "geometry");
MEMS_LAYOUT_ASSERT(MEMS_POOL_HEADER_SIZE % MEMS_ALIGN == 0, "geometry");

#endif /* MEMS_LAYOUT_H */
