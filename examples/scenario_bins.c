/* scenario_bins: a long-running program's main arena, where nearly every bin
 * holds chunks. For each small bin size (32..1008) and for sizes across
 * every large bin (1024 up to 700 KiB), it frees guarded chunks (after
 * filling the tcache bin of that size), then makes one big request, which
 * sorts them all out of the unsorted bin into their small and large bins.
 * Two threads do some work of their own in their arenas meanwhile.
 * mmap is kept for nothing below 4 MiB (mallopt), so large chunks stay in
 * the main heap. It prints how many of the main arena's bins are in use,
 * glibc's figures, then dumps core.
 *   ./scenario_bins          prints the oracle, then abort()s (core)
 *   ./scenario_bins --exit   prints the oracle, exits 0
 */
#include "oracle.h"

#include <pthread.h>

/* glibc's bin for a chunk size (64-bit): small bins 2..63, large 64..126. */
static int bin_index(size_t sz) {
  if (sz < 1024) return (int)(sz >> 4);
  if ((sz >> 6) <= 48) return (int)(48 + (sz >> 6));
  if ((sz >> 9) <= 20) return (int)(91 + (sz >> 9));
  if ((sz >> 12) <= 10) return (int)(110 + (sz >> 12));
  if ((sz >> 15) <= 4) return (int)(119 + (sz >> 15));
  if ((sz >> 18) <= 2) return (int)(124 + (sz >> 18));
  return 126;
}

/* Every chunk is allocated before any is freed, each followed by a guard,
 * so that no later request reuses a freed chunk and none coalesce. */
#define MAX_SIZES 160
#define PER_SIZE 9 /* 7 to fill the tcache bin of that size, then 2 for the bin */
static void *chunks[MAX_SIZES][PER_SIZE];

static pthread_barrier_t ready;

static void *kept[2][200]; /* not on the stack: see below */

static void *worker(void *arg) {
  long seed = (long)arg;
  /* A global, not a local array: pointers to chunks of the
   * tcache_perthread_struct's size near the top of a thread's stack (right
   * below its TLS) would be taken for its tcache (issue 22). */
  void **keep = kept[seed];
  for (int i = 0; i < 200; ++i) keep[i] = malloc(16 + (size_t)((i * 37 + seed) % 900));
  for (int i = 0; i < 200; i += 3) free(keep[i]);
  pthread_barrier_wait(&ready);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  pthread_barrier_init(&ready, NULL, 3);
  pthread_t t[2];
  for (long i = 0; i < 2; ++i)
    if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) return 1;

  /* One chunk size per bin: every small bin (32..1008; the fastbin sizes
   * are consolidated into the unsorted bin by the large request below, then
   * sorted too), and the smallest size of every large bin up to 126. */
  size_t sizes[MAX_SIZES];
  int nsizes = 0, last = 0;
  for (size_t sz = 32; sz < (600u << 10) && nsizes < MAX_SIZES; sz += 16) {
    int b = bin_index(sz);
    if (b != last) sizes[nsizes++] = sz, last = b;
  }
  for (int i = 0; i < nsizes; ++i)
    for (int k = 0; k < PER_SIZE; ++k) {
      chunks[i][k] = malloc(sizes[i] - 8);
      if (!chunks[i][k] || !malloc(24)) _exit(1);
    }
  for (int i = 0; i < nsizes; ++i)
    for (int k = 0; k < PER_SIZE; ++k) free(chunks[i][k]);
  int small = 0, large = 0;
  for (int i = 0; i < nsizes; ++i) *(bin_index(sizes[i]) < 64 ? &small : &large) += 1;
  /* Larger than any free chunk: every unsorted chunk is sorted into its bin. */
  void *big = malloc(3 << 20);
  memset(big, 1, 64);
  pthread_barrier_wait(&ready);
  say("BINS small=%d large=%d\n", small, large);
  oracle_finish(exit_normally);
}
