/* scenario_threads: 8 threads, each with its own arena (glibc creates a new
 * arena for a thread's first malloc while there are fewer than 8 x cores).
 * Each thread leaves chunks in use, full tcache bins, fastbin chunks and an
 * unsorted chunk in its arena, then blocks on a condition variable. With all
 * of them alive (every tcache still owned), the main thread prints glibc's
 * figures and dumps core.
 *   ./scenario_threads          prints the oracle, then abort()s (core)
 *   ./scenario_threads --exit   prints the oracle, releases the threads, exits 0
 */
#include "oracle.h"

#include <pthread.h>

#define NTHREADS 8
#define PER_THREAD_KEEP 256

static void *keep[NTHREADS + 1][PER_THREAD_KEEP];
static int nkeep[NTHREADS + 1];
static pthread_barrier_t ready;
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

struct expect {
  size_t tcache_size[2], fast_size, unsorted_size;
  int tcache_count[2], fast_count;
};
static struct expect expects[NTHREADS + 1];

static void *alloc(int slot, size_t n) {
  void *p = malloc(n);
  if (!p) _exit(1);
  memset(p, slot, n < 32 ? n : 32);
  if (nkeep[slot] < PER_THREAD_KEEP) keep[slot][nkeep[slot]++] = p;
  return p;
}

static size_t chunk_size(size_t n) {
  size_t s = (n + 8 + 15) & ~(size_t)15;
  return s < 32 ? 32 : s;
}

/* slot 0 is the main thread, 1..NTHREADS the workers. */
static void fill_arena(int slot) {
  /* In use: sizes differ per thread so the arenas are told apart. */
  for (int i = 0; i < 20; ++i) alloc(slot, 16 + 40 * (size_t)slot + 24 * (size_t)i);
  alloc(slot, 5000 + 1000 * (size_t)slot);

  size_t tsz0 = 40 + 16 * (size_t)slot, tsz1 = 400 + 32 * (size_t)slot;
  size_t fsz = 24 + 16 * (size_t)(slot % 4); /* chunk 32..80: fastbin sizes */
  size_t usz = 3000 + 100 * (size_t)slot;
  void *t0[7], *t1[7], *f[10], *u;
  for (int i = 0; i < 7; ++i) { t0[i] = alloc(slot, tsz0); alloc(slot, 56); }
  for (int i = 0; i < 7; ++i) { t1[i] = alloc(slot, tsz1); alloc(slot, 56); }
  for (int i = 0; i < 10; ++i) { f[i] = alloc(slot, fsz); alloc(slot, 56); }
  u = alloc(slot, usz);
  alloc(slot, 56);

  free(u); /* unsorted: too big for tcache, guarded, no malloc after it */
  for (int i = 0; i < 7; ++i) free(t0[i]);
  for (int i = 0; i < 7; ++i) free(t1[i]);
  for (int i = 0; i < 10; ++i) free(f[i]); /* 7 tcache (if free), rest fast */

  struct expect *e = &expects[slot];
  e->tcache_size[0] = chunk_size(tsz0);
  e->tcache_count[0] = 7;
  e->tcache_size[1] = chunk_size(tsz1);
  e->tcache_count[1] = 7;
  e->fast_size = chunk_size(fsz);
  /* If fsz's chunk size equals tsz0's, that tcache bin is already full. */
  e->fast_count = chunk_size(fsz) == chunk_size(tsz0) ? 10 : 3;
  e->unsorted_size = chunk_size(usz);
}

static void *worker(void *arg) {
  int slot = (int)(long)arg;
  fill_arena(slot);
  pthread_barrier_wait(&ready);
  pthread_mutex_lock(&go_lock);
  while (!go) pthread_cond_wait(&go_cond, &go_lock);
  pthread_mutex_unlock(&go_lock);
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  pthread_barrier_init(&ready, NULL, NTHREADS + 1);
  pthread_t th[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i) {
    if (pthread_create(&th[i], NULL, worker, (void *)(i + 1)) != 0) {
      say("pthread_create failed\n");
      return 1;
    }
  }
  /* After pthread_create, whose own allocations (thread DTVs) could
   * otherwise take chunks out of this thread's tcache. */
  fill_arena(0);
  pthread_barrier_wait(&ready);
  for (int s = 0; s <= NTHREADS; ++s) {
    struct expect *e = &expects[s];
    for (int k = 0; k < 2; ++k)
      say("EXPECT thread=%d tcache chunk_size=%zu count=%d\n", s, e->tcache_size[k], e->tcache_count[k]);
    say("EXPECT thread=%d fast chunk_size=%zu count=%d\n", s, e->fast_size, e->fast_count);
    say("EXPECT thread=%d unsorted chunk_size=%zu count=1\n", s, e->unsorted_size);
  }
  say("EXPECT arenas=%d\n", NTHREADS + 1);
  if (!exit_normally) oracle_finish(0);
  oracle_print();
  pthread_mutex_lock(&go_lock);
  go = 1;
  pthread_cond_broadcast(&go_cond);
  pthread_mutex_unlock(&go_lock);
  for (int i = 0; i < NTHREADS; ++i) pthread_join(th[i], NULL);
  say("EXIT\n");
  return 0;
}
