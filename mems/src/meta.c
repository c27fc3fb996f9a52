/*
 * meta.c — the plumbing under both allocators: the lock, error output,
 * mmap wrappers, metadata slots (where node, segment and arena descriptors
 * live) and the pool map (the set of carved pools, so that a pointer can be
 * validated before anything at its address is read).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mems_internal.h"

/* The lock itself is inline, in mems_internal.h. */
pthread_mutex_t mems__mutex = PTHREAD_MUTEX_INITIALIZER;
int mems__mutex_held;

/* ---- output ------------------------------------------------------------- */

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void vprint(int fd, const char *prefix, const char *fmt, va_list ap, int newline) {
    char buf[512];
    size_t len = strlen(prefix);
    memcpy(buf, prefix, len);
    int n = vsnprintf(buf + len, sizeof buf - len - 1, fmt, ap);
    if (n > 0) len += (size_t)n < sizeof buf - len - 1 ? (size_t)n : sizeof buf - len - 2;
    if (newline) buf[len++] = '\n';
    write_all(fd, buf, len);
}

void mems__error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(2, "mems: ", fmt, ap, 1);
    va_end(ap);
    mems_root.errors++;
}

void mems__printf(int fd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fd, "", fmt, ap, 0);
    va_end(ap);
}

/* ---- mappings ----------------------------------------------------------- */

void *mems__map(uint64_t bytes) {
    if (bytes == 0 || bytes > (uint64_t)SIZE_MAX) return NULL;
    void *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mems__unmap(uint64_t addr, uint64_t bytes) {
    if (addr != 0 && bytes != 0) munmap(P(void, addr), (size_t)bytes);
}

/* ---- metadata slots ----------------------------------------------------- */

static uint64_t slots_per_page(void) {
    return (mems_root.meta_page_bytes - MEMS_META_PAGE_HEADER_SIZE) / MEMS_META_SLOT_SIZE;
}

static uint64_t free_slots(void) {
    return mems_root.meta_pages * slots_per_page() - mems_root.meta_slots_used;
}

static int add_meta_page(void) {
    struct mems_meta_page *page = mems__map(mems_root.meta_page_bytes);
    if (page == NULL) return -1;
    uint32_t count = (uint32_t)slots_per_page();
    page->magic = MEMS_META_PAGE_MAGIC;
    page->slot_size = MEMS_META_SLOT_SIZE;
    page->slot_count = count;
    page->bytes = mems_root.meta_page_bytes;
    page->next = mems_root.meta_head;
    if (mems_root.meta_head != 0) P(struct mems_meta_page, mems_root.meta_head)->prev = U(page);
    mems_root.meta_head = U(page);
    mems_root.meta_pages++;
    /* Push in reverse so that slots are taken in address order. */
    char *slots = (char *)page + MEMS_META_PAGE_HEADER_SIZE;
    for (uint32_t i = count; i-- > 0;) {
        struct mems_free_slot *slot = (struct mems_free_slot *)(slots + (size_t)i * MEMS_META_SLOT_SIZE);
        slot->magic = MEMS_FREE_SLOT_MAGIC;
        slot->next = mems_root.meta_free;
        mems_root.meta_free = U(slot);
    }
    return 0;
}

int mems__meta_reserve(unsigned n) {
    while (free_slots() < n)
        if (add_meta_page() != 0) return -1;
    return 0;
}

void *mems__meta_take(void) {
    struct mems_free_slot *slot = P(struct mems_free_slot, mems_root.meta_free);
    if (slot == NULL) return NULL; /* only if the caller forgot to reserve */
    mems_root.meta_free = slot->next;
    mems_root.meta_slots_used++;
    memset(slot, 0, MEMS_META_SLOT_SIZE);
    return slot;
}

void mems__meta_give(void *p) {
    struct mems_free_slot *slot = p;
    memset(slot, 0, MEMS_META_SLOT_SIZE);
    slot->magic = MEMS_FREE_SLOT_MAGIC;
    slot->next = mems_root.meta_free;
    mems_root.meta_free = U(slot);
    mems_root.meta_slots_used--;
}

void mems__meta_release_all(void) {
    uint64_t page = mems_root.meta_head;
    while (page != 0) {
        struct mems_meta_page *mp = P(struct mems_meta_page, page);
        uint64_t next = mp->next, bytes = mp->bytes;
        mems__unmap(page, bytes);
        page = next;
    }
    mems_root.meta_head = 0;
    mems_root.meta_pages = 0;
    mems_root.meta_free = 0;
    mems_root.meta_slots_used = 0;
}

/* ---- pool map ----------------------------------------------------------- */
/* Open addressing with linear probing over uint64_t entries (0 = empty),
 * kept at most half full; deletion shifts entries back so no tombstones.
 *
 * The thread caches' fast free path reads the map without the lock
 * (mems__pool_map_contains_racy): entries are written with atomic stores; a
 * grown table is published in one word (mems__pool_map_word: table address |
 * log2 capacity) and the table it replaces stays mapped until
 * mems__pool_map_release, so a reader never reads unmapped memory. A reader
 * may miss an entry while another thread moves it (insert or backward shift);
 * its caller then asks again under the lock. */

#define POOL_MAP_MIN_CAPACITY 512u
#define RETIRED_MAX 64

uint64_t mems__pool_map_word;
static struct {
    uint64_t addr, bytes;
} retired[RETIRED_MAX];
static unsigned retired_count;

static void put_entry(uint64_t *slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_RELAXED); }

static void raw_insert(uint64_t *table, uint64_t capacity, uint64_t pool) {
    uint64_t mask = capacity - 1;
    uint64_t i = mems__pool_hash(pool, mask);
    while (table[i] != 0) i = (i + 1) & mask;
    put_entry(&table[i], pool);
}

int mems__pool_map_reserve(uint64_t extra) {
    uint64_t need = mems_root.pool_map_count + extra;
    uint64_t capacity = mems_root.pool_map_capacity;
    if (capacity != 0 && need * 2 <= capacity) return 0;
    uint64_t new_capacity = capacity ? capacity : POOL_MAP_MIN_CAPACITY;
    while (need * 2 > new_capacity) new_capacity *= 2;
    uint64_t bytes = new_capacity * sizeof(uint64_t);
    if (capacity != 0 && retired_count == RETIRED_MAX) return -1; /* cannot happen: 2^64 / 512 */
    uint64_t *table = mems__map(bytes);
    if (table == NULL) return -1;
    uint64_t *old = P(uint64_t, mems_root.pool_map);
    for (uint64_t i = 0; i < capacity; i++)
        if (old[i] != 0) raw_insert(table, new_capacity, old[i]);
    if (capacity != 0) { /* racy readers may still use it */
        retired[retired_count].addr = mems_root.pool_map;
        retired[retired_count].bytes = capacity * sizeof(uint64_t);
        retired_count++;
    }
    mems_root.pool_map = U(table);
    mems_root.pool_map_capacity = new_capacity;
    __atomic_store_n(&mems__pool_map_word, U(table) | (uint64_t)__builtin_ctzll(new_capacity), __ATOMIC_RELEASE);
    return 0;
}

void mems__pool_map_insert(uint64_t pool) {
    raw_insert(P(uint64_t, mems_root.pool_map), mems_root.pool_map_capacity, pool);
    mems_root.pool_map_count++;
}

void mems__pool_map_remove(uint64_t pool) {
    uint64_t capacity = mems_root.pool_map_capacity;
    if (capacity == 0) return;
    uint64_t *table = P(uint64_t, mems_root.pool_map);
    uint64_t mask = capacity - 1;
    uint64_t i = mems__pool_hash(pool, mask);
    while (table[i] != pool) {
        if (table[i] == 0) return;
        i = (i + 1) & mask;
    }
    mems_root.pool_map_count--;
    /* Backward-shift: move later entries of the cluster into the gap unless
     * their home slot lies cyclically in (gap, j]. */
    for (;;) {
        put_entry(&table[i], 0);
        uint64_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (table[j] == 0) return;
            uint64_t home = mems__pool_hash(table[j], mask);
            int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) break;
        }
        put_entry(&table[i], table[j]);
        i = j;
    }
}

void mems__pool_map_release(void) {
    __atomic_store_n(&mems__pool_map_word, 0, __ATOMIC_RELEASE);
    mems__unmap(mems_root.pool_map, mems_root.pool_map_capacity * sizeof(uint64_t));
    for (unsigned i = 0; i < retired_count; i++) mems__unmap(retired[i].addr, retired[i].bytes);
    retired_count = 0;
    mems_root.pool_map = 0;
    mems_root.pool_map_capacity = 0;
    mems_root.pool_map_count = 0;
}
