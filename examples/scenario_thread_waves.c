/* scenario_thread_waves: threads started and joined in waves, as a worker
 * pool does (git pack-objects with pack.threads). Each thread that exits has
 * its tcache_perthread_struct freed into its arena (glibc's
 * tcache_thread_shutdown); glibc reuses the stacks and TLS blocks of joined
 * threads for the next wave, so their old words (pointers to those freed
 * structs) stay there. With M_ARENA_MAX 3 the threads share arenas, so an
 * arena's bins hold several freed structs.
 * The last wave stays alive: each of its threads allocates a struct-sized
 * chunk (a freed struct, taken out of its arena's bins) and frees it into its
 * own tcache, keeping the pointer in its frame, just below its TLS: a free
 * chunk that looks like a tcache, pointed at from a live thread's TLS area.
 *   ./scenario_thread_waves          prints the oracle, then abort()s (core)
 *   ./scenario_thread_waves --exit   prints the oracle, releases the threads, exits 0
 *   ./scenario_thread_waves --live   prints the oracle and "READY pid=N", waits
 *                                    for a line on stdin, then exits 0
 */
#include "oracle.h"

#include <pthread.h>

#define WAVES 4
#define MAX_WAVE_THREADS 9 /* waves of 3, 5, 7, 9: the last leaves freed structs over */
#define LIVE_THREADS 3
#define KEEP_PER_THREAD 8
/* sizeof(tcache_perthread_struct) on glibc 2.30..2.41 (64 uint16_t counts,
 * 64 entries): its chunk is 656 bytes, tcache bin 39. */
#define TCACHE_STRUCT_BYTES 640

static void *kept[WAVES * MAX_WAVE_THREADS + LIVE_THREADS + 1][KEEP_PER_THREAD];
static pthread_barrier_t ready;
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

static void *must_malloc(size_t n) {
  void *p = malloc(n);
  if (!p) _exit(1);
  memset(p, 0x33, n < 64 ? n : 64);
  return p;
}

/* Allocations that outlive the thread (they keep its freed struct from
 * coalescing with top), and churn that fills its tcache bins, which
 * tcache_thread_shutdown then empties into the arena. */
static void work(int slot) {
  for (int i = 0; i < KEEP_PER_THREAD; ++i) kept[slot][i] = must_malloc(24 + 48 * (size_t)((slot + i) % 9));
  void *churn[12];
  for (int i = 0; i < 12; ++i) churn[i] = must_malloc(40 + 16 * (size_t)(i % 4));
  for (int i = 0; i < 12; ++i) free(churn[i]);
}

static void *short_worker(void *arg) {
  work((int)(long)arg);
  return NULL;
}

static void *live_worker(void *arg) {
  int slot = (int)(long)arg;
  work(slot);
  /* Likely a freed tcache struct of an exited thread; freed again into this
   * thread's tcache, its pointer left in this frame. */
  void *volatile stale = must_malloc(TCACHE_STRUCT_BYTES);
  free(stale);
  pthread_barrier_wait(&ready);
  pthread_mutex_lock(&go_lock);
  while (!go) pthread_cond_wait(&go_cond, &go_lock);
  pthread_mutex_unlock(&go_lock);
  return stale == NULL ? arg : NULL;
}

static void start(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), long slot) {
  if (pthread_create(th, attr, fn, (void *)slot) != 0) {
    say("pthread_create failed\n");
    _exit(1);
  }
}

static void release_and_join(pthread_t *th) {
  pthread_mutex_lock(&go_lock);
  go = 1;
  pthread_cond_broadcast(&go_cond);
  pthread_mutex_unlock(&go_lock);
  for (int i = 0; i < LIVE_THREADS; ++i) pthread_join(th[i], NULL);
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  int live = argc > 1 && strcmp(argv[1], "--live") == 0;
  mallopt(M_ARENA_MAX, 3);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* Small stacks: glibc's stack cache (40 MiB) keeps every joined one. */
  pthread_attr_setstacksize(&attr, 256 * 1024);
  work(0);
  long slot = 1;
  for (int w = 0; w < WAVES; ++w) {
    const int n = 3 + 2 * w;
    pthread_t th[MAX_WAVE_THREADS];
    for (int i = 0; i < n; ++i) start(&th[i], &attr, short_worker, slot++);
    for (int i = 0; i < n; ++i) pthread_join(th[i], NULL);
  }
  pthread_barrier_init(&ready, NULL, LIVE_THREADS + 1);
  pthread_t th[LIVE_THREADS];
  for (int i = 0; i < LIVE_THREADS; ++i) start(&th[i], &attr, live_worker, slot++);
  pthread_barrier_wait(&ready);
  void *volatile stale = must_malloc(TCACHE_STRUCT_BYTES);
  free(stale);
  say("EXPECT arenas=3\n");
  if (live) {
    oracle_print();
    ready_and_wait();
    release_and_join(th);
    say("BYE\n");
    return 0;
  }
  if (!exit_normally) oracle_finish(0);
  oracle_print();
  release_and_join(th);
  say("EXIT\n");
  return 0;
}
