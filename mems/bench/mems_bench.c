/*
 * mems_bench — throughput of mems_malloc/mems_free and mems_pool_alloc/
 * mems_pool_free against glibc malloc/free on one pseudo-random trace of
 * small objects (8..512 bytes).
 *
 * The trace is built once: `ops` steps over `live` slots; a step picks a slot
 * and frees its object if it holds one, else allocates a new one. Whatever is
 * still live at the end is freed too (and counted). Each allocator replays the
 * same trace `reps` times; the best time is reported as ns per call
 * (allocations + frees) and as a ratio to glibc. Memory is not written, so the
 * figures are the allocators' bookkeeping only.
 *
 * Usage: mems_bench [ops [live [reps]]]   (defaults 200000 1024 3)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mems.h"

struct step {
    uint32_t slot;
    uint32_t size; /* 0 = free the slot */
};

struct trace {
    struct step *steps;
    size_t count; /* steps including the final frees */
    size_t live;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t next_random(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static struct trace make_trace(size_t ops, size_t live) {
    struct trace t = {malloc((ops + live) * sizeof(struct step)), 0, live};
    unsigned char *occupied = calloc(live, 1);
    if (t.steps == NULL || occupied == NULL) {
        fprintf(stderr, "mems_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < ops; i++) {
        uint64_t r = next_random();
        uint32_t slot = (uint32_t)(r % live);
        uint32_t size = occupied[slot] ? 0 : (uint32_t)(8 + (r >> 32) % 505);
        occupied[slot] = !occupied[slot];
        t.steps[t.count++] = (struct step){slot, size};
    }
    for (size_t slot = 0; slot < live; slot++)
        if (occupied[slot]) t.steps[t.count++] = (struct step){(uint32_t)slot, 0};
    free(occupied);
    return t;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum which { GLIBC, SEGMENT, POOL };

static double replay(const struct trace *t, enum which which, void **slots) {
    if (which != GLIBC && mems_init() != 0) exit(1);
    double start = now_ns();
    for (size_t i = 0; i < t->count; i++) {
        const struct step *s = &t->steps[i];
        void **slot = &slots[s->slot];
        switch (which) {
        case GLIBC:
            if (s->size) *slot = malloc(s->size); else free(*slot);
            break;
        case SEGMENT:
            if (s->size) *slot = mems_malloc(s->size); else mems_free(*slot);
            break;
        case POOL:
            if (s->size) *slot = mems_pool_alloc(s->size); else mems_pool_free(*slot);
            break;
        }
        if (s->size && *slot == NULL) {
            fprintf(stderr, "mems_bench: allocation failed\n");
            exit(1);
        }
    }
    double elapsed = now_ns() - start;
    if (which != GLIBC) {
        char err[256];
        if (mems_check_invariants(err, sizeof err) != 0) {
            fprintf(stderr, "mems_bench: invariant broken: %s\n", err);
            exit(1);
        }
        mems_finish();
    }
    return elapsed;
}

static double best_of(const struct trace *t, enum which which, int reps, void **slots) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double ns = replay(t, which, slots);
        if (r == 0 || ns < best) best = ns;
    }
    return best / (double)t->count;
}

int main(int argc, char **argv) {
    size_t ops = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    size_t live = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (ops == 0 || live == 0 || reps <= 0) {
        fprintf(stderr, "usage: mems_bench [ops [live [reps]]]\n");
        return 2;
    }
    struct trace t = make_trace(ops, live);
    void **slots = calloc(live, sizeof(void *));
    if (slots == NULL) return 1;

    double glibc = best_of(&t, GLIBC, reps, slots);
    double pool = best_of(&t, POOL, reps, slots);
    double segment = best_of(&t, SEGMENT, reps, slots);

    printf("trace: %zu calls (%zu steps + final frees), %zu live slots, sizes 8..512, best of %d\n",
           t.count, ops, live, reps);
    printf("%-28s %10.1f ns/op  ratio %6.2f\n", "glibc malloc/free", glibc, 1.0);
    printf("%-28s %10.1f ns/op  ratio %6.2f\n", "mems_pool_alloc/pool_free", pool, pool / glibc);
    printf("%-28s %10.1f ns/op  ratio %6.2f\n", "mems_malloc/mems_free", segment, segment / glibc);
    free(slots);
    free(t.steps);
    return 0;
}
