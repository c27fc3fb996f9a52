/*
 * heapscope_record_layout.h — the in-memory layout of libheapscope-record, for readers.
 *
 * libheapscope-record.so (LD_PRELOAD it, or link it) keeps, for every live
 * allocation of a glibc program, where it was allocated (a stack of return
 * addresses), its sequence number and the thread that made it, in tables it
 * maps itself with mmap: never on the heap it describes. A debugger or
 * heapscope reading a core decodes them from this header alone, without
 * running code in the target.
 *
 * How to decode a target:
 *   1. Find the exported symbol `heapscope_record_root` (a struct
 *      hsr_root), or scan writable memory for HSR_ROOT_MAGIC at an 8-byte
 *      aligned address. Check magic, layout_version == HSR_LAYOUT_VERSION
 *      and root_size == sizeof(struct hsr_root). If `initialized == 0`
 *      nothing was recorded. If `busy == 1` the target stopped while a
 *      thread was changing the tables: expect at most one inconsistency.
 *   2. Records: indices 0 .. records_used-1 live in segments. Record index i
 *      is in segment k = floor(log2(i / HSR_RECORD_SEGMENT0 + 1)), at slot
 *      i - (2^k - 1) * HSR_RECORD_SEGMENT0 of the array at record_segments[k]
 *      (segment k holds HSR_RECORD_SEGMENT0 << k records). A record whose
 *      address is 0 is free (on the free list); every other is one live
 *      allocation whose user pointer is ~address (HSR_HIDE: complemented,
 *      so that no word of the tables points into the heap and a leak scan
 *      that reads them as roots keeps nothing alive).
 *   3. Stacks: a record's stack_id s (1-based; 0 = no stack captured) is
 *      stack index s-1, found in stack_segments the same way with
 *      HSR_STACK_SEGMENT0. A stack's `frames` is the target address of
 *      `depth` uint64 return addresses, innermost first (the caller of
 *      malloc first). Stacks are stored once however many records use them.
 *   4. Times: a record's time is that of the last time_log entry whose seq
 *      is <= the record's seq (entries are in increasing seq order), precise
 *      to time_log_interval_ns. Times are CLOCK_MONOTONIC nanoseconds;
 *      start_realtime_ns - start_monotonic_ns converts them to Unix time.
 *
 * The bucket arrays (record_buckets, stack_buckets) are the recorder's own
 * hash indexes; a reader does not need them.
 *
 * Layout is for LP64 little-endian targets (x86-64, AArch64). The header is
 * valid C11 and C++ and contains no code.
 */
#ifndef HEAPSCOPE_RECORD_LAYOUT_H
#define HEAPSCOPE_RECORD_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
#define HSR_LAYOUT_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HSR_LAYOUT_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* The bytes "HSrecord" as they appear in memory (little-endian). */
#define HSR_ROOT_MAGIC 0x64726F6365725348ULL
#define HSR_LAYOUT_VERSION 2u
#define HSR_ROOT_SYMBOL "heapscope_record_root"

#define HSR_SEGMENTS 32u             /* segment directory entries */
#define HSR_RECORD_SEGMENT0 65536u   /* records in segment 0 */
#define HSR_STACK_SEGMENT0 4096u     /* stacks in segment 0 */
#define HSR_MAX_DEPTH 128u           /* frames kept per stack, at most */

/*
 * One live allocation: 28 bytes, 4-byte aligned (packed so that a record
 * costs 28 bytes, not 32; the recorder's bucket index adds 2 to 4 more).
 */
/* A record's address field from the user pointer, and back (its own inverse). */
#define HSR_HIDE(address) (~(uint64_t)(address))

struct hsr_record {
    uint64_t address;   /*  0: HSR_HIDE(user pointer); 0 = free record */
    uint64_t seq;       /*  8: allocation sequence number (from 1, process-wide) */
    uint32_t stack_id;  /* 16: 1-based stack index; 0 = none captured */
    uint32_t thread;    /* 20: Linux thread id (gettid) of the allocating thread */
    uint32_t next;      /* 24: recorder's own: bucket chain or free list (index+1) */
} __attribute__((packed, aligned(4)));  /* size 28 */

/* One unique stack: 24 bytes. */
struct hsr_stack {
    uint64_t frames;    /*  0: address of `depth` uint64 return addresses */
    uint32_t depth;     /*  8: frames kept (<= max_depth) */
    uint32_t next;      /* 12: recorder's own: bucket chain (index+1) */
    uint64_t hash;      /* 16: recorder's own: hash of the frames */
};                      /* size 24 */

/* A time checkpoint: allocations with seq >= this seq happened at or after time_ns. */
struct hsr_time_mark {
    uint64_t seq;       /* 0 */
    uint64_t time_ns;   /* 8: CLOCK_MONOTONIC */
};                      /* size 16 */

/* The root: `struct hsr_root heapscope_record_root`, statically initialized
 * with magic, layout_version and root_size. Addresses are target addresses
 * (0 = none). */
struct hsr_root {
    uint64_t magic;              /*   0: HSR_ROOT_MAGIC */
    uint32_t layout_version;     /*   8: HSR_LAYOUT_VERSION */
    uint32_t root_size;          /*  12: sizeof(struct hsr_root) = 720 */
    uint32_t initialized;        /*  16: 1 once the tables exist */
    uint32_t busy;               /*  20: 1 while a thread changes the tables */
    uint32_t record_size;        /*  24: sizeof(struct hsr_record) = 28 */
    uint32_t stack_size;         /*  28: sizeof(struct hsr_stack) = 24 */
    uint64_t pid;                /*  32: process the tables belong to (updated in a fork child) */
    uint64_t next_seq;           /*  40: sequence number of the next allocation */
    uint64_t live_records;       /*  48: records in use */
    uint64_t records_used;       /*  56: record indices ever handed out (high-water mark) */
    uint64_t record_free;        /*  64: free list head (index+1) */
    uint64_t record_buckets;     /*  72: uint32_t[record_bucket_count] */
    uint64_t record_bucket_count;/*  80: power of two */
    uint64_t stacks_used;        /*  88: unique stacks */
    uint64_t stack_buckets;      /*  96: uint32_t[stack_bucket_count] */
    uint64_t stack_bucket_count; /* 104 */
    uint64_t max_depth;          /* 112: frames kept per stack at most */
    uint64_t dropped;            /* 120: allocations not recorded (out of table memory) */
    uint64_t table_bytes;        /* 128: bytes the recorder mapped for its tables */
    uint64_t start_monotonic_ns; /* 136 */
    uint64_t start_realtime_ns;  /* 144 */
    uint64_t time_log;           /* 152: struct hsr_time_mark[time_log_capacity] */
    uint64_t time_log_capacity;  /* 160 */
    uint64_t time_log_count;     /* 168 */
    uint64_t time_log_interval_ns; /* 176: minimum time between two marks */
    uint64_t allocations;        /* 184: allocations recorded in total */
    uint64_t frees;              /* 192: records removed by free/realloc */
    uint64_t reserved;           /* 200 */
    uint64_t record_segments[HSR_SEGMENTS]; /* 208 .. 463 */
    uint64_t stack_segments[HSR_SEGMENTS];  /* 464 .. 719 */
};                               /* size 720 */

HSR_LAYOUT_ASSERT(sizeof(struct hsr_record) == 28, "hsr_record is 28 bytes");
HSR_LAYOUT_ASSERT(sizeof(struct hsr_stack) == 24, "hsr_stack is 24 bytes");
HSR_LAYOUT_ASSERT(sizeof(struct hsr_time_mark) == 16, "hsr_time_mark is 16 bytes");
HSR_LAYOUT_ASSERT(sizeof(struct hsr_root) == 720, "hsr_root is 720 bytes");

#endif /* HEAPSCOPE_RECORD_LAYOUT_H */
