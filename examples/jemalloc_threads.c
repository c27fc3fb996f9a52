/* jemalloc_threads: a jemalloc heap over several arenas. The main thread and
 * three workers (each bound to an arena of its own by jemalloc) allocate
 * small regions of many size classes, free every third, and keep a few large
 * allocations; each worker flushes its thread cache and parks, and the main
 * thread prints jemalloc's own figures (jemalloc_oracle.h) and dumps core.
 * With the argument "keep-tcache" no thread flushes its cache; with "live"
 * the program prints READY and waits for a line on stdin instead of dumping.
 * Build: cc jemalloc_threads.c -ljemalloc -lpthread. */
#include <pthread.h>
#include <stdint.h>

#include "jemalloc_oracle.h"

enum { kWorkers = 3, kSmall = 600, kLarge = 5 };

static pthread_barrier_t parked;
static void *kept[kWorkers + 1][kSmall + kLarge];

static void build_heap(int who) {
  static const size_t sizes[] = {8, 16, 24, 40, 64, 100, 200, 500, 1000, 3000, 9000, 14000};
  for (int i = 0; i < kSmall; i++) {
    size_t n = sizes[(i + who) % (sizeof sizes / sizeof sizes[0])];
    char *p = malloc(n);
    memset(p, 'a' + who, n);
    kept[who][i] = p;
  }
  for (int i = 0; i < kSmall; i += 3) {
    free(kept[who][i]);
    kept[who][i] = NULL;
  }
  for (int i = 0; i < kLarge; i++) {
    size_t n = (size_t)(20000 + 37000 * i + 5000 * who);
    kept[who][kSmall + i] = malloc(n);
    memset(kept[who][kSmall + i], 'A' + who, n);
  }
  /* A large allocation freed: its extent goes back to the arena as dirty. */
  free(malloc(300000 + 4096 * (size_t)who));
}

static void *worker(void *arg) {
  int who = (int)(intptr_t)arg;
  build_heap(who);
  jemalloc_flush_tcache();
  pthread_barrier_wait(&parked);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  int live = 0;
  for (int i = 1; i < argc; i++) {
    jemalloc_keep_tcache |= strcmp(argv[i], "keep-tcache") == 0;
    live |= strcmp(argv[i], "live") == 0;
  }
  pthread_barrier_init(&parked, NULL, kWorkers + 1);
  pthread_t threads[kWorkers];
  for (int i = 0; i < kWorkers; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1));
  build_heap(0);
  pthread_barrier_wait(&parked);
  if (live) jemalloc_oracle_and_wait();
  jemalloc_oracle_and_abort();
}
