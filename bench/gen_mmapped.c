/* gen_mmapped: a few huge mmapped chunks among millions of small ones, then
 * a core dump.
 *
 *   gen_mmapped N [--exit]
 *
 * N chunks of 16..256 bytes, about 10% freed, as gen_heap; the pointers to
 * them live in 4 huge chunks (N*8 bytes each, mmapped by malloc), one table
 * split in 4, the rest of each filled with words that point nowhere. The
 * leak scan reads every huge chunk, the walk must find them outside the
 * arenas' heaps.
 */
#define _GNU_SOURCE
#include "shape.h"

enum { HUGE_CHUNKS = 4 };

uint64_t *huge[HUGE_CHUNKS]; /* not static, see gen_heap.c */

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_mmapped", &exit_normally);
  /* Each huge chunk: a quarter of the table, then as many words of noise. */
  unsigned long long quarter = n / HUGE_CHUNKS + 1;
  size_t words = 2 * quarter > 32768 ? 2 * quarter : 32768; /* >= 256 KiB: always mmapped */
  for (size_t h = 0; h < HUGE_CHUNKS; ++h) {
    huge[h] = malloc(words * sizeof(uint64_t));
    if (!huge[h]) return 1;
    for (size_t w = quarter; w < words; ++w) huge[h][w] = shape_rng() | 1; /* odd: no pointer */
  }
  for (unsigned long long i = 0; i < n; ++i)
    huge[i % HUGE_CHUNKS][i / HUGE_CHUNKS] = (uint64_t)(uintptr_t)shape_alloc(shape_small_size(&shape_rng_state), i);
  unsigned long long freed = 0;
  for (unsigned long long i = 0; i < n; ++i) {
    uint64_t *slot = &huge[i % HUGE_CHUNKS][i / HUGE_CHUNKS];
    if (shape_rng() % 10 == 0) {
      free((void *)(uintptr_t)*slot);
      *slot = 0;
      ++freed;
    }
  }
  shape_sort_unsorted(freed / 10000 + 2, 1000);
  printf("gen_mmapped n=%llu huge=%d freed=%llu\n", n, HUGE_CHUNKS, freed);
  return shape_finish(exit_normally);
}
