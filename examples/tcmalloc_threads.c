/* tcmalloc_threads: a gperftools tcmalloc heap with every kind of free
 * memory. The main thread and three workers allocate objects of many size
 * classes and a few large (page heap) allocations, then free most of one
 * batch: each thread's cache overflows into the transfer cache and the
 * central free lists, and keeps the rest. Large frees go back to the page
 * heap; part of it is released to the system (the returned list). Workers
 * park, and the main thread prints tcmalloc's own figures
 * (tcmalloc_oracle.h) and dumps core. With "baseline" the program dumps core
 * at the start of main (what the C++ runtime allocated at load time); with
 * "live" it prints READY and waits for a line on stdin instead of dumping.
 * Build: cc tcmalloc_threads.c -ltcmalloc_minimal -lpthread. */
#include <pthread.h>
#include <stdint.h>

#include "tcmalloc_oracle.h"

enum { kWorkers = 3, kSmall = 2000, kLarge = 4 };

static pthread_barrier_t parked;
static void *kept[kWorkers + 1][kSmall + kLarge];

static void build_heap(int who) {
  static const size_t sizes[] = {8, 16, 24, 40, 64, 100, 200, 500, 1000, 3000, 9000, 14000, 40000};
  for (int i = 0; i < kSmall; i++) {
    size_t n = sizes[(i + who) % (sizeof sizes / sizeof sizes[0])];
    char *p = i % 7 == 3 ? calloc(1, n) : malloc(n);
    memset(p, 'a' + who, n);
    kept[who][i] = p;
  }
  /* Most of the first half freed: more than a thread cache keeps. */
  for (int i = 0; i < kSmall / 2; i++) {
    if (i % 5 == 0) continue;
    free(kept[who][i]);
    kept[who][i] = NULL;
  }
  for (int i = 0; i < kLarge; i++) {
    size_t n = (size_t)(300000 + 70000 * i + 9000 * who);
    kept[who][kSmall + i] = malloc(n);
    memset(kept[who][kSmall + i], 'A' + who, n);
  }
  /* Large allocations freed: their spans go back to the page heap. */
  free(malloc(600000 + 8192 * (size_t)who));
}

static void *worker(void *arg) {
  int who = (int)(intptr_t)arg;
  build_heap(who);
  pthread_barrier_wait(&parked);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  tcmalloc_oracle_start();
  int live = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "baseline") == 0) tcmalloc_oracle_and_abort();
    live |= strcmp(argv[i], "live") == 0;
  }
  pthread_barrier_init(&parked, NULL, kWorkers + 1);
  pthread_t threads[kWorkers];
  for (int i = 0; i < kWorkers; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1));
  build_heap(0);
  pthread_barrier_wait(&parked);
  /* Some of the free page heap given back to the system (the returned
   * list), then one more large span freed onto the normal list. */
  MallocExtension_ReleaseToSystem(1 << 20);
  free(malloc(2000000));
  if (live) tcmalloc_oracle_and_wait();
  tcmalloc_oracle_and_abort();
}
