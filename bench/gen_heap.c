/* gen_heap: a big glibc heap for benchmarks, then a core dump.
 *
 *   gen_heap N [--exit]
 *
 * Allocates N chunks of 16..256 bytes (a mix skewed to small sizes, as in
 * programs full of strings and small structs), frees about 10% of them at
 * random (the first 7 of each size fill its tcache bin, small ones go to the
 * fastbins, the rest to the unsorted list, coalescing with free neighbours),
 * then makes a few small requests so glibc sorts the unsorted chunks into the
 * small bins. Prints mallinfo2, then aborts (core in the current directory).
 * Deterministic: the same N gives the same heap.
 */
#define _GNU_SOURCE
#include "shape.h"

/* Not static: a static pointer whose address never escapes may live only in
 * a register, and then no root holds the array (every chunk would look
 * "possibly leaked", which no real program's heap looks like). */
void **chunks; /* itself one mmapped chunk when N is large */

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_heap", &exit_normally);
  chunks = malloc(n * sizeof *chunks);
  if (!chunks) return 1;
  for (unsigned long long i = 0; i < n; ++i) chunks[i] = shape_alloc(shape_small_size(&shape_rng_state), i);
  unsigned long long freed = 0;
  for (unsigned long long i = 0; i < n; ++i)
    if (shape_rng() % 10 == 0) freed += shape_free(&chunks[i]);
  shape_sort_unsorted(freed / 10000 + 2, 1000);
  printf("gen_heap n=%llu freed=%llu\n", n, freed);
  return shape_finish(exit_normally);
}
