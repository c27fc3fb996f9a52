/*
 * recorder.h — what the parts of libheapscope-record share (internal).
 *
 * The tables (records, stacks, time log) hang off the exported root and are
 * changed only under one lock; stacks are captured outside it. Everything
 * here allocates with mmap only, never with malloc: it runs inside malloc.
 */
#ifndef HEAPSCOPE_RECORDER_H
#define HEAPSCOPE_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "heapscope_record_layout.h"

#define HSR_EXPORT __attribute__((visibility("default")))
#define HSR_HIDDEN __attribute__((visibility("hidden")))

extern struct hsr_root heapscope_record_root HSR_EXPORT;

/* Table lock; busy in the root is 1 while it is held. */
HSR_HIDDEN void hsr_lock(void);
HSR_HIDDEN void hsr_unlock(void);

/* Anonymous zero-filled memory for the tables, counted in root.table_bytes;
 * NULL when the system refuses. */
HSR_HIDDEN void *hsr_map(size_t bytes);
HSR_HIDDEN void hsr_unmap(void *p, size_t bytes);

/* Segmented arrays (records, stacks): element `index` of a directory whose
 * segment k holds seg0 << k elements. Returns NULL when the segment is not
 * mapped; hsr_segment_slot_grow maps it. */
static inline void *hsr_segment_slot(uint64_t *directory, uint64_t seg0, size_t elem_size,
                                     uint64_t index) {
    /* seg0 is a power-of-two constant at every call: the divisions are shifts. */
    uint64_t j = index / seg0 + 1;
    int k = 63 - __builtin_clzll(j);
    if (k >= (int)HSR_SEGMENTS || directory[k] == 0)
        return 0;
    return (char *)(uintptr_t)directory[k] + (index - ((1ull << k) - 1) * seg0) * elem_size;
}
HSR_HIDDEN void *hsr_segment_slot_grow(uint64_t *directory, uint64_t seg0, size_t elem_size,
                                       uint64_t index);

/* Records (under the lock). */
HSR_HIDDEN int hsr_records_init(void);
/* Inserts or replaces the record of address; returns 0 when out of memory. */
HSR_HIDDEN int hsr_record_put(uint64_t address, uint32_t stack_id, uint32_t thread);
/* Removes address's record into *out (if out); returns 0 when there was none. */
HSR_HIDDEN int hsr_record_take(uint64_t address, struct hsr_record *out);
/* Starts loading what put/take of address will touch (without the lock:
 * the cache misses overlap the stack capture or the lock). */
HSR_HIDDEN void hsr_record_prefetch(uint64_t address);
/* Puts back a record taken by hsr_record_take (realloc that failed). */
HSR_HIDDEN void hsr_record_restore(const struct hsr_record *r);

/* Stacks. hsr_stack_capture runs outside the lock and fills frames with the
 * return addresses above the recorder's own frames; hsr_stack_intern (under
 * the lock) returns the 1-based id of the stack, storing it once. */
HSR_HIDDEN int hsr_stacks_init(void);
HSR_HIDDEN uint32_t hsr_stack_capture(uint64_t *frames, uint32_t max);
HSR_HIDDEN uint64_t hsr_stack_hash(const uint64_t *frames, uint32_t depth);
HSR_HIDDEN uint32_t hsr_stack_intern(const uint64_t *frames, uint32_t depth, uint64_t hash);

/* Time log (under the lock): a mark when the clock moved on since the last. */
HSR_HIDDEN int hsr_time_log_init(void);
HSR_HIDDEN void hsr_time_log_note(uint64_t seq);

#endif
