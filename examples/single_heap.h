/* single_heap.h: the one-thread heap shared by scenario_single and
 * scenario_live. It leaves chunks in every state glibc 2.36 has:
 *   in use     many sizes, from 24 bytes to 100 KB (below the mmap threshold)
 *   tcache     7 entries (a full bin) for several sizes
 *   fast       the same small sizes freed again once their tcache bin is full
 *   small      freed past a full tcache bin, then sorted by a larger malloc
 *   large      freed (too big for tcache), then sorted by the same malloc
 *   unsorted   one chunk freed after that malloc, with no malloc following
 *   top        whatever the arena has left
 * Every candidate for freeing sits between two in-use guard chunks so that
 * nothing coalesces, and the order matters: the sorting malloc is a large
 * request, which would consolidate the fastbins (glibc 2.36 _int_malloc), so
 * fastbins are filled last.
 *
 * It prints "EXPECT kind chunk_size=N count=N" lines: what it put where.
 */
#ifndef HEAPSCOPE_EXAMPLES_SINGLE_HEAP_H
#define HEAPSCOPE_EXAMPLES_SINGLE_HEAP_H

#include "oracle.h"

/* Pointers live in globals so the compiler keeps every malloc. */
#define SINGLE_MAX_KEEP 4096
static void *single_keep[SINGLE_MAX_KEEP];
static int single_nkeep;

static void *single_alloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    say("malloc(%zu) failed\n", n);
    _exit(1);
  }
  memset(p, 0xA5, n < 64 ? n : 64);
  if (single_nkeep < SINGLE_MAX_KEEP) single_keep[single_nkeep++] = p;
  return p;
}

/* The chunk size glibc gives a request of n bytes (x86-64: 8-byte header
 * overlap, 16-byte alignment, 32-byte minimum). */
static size_t single_chunk_size(size_t n) {
  size_t s = (n + 8 + 15) & ~(size_t)15;
  return s < 32 ? 32 : s;
}

/* Allocates count chunks of n bytes, each followed by a guard, into out[]. */
static void single_alloc_guarded(void **out, int count, size_t n) {
  for (int i = 0; i < count; ++i) {
    out[i] = single_alloc(n);
    single_alloc(56); /* guard: stays in use */
  }
}

static void single_free_all(void **v, int count) {
  for (int i = 0; i < count; ++i) free(v[i]);
}

static void build_single_heap(void) {
  /* In use: a spread of sizes. */
  static const size_t live_sizes[] = {8, 24, 56, 120, 250, 500, 1000, 2000, 4000, 10000, 30000, 100000};
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < sizeof live_sizes / sizeof live_sizes[0]; ++i) single_alloc(live_sizes[i]);
  void *zeroed = calloc(40, 25);
  if (zeroed) single_keep[single_nkeep++] = zeroed;

  /* Candidates, all allocated up front (a malloc after some frees could
   * reuse them). */
  static void *small300[10], *small900[9];
  static void *large[3];
  static const size_t large_sizes[3] = {1500, 3000, 6000};
  static void *unsorted[1];
  static void *tc40[7], *tc100[7], *tc200[7], *tc600[7];
  static void *fast24[12], *fast72[10];
  single_alloc_guarded(small300, 10, 300);
  single_alloc_guarded(small900, 9, 900);
  for (int i = 0; i < 3; ++i) single_alloc_guarded(&large[i], 1, large_sizes[i]);
  single_alloc_guarded(unsorted, 1, 2500);
  single_alloc_guarded(tc40, 7, 40);
  single_alloc_guarded(tc100, 7, 100);
  single_alloc_guarded(tc200, 7, 200);
  single_alloc_guarded(tc600, 7, 600);
  single_alloc_guarded(fast24, 12, 24);
  single_alloc_guarded(fast72, 10, 72);

  /* Small and large: the first 7 of a size fill its tcache bin, the rest go
   * to the unsorted list, and so do the large ones. */
  single_free_all(small300, 10);
  single_free_all(small900, 9);
  single_free_all(large, 3);
  /* A large request no unsorted chunk fits: glibc sorts every unsorted
   * chunk into its small or large bin, then carves this from top. */
  single_alloc(20000);
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(300));
  say("EXPECT small chunk_size=%zu count=3\n", single_chunk_size(300));
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(900));
  say("EXPECT small chunk_size=%zu count=2\n", single_chunk_size(900));
  for (int i = 0; i < 3; ++i) say("EXPECT large chunk_size=%zu count=1\n", single_chunk_size(large_sizes[i]));

  /* Unsorted: freed, and no malloc after it. */
  single_free_all(unsorted, 1);
  say("EXPECT unsorted chunk_size=%zu count=1\n", single_chunk_size(2500));

  /* Tcache: full bins. */
  single_free_all(tc40, 7);
  single_free_all(tc100, 7);
  single_free_all(tc200, 7);
  single_free_all(tc600, 7);
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(40));
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(100));
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(200));
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(600));

  /* Fast: 7 to fill the tcache bin, the rest to the fastbin. */
  single_free_all(fast24, 12);
  single_free_all(fast72, 10);
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(24));
  say("EXPECT fast chunk_size=%zu count=5\n", single_chunk_size(24));
  say("EXPECT tcache chunk_size=%zu count=7\n", single_chunk_size(72));
  say("EXPECT fast chunk_size=%zu count=3\n", single_chunk_size(72));
}

#endif
