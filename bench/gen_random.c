/* gen_random: chunks of random sizes from 16 B to 64 KiB, a third freed in
 * random order, then a core dump.
 *
 *   gen_random N [--exit]
 *
 * Sizes are log-skewed (most under 256 B, 1 in 200 between 4 and 64 KiB), so
 * that 1M chunks stay near 400 MB. Random frees coalesce with free
 * neighbours into chunks of every size; sorting the unsorted list then fills
 * the large bins with many chunks (each large bin is a sorted skip list).
 */
#define _GNU_SOURCE
#include "shape.h"

void **chunks; /* not static, see gen_heap.c */

static size_t pick_size(void) {
  uint64_t r = shape_rng() % 1000;
  if (r < 950) return 16 + shape_rng() % 241;        /* 16..256 */
  if (r < 995) return 257 + shape_rng() % 3840;      /* 257..4096 */
  return 4097 + shape_rng() % (65536 - 4096);        /* 4 KiB..64 KiB */
}

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_random", &exit_normally);
  chunks = malloc(n * sizeof *chunks);
  if (!chunks) return 1;
  for (unsigned long long i = 0; i < n; ++i) chunks[i] = shape_alloc(pick_size(), i);
  /* A third of them, in random order (a random index each time; a freed
   * slot picked again is skipped). */
  unsigned long long freed = 0;
  for (unsigned long long k = 0; k < n / 3; ++k) freed += shape_free(&chunks[shape_rng() % n]);
  shape_sort_unsorted(freed / 10000 + 2, 70000);
  printf("gen_random n=%llu freed=%llu\n", n, freed);
  return shape_finish(exit_normally);
}
