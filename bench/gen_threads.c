/* gen_threads: many threads, each with its own arena, then a core dump
 * while they are all alive.
 *
 *   gen_threads N [--exit]
 *
 * 16 threads (glibc allows 8 arenas per core: on 2 cores every thread but
 * one gets an arena of its own) each allocate N/16 chunks of 16..256 bytes
 * into their own global table and free about 10% of them at random (into
 * their tcache, their arena's fastbins and unsorted list). Then they wait;
 * the main thread prints mallinfo2 (which sums every arena) and aborts, so
 * the core holds 17 threads and their stacks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>
#include "shape.h"

enum { THREADS = 16 };

void **tables[THREADS]; /* not static, see gen_heap.c */
static unsigned long long per_thread;
static unsigned long long freed[THREADS];
static pthread_barrier_t built, never;

static void *build(void *arg) {
  size_t t = (size_t)arg;
  uint64_t rng = 0x9E3779B97F4A7C15ull + 0x1000193ull * (t + 1);
  void **table = malloc(per_thread * sizeof *table);
  if (!table) abort();
  for (unsigned long long i = 0; i < per_thread; ++i) table[i] = shape_alloc(shape_small_size(&rng), i);
  for (unsigned long long i = 0; i < per_thread; ++i) {
    if (shape_next(&rng) % 10 == 0) {
      free(table[i]);
      table[i] = NULL;
      ++freed[t];
    }
  }
  tables[t] = table;
  pthread_barrier_wait(&built);
  pthread_barrier_wait(&never); /* alive in the core */
  return NULL;
}

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_threads", &exit_normally);
  per_thread = n / THREADS + 1;
  pthread_barrier_init(&built, NULL, THREADS + 1);
  pthread_barrier_init(&never, NULL, THREADS + 1);
  pthread_t threads[THREADS];
  for (size_t t = 0; t < THREADS; ++t)
    if (pthread_create(&threads[t], NULL, build, (void *)t) != 0) return 1;
  pthread_barrier_wait(&built);
  unsigned long long total_freed = 0;
  for (size_t t = 0; t < THREADS; ++t) total_freed += freed[t];
  printf("gen_threads n=%llu threads=%d freed=%llu\n", per_thread * THREADS, THREADS, total_freed);
  if (exit_normally) {
    shape_finish(1);
    _exit(0); /* the threads stay blocked */
  }
  return shape_finish(0);
}
