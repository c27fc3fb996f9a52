/* Allocation stacks: captured with libunwind's unw_backtrace (DWARF CFI, so
 * it needs no frame pointers, never calls malloc on this path, and caches
 * what it learns per return address, which makes the repeated stacks of a
 * malloc-heavy program cheap), then hash-consed: each unique stack is
 * stored once and records refer to it by id. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "recorder.h"

#define R heapscope_record_root
#define INITIAL_BUCKETS (1u << 12)
#define FRAME_CHUNK_BYTES (1u << 20)

/* The recorder's own code: frames inside it are not part of a stack. */
static uintptr_t own_lo, own_hi;
/* Where the next stack's frames go. */
static uint64_t *frame_cursor, *frame_end;

static int find_own_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t probe = (uintptr_t)data, lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < lo)
            lo = start;
        if (start + ph->p_memsz > hi)
            hi = start + ph->p_memsz;
    }
    if (probe >= lo && probe < hi) {
        own_lo = lo;
        own_hi = hi;
        return 1;
    }
    return 0;
}

int hsr_stacks_init(void) {
    dl_iterate_phdr(find_own_object, (void *)(uintptr_t)&hsr_stacks_init);
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    uint32_t *b = hsr_map(INITIAL_BUCKETS * sizeof(uint32_t));
    if (!b)
        return 0;
    R.stack_buckets = (uint64_t)(uintptr_t)b;
    R.stack_bucket_count = INITIAL_BUCKETS;
    return 1;
}

uint32_t hsr_stack_capture(uint64_t *frames, uint32_t max) {
    void *ips[HSR_MAX_DEPTH + 8];
    uint32_t want = max + 8 < HSR_MAX_DEPTH + 8 ? max + 8 : HSR_MAX_DEPTH + 8;
    int n = unw_backtrace(ips, (int)want);
    int first = 0;
    while (first < n && (uintptr_t)ips[first] >= own_lo && (uintptr_t)ips[first] < own_hi)
        first++;
    uint32_t depth = 0;
    for (int i = first; i < n && depth < max; i++)
        frames[depth++] = (uint64_t)(uintptr_t)ips[i];
    return depth;
}

uint64_t hsr_stack_hash(const uint64_t *frames, uint32_t depth) {
    uint64_t h = 0xcbf29ce484222325ull ^ depth;
    for (uint32_t i = 0; i < depth; i++) {
        h ^= frames[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static struct hsr_stack *stack_at(uint64_t index) {
    return hsr_segment_slot(R.stack_segments, HSR_STACK_SEGMENT0, sizeof(struct hsr_stack), index);
}

static uint64_t bucket_of(uint64_t hash, uint64_t count) { return hash & (count - 1); }

static void grow_buckets(void) {
    uint64_t count = R.stack_bucket_count * 2;
    uint32_t *fresh = hsr_map(count * sizeof(uint32_t));
    if (!fresh)
        return;
    for (uint64_t i = 0; i < R.stacks_used; i++) {
        struct hsr_stack *s = stack_at(i);
        uint64_t b = bucket_of(s->hash, count);
        s->next = fresh[b];
        fresh[b] = (uint32_t)(i + 1);
    }
    void *old = (void *)(uintptr_t)R.stack_buckets;
    uint64_t old_count = R.stack_bucket_count;
    R.stack_buckets = (uint64_t)(uintptr_t)fresh;
    R.stack_bucket_count = count;
    hsr_unmap(old, old_count * sizeof(uint32_t));
}

static uint64_t *store_frames(const uint64_t *frames, uint32_t depth) {
    if (frame_cursor == NULL || (uint64_t)(frame_end - frame_cursor) < depth) {
        uint64_t *chunk = hsr_map(FRAME_CHUNK_BYTES);
        if (!chunk)
            return NULL;
        frame_cursor = chunk;
        frame_end = chunk + FRAME_CHUNK_BYTES / sizeof(uint64_t);
    }
    uint64_t *at = frame_cursor;
    memcpy(at, frames, depth * sizeof(uint64_t));
    frame_cursor += depth;
    return at;
}

uint32_t hsr_stack_intern(const uint64_t *frames, uint32_t depth, uint64_t hash) {
    uint32_t *buckets = (uint32_t *)(uintptr_t)R.stack_buckets;
    uint32_t *link = &buckets[bucket_of(hash, R.stack_bucket_count)];
    for (uint32_t id = *link; id; ) {
        struct hsr_stack *s = stack_at(id - 1);
        if (s->hash == hash && s->depth == depth &&
            memcmp((const void *)(uintptr_t)s->frames, frames, depth * sizeof(uint64_t)) == 0)
            return id;
        id = s->next;
    }
    if (R.stacks_used >= UINT32_MAX - 1)
        return 0;
    struct hsr_stack *s = hsr_segment_slot_grow(R.stack_segments, HSR_STACK_SEGMENT0,
                                                sizeof(struct hsr_stack), R.stacks_used);
    uint64_t *stored = s ? store_frames(frames, depth) : NULL;
    if (!stored)
        return 0;
    s->frames = (uint64_t)(uintptr_t)stored;
    s->depth = depth;
    s->hash = hash;
    s->next = *link;
    uint32_t id = (uint32_t)++R.stacks_used;
    *link = id;
    if (R.stacks_used > R.stack_bucket_count)
        grow_buckets();
    return id;
}
