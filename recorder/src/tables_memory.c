/* Memory for the recorder's tables: mmap only (the recorder runs inside
 * malloc), and segmented arrays that grow without ever moving an element, so
 * a stack id or a record index stays valid and a reader never sees a table
 * half-copied. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "recorder.h"

void *hsr_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    heapscope_record_root.table_bytes += bytes;
    return p;
}

void hsr_unmap(void *p, size_t bytes) {
    if (p && munmap(p, bytes) == 0)
        heapscope_record_root.table_bytes -= bytes;
}

static int segment_of(uint64_t seg0, uint64_t index, uint64_t *slot) {
    uint64_t j = index / seg0 + 1;
    int k = 63 - __builtin_clzll(j);
    *slot = index - ((1ull << k) - 1) * seg0;
    return k;
}

void *hsr_segment_slot_grow(uint64_t *directory, uint64_t seg0, size_t elem_size,
                            uint64_t index) {
    uint64_t slot;
    int k = segment_of(seg0, index, &slot);
    if (k >= (int)HSR_SEGMENTS)
        return NULL;
    if (directory[k] == 0) {
        void *seg = hsr_map((seg0 << k) * elem_size);
        if (!seg)
            return NULL;
        directory[k] = (uint64_t)(uintptr_t)seg;
    }
    return (char *)(uintptr_t)directory[k] + slot * elem_size;
}
