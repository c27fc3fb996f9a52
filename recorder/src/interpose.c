/* The malloc family, interposed: each call goes to glibc's own exported
 * entry points (__libc_malloc and friends) and the recorder notes what it
 * returned. Calling those directly needs no dlsym, so there is no bootstrap
 * window in which calloc must be served from a static buffer (the usual
 * dlsym -> calloc loop of preloaded mallocs cannot happen).
 *
 * A per-thread guard keeps the recorder's own allocations (libunwind's first
 * use, pthread_atfork) out of the tables and out of the lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "recorder.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

struct hsr_root heapscope_record_root = {
    .magic = HSR_ROOT_MAGIC,
    .layout_version = HSR_LAYOUT_VERSION,
    .root_size = sizeof(struct hsr_root),
    .record_size = sizeof(struct hsr_record),
    .stack_size = sizeof(struct hsr_stack),
};
#define R heapscope_record_root

/* initial-exec: the general TLS model may call malloc on first access. */
#define TLS static __thread __attribute__((tls_model("initial-exec")))
TLS int inside_recorder;
TLS uint32_t cached_tid;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ready;      /* tables exist (read without the lock: only ever set) */
static uint32_t max_depth = 64;

void hsr_lock(void) {
    pthread_mutex_lock(&table_lock);
    R.busy = 1;
}

void hsr_unlock(void) {
    R.busy = 0;
    pthread_mutex_unlock(&table_lock);
}

static void before_fork(void) { hsr_lock(); }
static void after_fork_parent(void) { hsr_unlock(); }
static void after_fork_child(void) {
    /* The child has the parent's tables as they were (the lock was held
     * across fork), and only the forking thread. */
    pthread_mutex_init(&table_lock, NULL);
    R.busy = 0;
    R.pid = (uint64_t)getpid();
    cached_tid = 0;
}

static uint32_t depth_from_env(void) {
    const char *s = getenv("HEAPSCOPE_RECORD_DEPTH");
    uint32_t v = 0;
    if (!s || !*s)
        return 64;
    for (; *s >= '0' && *s <= '9' && v <= HSR_MAX_DEPTH; s++)
        v = v * 10 + (uint32_t)(*s - '0');
    return v == 0 ? 1 : v > HSR_MAX_DEPTH ? HSR_MAX_DEPTH : v;
}

static void initialize(void) {
    inside_recorder++;
    max_depth = depth_from_env();
    int ok = hsr_stacks_init() && hsr_records_init() && hsr_time_log_init();
    hsr_lock();
    R.max_depth = max_depth;
    R.pid = (uint64_t)getpid();
    R.next_seq = 1;
    R.initialized = ok ? 1u : 0u;
    hsr_unlock();
    /* Outside the table lock: fork holds its own lock while it calls the
     * prepare handler, which takes ours. */
    if (ok) {
        pthread_atfork(before_fork, after_fork_parent, after_fork_child);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    inside_recorder--;
}

__attribute__((constructor)) static void start_early(void) { pthread_once(&init_once, initialize); }

/* HEAPSCOPE_RECORD_REPORT=1: one line of figures on stderr at exit (for the
 * overhead benchmark). Records are reused, so records_used is the peak of
 * live allocations and the bytes per record below are at that peak. */
__attribute__((destructor)) static void report_at_exit(void) {
    const char *s = getenv("HEAPSCOPE_RECORD_REPORT");
    if (!s || *s != '1' || !R.initialized)
        return;
    inside_recorder++;
    uint64_t index_bytes = R.records_used * sizeof(struct hsr_record) + R.record_bucket_count * 4;
    char line[320];
    int n = snprintf(line, sizeof line,
                     "heapscope-record: allocations=%llu peak_live=%llu stacks=%llu "
                     "record_bytes_per_live=%.1f table_bytes=%llu dropped=%llu\n",
                     (unsigned long long)R.allocations, (unsigned long long)R.records_used,
                     (unsigned long long)R.stacks_used,
                     R.records_used ? (double)index_bytes / (double)R.records_used : 0.0,
                     (unsigned long long)R.table_bytes, (unsigned long long)R.dropped);
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    inside_recorder--;
}

static int is_ready(void) { return __atomic_load_n(&ready, __ATOMIC_ACQUIRE); }

static uint32_t this_thread(void) {
    if (cached_tid == 0)
        cached_tid = (uint32_t)gettid();
    return cached_tid;
}

/* Records a fresh allocation at p (the caller holds the guard). */
static void note_allocation(void *p) {
    if (!is_ready()) {
        pthread_once(&init_once, initialize);
        if (!is_ready())
            return;
    }
    hsr_record_prefetch((uint64_t)(uintptr_t)p);
    uint64_t frames[HSR_MAX_DEPTH];
    uint32_t depth = hsr_stack_capture(frames, max_depth);
    uint64_t hash = hsr_stack_hash(frames, depth);
    uint32_t tid = this_thread();
    hsr_lock();
    uint32_t stack_id = depth ? hsr_stack_intern(frames, depth, hash) : 0;
    hsr_record_put((uint64_t)(uintptr_t)p, stack_id, tid);
    hsr_unlock();
}

/* Wraps an allocation: the real call, then its record. */
#define RECORDED(call)                              \
    do {                                            \
        if (inside_recorder)                        \
            return call;                            \
        inside_recorder++;                          \
        void *p_ = call;                            \
        if (p_)                                     \
            note_allocation(p_);                    \
        inside_recorder--;                          \
        return p_;                                  \
    } while (0)

HSR_EXPORT void *malloc(size_t size) { RECORDED(__libc_malloc(size)); }
HSR_EXPORT void *calloc(size_t n, size_t size) { RECORDED(__libc_calloc(n, size)); }
HSR_EXPORT void *memalign(size_t align, size_t size) { RECORDED(__libc_memalign(align, size)); }
HSR_EXPORT void *aligned_alloc(size_t align, size_t size) { RECORDED(__libc_memalign(align, size)); }
HSR_EXPORT void *valloc(size_t size) { RECORDED(__libc_valloc(size)); }
HSR_EXPORT void *pvalloc(size_t size) { RECORDED(__libc_pvalloc(size)); }

HSR_EXPORT int posix_memalign(void **out, size_t align, size_t size) {
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = memalign(align, size);
    if (!p)
        return ENOMEM;
    errno = saved;
    *out = p;
    return 0;
}

static void forget(void *p, struct hsr_record *old, int *had) {
    *had = 0;
    if (!is_ready())
        return;
    hsr_record_prefetch((uint64_t)(uintptr_t)p);
    hsr_lock();
    *had = hsr_record_take((uint64_t)(uintptr_t)p, old);
    hsr_unlock();
}

HSR_EXPORT void free(void *p) {
    if (!p)
        return;
    if (!inside_recorder) {
        /* The record goes before the memory: once freed, another thread may
         * get the same address and record it. */
        inside_recorder++;
        struct hsr_record old;
        int had;
        forget(p, &old, &had);
        inside_recorder--;
    }
    __libc_free(p);
}

HSR_EXPORT void *realloc(void *p, size_t size) {
    if (!p)
        return malloc(size);
    if (inside_recorder)
        return __libc_realloc(p, size);
    inside_recorder++;
    struct hsr_record old;
    int had;
    forget(p, &old, &had);
    void *q = __libc_realloc(p, size);
    if (q) {
        note_allocation(q);
    } else if (size != 0 && had) {
        /* Failed: p is still the program's, with its original record. */
        hsr_lock();
        hsr_record_restore(&old);
        hsr_unlock();
    }
    inside_recorder--;
    return q;
}

HSR_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}
