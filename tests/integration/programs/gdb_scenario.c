// A small heap for the gdb integration tests: chunks in use, in tcache, in
// fastbins, in the unsorted/small bins, one mmapped chunk and a second arena
// (a thread's). It stops in heapscope_stop() (a breakpoint for live tests)
// and then, with "abort", dumps core. "big N" makes N small chunks instead
// (speed measurement); "nomalloc" never calls malloc.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* volatile sink[4096];

__attribute__((noinline)) void heapscope_stop(void) { __asm__ volatile("" ::: "memory"); }

static pthread_barrier_t ready, done;

static void* worker(void* arg) {
  (void)arg;
  // A non-main arena: allocations from a second thread.
  for (int i = 0; i < 64; ++i) sink[2048 + i] = malloc(48 + 16 * (i % 5));
  for (int i = 0; i < 64; i += 3) { free(sink[2048 + i]); sink[2048 + i] = NULL; }
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&done);  // stay alive so the core has two threads
  return NULL;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "nomalloc") == 0) {
    heapscope_stop();
    if (argc > 2 && strcmp(argv[2], "abort") == 0) abort();
    return 0;
  }
  if (strcmp(mode, "big") == 0) {
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    void** keep = malloc(sizeof(void*) * (size_t)n);
    for (long i = 0; i < n; ++i) keep[i] = malloc(16 + 8 * (i % 4));
    for (long i = 0; i < n; i += 7) { free(keep[i]); keep[i] = NULL; }
    heapscope_stop();
    abort();
  }
  pthread_barrier_init(&ready, NULL, 2);
  pthread_barrier_init(&done, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_barrier_wait(&ready);

  for (int i = 0; i < 20; ++i) sink[300 + i] = malloc(1500 + 100 * i);
  for (int i = 0; i < 20; i += 2) { free(sink[300 + i]); sink[300 + i] = NULL; }  // unsorted
  sink[400] = malloc(4000);  // sorts the unsorted chunks into small/large bins
  sink[401] = malloc(1 << 20);  // mmapped
  // Small frees last: a large request would consolidate the fastbins.
  for (int i = 0; i < 200; ++i) sink[i] = malloc(24 + 40 * (i % 7));
  for (int i = 0; i < 200; i += 2) { free(sink[i]); sink[i] = NULL; }   // tcache, then fastbins
  for (int i = 500; i < 510; ++i) sink[i] = malloc(200);
  for (int i = 500; i < 510; i += 2) { free(sink[i]); sink[i] = NULL; }  // unsorted (> fastbin size)
  heapscope_stop();
  if (strcmp(mode, "abort") == 0) abort();
  pthread_barrier_wait(&done);
  pthread_join(t, NULL);
  return 0;
}
