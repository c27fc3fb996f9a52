/* The records of live allocations: a dense segmented array of 28-byte
 * records (freed ones reused through a free list) indexed by a chained hash
 * of uint32 bucket heads, kept between one and two records per bucket, so a
 * live allocation costs 28 bytes plus 2 to 4 bytes of index. */
#include <string.h>

#include "recorder.h"

#define INITIAL_BUCKETS (1u << 14)
#define R heapscope_record_root

static struct hsr_record *record_at(uint64_t index) {
    return hsr_segment_slot(R.record_segments, HSR_RECORD_SEGMENT0, sizeof(struct hsr_record),
                            index);
}

static uint32_t *buckets(void) { return (uint32_t *)(uintptr_t)R.record_buckets; }

static uint64_t bucket_of(uint64_t address, uint64_t count) {
    /* Fibonacci hashing of the address without its alignment bits. */
    return ((address >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - __builtin_ctzll(count));
}

int hsr_records_init(void) {
    uint32_t *b = hsr_map(INITIAL_BUCKETS * sizeof(uint32_t));
    if (!b)
        return 0;
    R.record_buckets = (uint64_t)(uintptr_t)b;
    R.record_bucket_count = INITIAL_BUCKETS;
    return 1;
}

/* Doubles the buckets and relinks every live record (the records stay put). */
static void grow_buckets(void) {
    uint64_t count = R.record_bucket_count * 2;
    uint32_t *fresh = hsr_map(count * sizeof(uint32_t));
    if (!fresh)
        return; /* longer chains, still correct */
    for (uint64_t i = 0; i < R.records_used; i++) {
        struct hsr_record *r = record_at(i);
        if (!r || r->address == 0)
            continue;
        uint64_t b = bucket_of(HSR_HIDE(r->address), count);
        r->next = fresh[b];
        fresh[b] = (uint32_t)(i + 1);
    }
    uint32_t *old = buckets();
    uint64_t old_count = R.record_bucket_count;
    R.record_buckets = (uint64_t)(uintptr_t)fresh;
    R.record_bucket_count = count;
    hsr_unmap(old, old_count * sizeof(uint32_t));
}

static struct hsr_record *new_record(uint32_t *index_plus_1) {
    if (R.record_free) {
        uint32_t id = (uint32_t)R.record_free;
        struct hsr_record *r = record_at(id - 1);
        R.record_free = r->next;
        *index_plus_1 = id;
        return r;
    }
    if (R.records_used >= UINT32_MAX - 1)
        return NULL;
    struct hsr_record *r = hsr_segment_slot_grow(R.record_segments, HSR_RECORD_SEGMENT0,
                                                 sizeof(struct hsr_record), R.records_used);
    if (!r)
        return NULL;
    *index_plus_1 = (uint32_t)++R.records_used;
    return r;
}

/* The newest record of address (the first in its chain), and the link to it. */
static struct hsr_record *find(uint64_t address, uint32_t **link) {
    uint32_t *l = &buckets()[bucket_of(address, R.record_bucket_count)];
    while (*l) {
        struct hsr_record *r = record_at(*l - 1);
        if (r->address == HSR_HIDE(address)) {
            *link = l;
            return r;
        }
        l = &r->next;
    }
    *link = l;
    return NULL;
}

/* A new record goes to the head of its chain without looking for an older
 * record of the same address: one can exist only if that memory was freed
 * by a path the recorder does not see (a direct __libc_free), and looking
 * costs a cache miss per chained record on every allocation. take() removes
 * the newest; readers keep the highest seq when an address repeats. */
static int put(uint64_t address, uint64_t seq, uint32_t stack_id, uint32_t thread) {
    uint32_t id;
    struct hsr_record *r = new_record(&id);
    if (!r)
        return 0;
    uint32_t *head = &buckets()[bucket_of(address, R.record_bucket_count)];
    r->address = HSR_HIDE(address);
    r->seq = seq;
    r->stack_id = stack_id;
    r->thread = thread;
    r->next = *head;
    *head = id;
    R.live_records++;
    if (R.live_records > 2 * R.record_bucket_count)
        grow_buckets(); /* after the fields: the new record is relinked too */
    return 1;
}

void hsr_record_prefetch(uint64_t address) {
    /* Without the lock: the values may be stale, and a prefetch of a stale
     * address is harmless (it never faults). */
    uint32_t *b = buckets();
    uint64_t count = __atomic_load_n(&R.record_bucket_count, __ATOMIC_RELAXED);
    if (b && count)
        __builtin_prefetch(&b[bucket_of(address, count)], 1);
    uint64_t free_head = __atomic_load_n(&R.record_free, __ATOMIC_RELAXED);
    if (free_head)
        __builtin_prefetch(record_at(free_head - 1), 1);
}

int hsr_record_put(uint64_t address, uint32_t stack_id, uint32_t thread) {
    uint64_t seq = R.next_seq++;
    hsr_time_log_note(seq);
    R.allocations++;
    if (!put(address, seq, stack_id, thread)) {
        R.dropped++;
        return 0;
    }
    return 1;
}

int hsr_record_take(uint64_t address, struct hsr_record *out) {
    uint32_t *link;
    struct hsr_record *r = find(address, &link);
    if (!r)
        return 0;
    if (out)
        *out = *r;
    uint32_t id = *link;
    *link = r->next;
    r->address = 0;
    r->stack_id = 0;
    r->next = (uint32_t)R.record_free;
    R.record_free = id;
    R.live_records--;
    R.frees++;
    return 1;
}

void hsr_record_restore(const struct hsr_record *r) {
    R.frees--;
    put(HSR_HIDE(r->address), r->seq, r->stack_id, r->thread);
}
