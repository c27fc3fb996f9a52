/*
 * mems_bench — throughput of mems_pool_alloc/mems_pool_free and of
 * mems_malloc/mems_free against glibc malloc/free, on the same allocation
 * traces.
 *
 * A trace is built once: `ops` steps over `live` slots; a step picks a slot
 * and frees its object if it holds one, else allocates a new one. Whatever is
 * still live at the end is freed too (and counted). The "mixed" trace draws
 * sizes uniformly from 8..512; a numeric trace uses that one size for every
 * allocation. Each allocator replays the same trace `reps` times (glibc and
 * the pool allocator alternately, so that a change in a shared machine's
 * load hits both); the best time is reported as ns per call (allocations +
 * frees) and as a ratio to glibc (below 1: faster than glibc). Memory is not
 * written, so the figures are the allocators' bookkeeping only. After each
 * mems replay the invariants are checked and the library's stats must show no
 * block in use.
 *
 * One thread is timed by its CPU time (CLOCK_THREAD_CPUTIME_ID), so that a
 * busy machine's other processes count less. With -t N (N > 1) the traces
 * are then replayed by N threads at once, each with its own slots (the same
 * trace), and the figure is wall time (first thread's start to last thread's
 * end) divided by the calls of one thread: equal to the single-thread figure
 * if the allocator scaled perfectly on N idle cores. The single-thread
 * figures are measured first: once a thread has been created, the process is
 * multi-threaded for good and both allocators take their locks when they
 * need them.
 *
 * Usage: mems_bench [-t THREADS] [-s SIZES] [-S] [-o ALLOCATOR] [ops [live [reps]]]
 *   -s SIZES  comma-separated traces: "mixed" or a size in 1..512
 *             (default mixed,16,32,64,128,256,512)
 *   -S        also time mems_malloc/mems_free (on every trace; slow)
 *   -o A      time only allocator A (glibc, pool or segment), e.g. under
 *             perf stat; no ratio is printed then
 *   defaults: ops 200000, live 1024, reps 3, one thread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mems.h"

struct step {
    uint32_t slot;
    uint32_t size; /* 0 = free the slot */
};

struct trace {
    char name[16];
    struct step *steps;
    size_t count; /* steps including the final frees */
    size_t live;
};

static uint64_t next_random(uint64_t *state) { /* xorshift64* */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "mems_bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* fixed == 0: sizes 8..512 */
static struct trace make_trace(size_t ops, size_t live, uint32_t fixed) {
    struct trace t = {{0}, xcalloc(ops + live, sizeof(struct step)), 0, live};
    if (fixed)
        snprintf(t.name, sizeof t.name, "%u", fixed);
    else
        snprintf(t.name, sizeof t.name, "mixed");
    unsigned char *occupied = xcalloc(live, 1);
    uint64_t rng = 0x9E3779B97F4A7C15ULL; /* every trace visits slots in the same order */
    for (size_t i = 0; i < ops; i++) {
        uint64_t r = next_random(&rng);
        uint32_t slot = (uint32_t)(r % live);
        uint32_t size = occupied[slot] ? 0 : fixed ? fixed : (uint32_t)(8 + (r >> 32) % 505);
        occupied[slot] = !occupied[slot];
        t.steps[t.count++] = (struct step){slot, size};
    }
    for (size_t slot = 0; slot < live; slot++)
        if (occupied[slot]) t.steps[t.count++] = (struct step){(uint32_t)slot, 0};
    free(occupied);
    return t;
}

/* One thread: the thread's CPU time, so that time the shared machine gives
 * to other processes is not counted; several threads: wall time. */
static double now_ns(int threads) {
    struct timespec ts;
    clock_gettime(threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum which { GLIBC, POOL, SEGMENT };

static void run_trace(const struct trace *t, enum which which, void **slots) {
    for (size_t i = 0; i < t->count; i++) {
        const struct step *s = &t->steps[i];
        void **slot = &slots[s->slot];
        switch (which) {
        case GLIBC:
            if (s->size) *slot = malloc(s->size); else free(*slot);
            break;
        case POOL:
            if (s->size) *slot = mems_pool_alloc(s->size); else mems_pool_free(*slot);
            break;
        case SEGMENT:
            if (s->size) *slot = mems_malloc(s->size); else mems_free(*slot);
            break;
        }
        if (s->size && *slot == NULL) {
            fprintf(stderr, "mems_bench: allocation failed\n");
            exit(1);
        }
    }
}

/* ---- threads ------------------------------------------------------------ */

struct job {
    const struct trace *trace;
    enum which which;
    void **slots;
    pthread_barrier_t *barrier;
    double start, end; /* CLOCK_MONOTONIC around this thread's replay */
};

static double now_ns(int threads);

static void *worker(void *arg) {
    struct job *job = arg;
    pthread_barrier_wait(job->barrier);
    job->start = now_ns(2);
    run_trace(job->trace, job->which, job->slots);
    job->end = now_ns(2);
    return NULL;
}

static int threads_n = 1;
static int only = -1; /* -o: the one allocator to time */

/* One replay by threads_n threads (or by this one); wall time in ns. */
static double replay(const struct trace *t, enum which which, void **slots, int threads) {
    if (which != GLIBC && mems_init() != 0) exit(1);
    double elapsed;
    if (threads == 1) {
        double start = now_ns(1);
        run_trace(t, which, slots);
        elapsed = now_ns(1) - start;
    } else {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
        pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);
        struct job *jobs = xcalloc((size_t)threads, sizeof *jobs);
        for (int i = 0; i < threads; i++) {
            jobs[i] = (struct job){t, which, slots + (size_t)i * t->live, &barrier};
            if (pthread_create(&tid[i], NULL, worker, &jobs[i]) != 0) {
                fprintf(stderr, "mems_bench: cannot create a thread\n");
                exit(1);
            }
        }
        pthread_barrier_wait(&barrier);
        for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        /* from the first thread's start to the last one's end */
        double start = jobs[0].start, end = jobs[0].end;
        for (int i = 1; i < threads; i++) {
            if (jobs[i].start < start) start = jobs[i].start;
            if (jobs[i].end > end) end = jobs[i].end;
        }
        elapsed = end - start;
        pthread_barrier_destroy(&barrier);
        free(jobs);
        free(tid);
    }
    if (which != GLIBC) {
        char err[256];
        struct mems_pool_stats ps;
        struct mems_stats st;
        if (mems_check_invariants(err, sizeof err) != 0) {
            fprintf(stderr, "mems_bench: invariant broken: %s\n", err);
            exit(1);
        }
        if (mems_pool_get_stats(&ps) != 0 || ps.blocks_used != 0 || mems_get_stats(&st) != 0 ||
            st.process_segments != ps.arenas) {
            fprintf(stderr, "mems_bench: blocks still in use after the trace\n");
            exit(1);
        }
        mems_finish();
    }
    return elapsed;
}

static double best_of(const struct trace *t, enum which which, int reps, void **slots, int threads) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double ns = replay(t, which, slots, threads);
        if (r == 0 || ns < best) best = ns;
    }
    return best / (double)t->count;
}

static void run_all(struct trace *traces, size_t ntraces, int reps, void **slots, int threads, int segment) {
    printf("%d thread%s: ns per call (allocations + frees), ratio to glibc\n", threads, threads > 1 ? "s" : "");
    printf("  %-6s %10s %10s %7s", "trace", "glibc", "pool", "ratio");
    if (segment) printf(" %10s %7s", "segment", "ratio");
    printf("\n");
    for (size_t i = 0; i < ntraces; i++) {
        const struct trace *t = &traces[i];
        if (only >= 0) {
            printf("  %-6s %10.1f ns/call (%s only)\n", t->name, best_of(t, (enum which)only, reps, slots, threads),
                   only == GLIBC ? "glibc" : only == POOL ? "pool" : "segment");
            continue;
        }
        /* alternate the two, so that a change in the machine's load hits both */
        double glibc = 0, pool = 0;
        for (int r = 0; r < reps; r++) {
            double g = best_of(t, GLIBC, 1, slots, threads), p = best_of(t, POOL, 1, slots, threads);
            if (r == 0 || g < glibc) glibc = g;
            if (r == 0 || p < pool) pool = p;
        }
        printf("  %-6s %10.1f %10.1f %7.2f", t->name, glibc, pool, pool / glibc);
        if (segment) {
            double seg = best_of(t, SEGMENT, reps, slots, threads);
            printf(" %10.1f %7.2f", seg, seg / glibc);
        }
        printf("\n");
        fflush(stdout);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: mems_bench [-t THREADS] [-s mixed,16,...] [-S] [-o glibc|pool|segment] [ops [live [reps]]]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *sizes = "mixed,16,32,64,128,256,512";
    int segment = 0, npos = 0;
    size_t ops = 200000, live = 1024;
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            threads_n = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            sizes = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            i++;
            only = strcmp(argv[i], "glibc") == 0 ? GLIBC : strcmp(argv[i], "pool") == 0 ? POOL
                 : strcmp(argv[i], "segment") == 0 ? SEGMENT : -2;
            if (only == -2) usage();
        } else if (strcmp(argv[i], "-S") == 0) {
            segment = 1;
        } else if (argv[i][0] == '-') {
            usage();
        } else if (npos == 0) {
            ops = strtoul(argv[i], NULL, 10), npos++;
        } else if (npos == 1) {
            live = strtoul(argv[i], NULL, 10), npos++;
        } else if (npos == 2) {
            reps = atoi(argv[i]), npos++;
        } else {
            usage();
        }
    }
    if (ops == 0 || live == 0 || live > UINT32_MAX || reps <= 0 || threads_n <= 0 || threads_n > 256) usage();

    struct trace traces[16];
    size_t ntraces = 0;
    char *list = strdup(sizes);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (ntraces == 16) usage();
        uint32_t fixed = 0;
        if (strcmp(tok, "mixed") != 0) {
            char *end;
            unsigned long v = strtoul(tok, &end, 10);
            if (*end != '\0' || v == 0 || v > 512) usage();
            fixed = (uint32_t)v;
        }
        traces[ntraces++] = make_trace(ops, live, fixed);
    }
    free(list);
    void **slots = xcalloc(live * (size_t)threads_n, sizeof(void *));

    printf("traces: %zu steps over %zu live slots (+ final frees), best of %d\n", ops, live, reps);
    run_all(traces, ntraces, reps, slots, 1, segment);
    if (threads_n > 1) run_all(traces, ntraces, reps, slots, threads_n, segment);
    for (size_t i = 0; i < ntraces; i++) free(traces[i].steps);
    free(slots);
    return 0;
}
