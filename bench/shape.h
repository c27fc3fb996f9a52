/* shape.h: what every heap-shape generator in bench/ shares.
 *
 * Each generator builds one shape of glibc heap from a size argument (about
 * how many chunks), prints "mallinfo2 ..." (the oracle run.py compares
 * `heap stats` with), then aborts so the kernel writes its core. With
 * --exit it returns instead (no core). Deterministic: the same N gives the
 * same heap. C and C++ (gen_tree.cc includes it too).
 */
#ifndef HEAPSCOPE_BENCH_SHAPE_H
#define HEAPSCOPE_BENCH_SHAPE_H

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: fast, and the same sequence on every machine. Threads keep
 * their own state; shape_rng() is the main thread's. */
static inline uint64_t shape_next(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 0x2545F4914F6CDD1Dull;
}
static uint64_t shape_rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t shape_rng(void) { return shape_next(&shape_rng_state); }

/* 16..256 bytes, skewed to small sizes (as in programs full of strings and
 * small structs): half 16..64, 30% 65..128, 20% 129..256. */
static inline size_t shape_small_size(uint64_t *rng) {
  uint64_t r = shape_next(rng) % 100;
  if (r < 50) return 16 + shape_next(rng) % 49;
  if (r < 80) return 65 + shape_next(rng) % 64;
  return 129 + shape_next(rng) % 128;
}

/* malloc(size), its first bytes written (a touched chunk, as programs make);
 * exits 1 when malloc fails. */
static inline void *shape_alloc(size_t size, unsigned long long i) {
  void *p = malloc(size);
  if (!p) exit(1);
  memset(p, (int)(i & 0xFF), size < 16 ? size : 16);
  return p;
}

/* Frees *slot and clears it; 1 if there was a chunk to free. */
static inline int shape_free(void **slot) {
  if (!*slot) return 0;
  free(*slot);
  *slot = NULL;
  return 1;
}

/* N from argv[1] (1 .. 2^32), --exit from argv[2]; exits 2 on a bad line. */
static inline unsigned long long shape_args(int argc, char **argv, const char *name,
                                            int *exit_normally) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: %s N [--exit]\n", name);
    exit(2);
  }
  char *end;
  unsigned long long n = strtoull(argv[1], &end, 10);
  if (*end || n == 0 || n > (1ull << 32)) {
    fprintf(stderr, "%s: bad N '%s'\n", name, argv[1]);
    exit(2);
  }
  *exit_normally = argc > 2 && strcmp(argv[2], "--exit") == 0;
  return n;
}

/* Each malloc that no tcache, fastbin or exact small bin serves sorts up to
 * 10000 unsorted chunks into the small and large bins (glibc's MAX_ITERS):
 * `rounds` such requests of `request` bytes, held by a global (not leaks). */
void *shape_sorters[1024];
static inline void shape_sort_unsorted(size_t rounds, size_t request) {
  if (rounds > sizeof shape_sorters / sizeof shape_sorters[0])
    rounds = sizeof shape_sorters / sizeof shape_sorters[0];
  for (size_t i = 0; i < rounds; ++i) shape_sorters[i] = malloc(request);
}

/* Prints the mallinfo2 line run.py checks, then aborts (core) unless
 * exit_normally. */
static inline int shape_finish(int exit_normally) {
  struct mallinfo2 m = mallinfo2();
  printf("mallinfo2 arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu "
         "fsmblks=%zu uordblks=%zu fordblks=%zu keepcost=%zu\n",
         m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks,
         m.fordblks, m.keepcost);
  if (exit_normally) return 0;
  abort();
}

#endif
