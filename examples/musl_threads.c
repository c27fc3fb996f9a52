/* musl_threads: a musl mallocng heap (build with musl-gcc, static or not).
 * The main thread and two workers allocate many sizes, from 1 byte to
 * several mapped megabytes, free every third, grow and shrink some with
 * realloc and align some with aligned_alloc; the workers park, and the main
 * thread prints what is still allocated (musl_oracle.h) and dumps core.
 * With the argument "live" it prints READY and waits for a line on stdin
 * instead. Build: musl-gcc -static musl_threads.c. */
#include <stdint.h>

#include "musl_oracle.h"

enum { kWorkers = 2, kRounds = 300 };

static pthread_barrier_t parked;

static void build_heap(int who) {
  static const size_t sizes[] = {1,   8,    13,   24,   40,    64,    100,   200,   333,
                                 500, 1000, 2000, 3000, 9000, 14000, 40000, 70000};
  void *mine[kRounds];
  size_t asked[kRounds];
  for (int i = 0; i < kRounds; i++) {
    asked[i] = sizes[(i + 5 * who) % (sizeof sizes / sizeof sizes[0])] + (size_t)(i % 7);
    mine[i] = musl_keep(malloc(asked[i]), asked[i]);
    memset(mine[i], 'a' + who, asked[i]);
  }
  for (int i = 0; i < kRounds; i += 3) {
    musl_drop(mine[i]);
    free(mine[i]);
  }
  /* realloc: shrink in place, grow (moves), both still exact sizes. */
  for (int i = 1; i < kRounds; i += 10) {
    if (i % 3 == 0) continue; /* freed above */
    size_t n = i % 20 == 1 ? asked[i] / 2 + 1 : asked[i] * 3;
    musl_drop(mine[i]);
    mine[i] = musl_keep(realloc(mine[i], n), n);
  }
  /* aligned_alloc: the pointer lies past the slot's start. */
  for (int i = 0; i < 6; i++) {
    size_t align = (size_t)64 << (2 * i % 7), n = 100 + 1000 * (size_t)i;
    musl_keep(aligned_alloc(align, n), n);
  }
  /* Allocations of 128 KiB and more: single-slot groups mapped for themselves. */
  for (int i = 0; i < 3; i++) {
    size_t n = 131072 + 50000 * (size_t)i + 4096 * (size_t)who;
    memset(musl_keep(malloc(n), n), 'A' + who, 64);
  }
  free(malloc(500000)); /* mapped, then unmapped */
}

static void *worker(void *arg) {
  build_heap((int)(intptr_t)arg);
  pthread_barrier_wait(&parked);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  int live = argc > 1 && strcmp(argv[1], "live") == 0;
  pthread_barrier_init(&parked, NULL, kWorkers + 1);
  pthread_t threads[kWorkers];
  for (int i = 0; i < kWorkers; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1));
  build_heap(0);
  pthread_barrier_wait(&parked);
  if (live) musl_oracle_and_wait();
  musl_oracle_and_abort();
}
