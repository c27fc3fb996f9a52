/* growth_heap: a heap that grows by a known amount per step, to watch with
 *   heapscope --pid PID --watch 0.5 --html growth.html heap stats
 *
 * Two threads allocate: main in the main arena, a worker in an arena of its
 * own, so the plot has a line per arena. Each step, main allocates
 * MAIN_BLOCKS blocks of MAIN_SIZE bytes and the worker WORKER_BLOCKS of
 * WORKER_SIZE; nothing is freed until the end. After each step (step 0 is
 * the start, before any) the program prints its own record:
 *   step K main BYTES worker BYTES uordblks U
 * BYTES: the chunk bytes that thread holds live (malloc_usable_size + 8 a
 * block: chunk sizes, headers included, as heap stats counts them);
 * U: glibc's mallinfo2().uordblks at that moment. Then "READY pid=N" once.
 *
 *   growth_heap            a step every 250 ms for 40 steps, then frees it all
 *                          step by step and exits (a plot that rises and falls)
 *   growth_heap --stdin    one step per line read on stdin (a test's handshake:
 *                          between lines it allocates nothing); exits at EOF
 *
 * Output is written with write(2) from a stack buffer: no stdio buffer
 * appears on the heap in the middle of the record.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAIN_BLOCKS = 16, MAIN_SIZE = 4000, WORKER_BLOCKS = 8, WORKER_SIZE = 6000, MAX_STEPS = 1000 };

struct holder {
  void* blocks[MAX_STEPS * MAIN_BLOCKS];
  size_t count;
  size_t live;  // chunk bytes
};

static struct holder main_holder, worker_holder;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int worker_order;  // 0: nothing to do, 1: grow, -1: free one step, 2: quit
static int worker_done;

static size_t chunk_bytes(void* p) { return malloc_usable_size(p) + sizeof(size_t); }

static void grow(struct holder* h, int blocks, size_t size) {
  for (int i = 0; i < blocks; ++i) {
    void* p = malloc(size);
    if (!p) abort();
    memset(p, 0x5a, size);
    h->live += chunk_bytes(p);
    h->blocks[h->count++] = p;
  }
}

static void shrink(struct holder* h, int blocks) {
  for (int i = 0; i < blocks && h->count; ++i) {
    void* p = h->blocks[--h->count];
    h->live -= chunk_bytes(p);
    free(p);
  }
}

static void* worker(void* arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (worker_order == 0) pthread_cond_wait(&changed, &lock);
    int order = worker_order;
    if (order == 1) grow(&worker_holder, WORKER_BLOCKS, WORKER_SIZE);
    if (order == -1) shrink(&worker_holder, WORKER_BLOCKS);
    worker_order = 0;
    worker_done = 1;
    pthread_cond_broadcast(&changed);
    if (order == 2) break;
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

// Hands the worker an order and waits until it has carried it out.
static void tell_worker(int order) {
  pthread_mutex_lock(&lock);
  worker_order = order;
  worker_done = 0;
  pthread_cond_broadcast(&changed);
  while (!worker_done) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
}

static void say(const char* text) {
  size_t n = strlen(text);
  if (write(1, text, n) != (ssize_t)n) exit(1);
}

static void record(int step) {
  struct mallinfo2 m = mallinfo2();
  char line[160];
  snprintf(line, sizeof line, "step %d main %zu worker %zu uordblks %zu\n", step, main_holder.live,
           worker_holder.live, m.uordblks);
  say(line);
}

// One line from stdin with read(2); 0 at end of file.
static int read_line(void) {
  char c;
  ssize_t r;
  while ((r = read(0, &c, 1)) == 1)
    if (c == '\n') return 1;
  return 0;
}

static void step(int k, int direction) {
  if (direction > 0) grow(&main_holder, MAIN_BLOCKS, MAIN_SIZE);
  else shrink(&main_holder, MAIN_BLOCKS);
  tell_worker(direction);
  record(k);
}

int main(int argc, char** argv) {
  int from_stdin = argc > 1 && strcmp(argv[1], "--stdin") == 0;
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
  // The worker's first malloc makes its arena and its tcache: do it now,
  // before step 0, so steps only add blocks.
  tell_worker(1);
  tell_worker(-1);
  record(0);
  char ready[64];
  snprintf(ready, sizeof ready, "READY pid=%d\n", (int)getpid());
  say(ready);
  int k = 0;
  if (from_stdin) {
    while (k + 1 < MAX_STEPS && read_line()) step(++k, 1);
  } else {
    const struct timespec pause = {0, 250 * 1000 * 1000};
    for (int i = 0; i < 40; ++i) {
      nanosleep(&pause, NULL);
      step(++k, 1);
    }
    for (int i = 0; i < 40; ++i) {
      nanosleep(&pause, NULL);
      step(++k, -1);
    }
  }
  tell_worker(2);
  pthread_join(t, NULL);
  return 0;
}
