/* live_sparse: a process whose virtual size is far above what is resident,
 * for `heapscope --pid`: what heapscope costs must follow the heap and the
 * resident memory, not the mappings' sizes.
 *
 *   live_sparse [--untouched GIB] [--threads N]
 *
 * Builds a small heap (a few thousand chunks, one in ten leaked), maps GIB
 * GiB of anonymous read-write memory and touches one page of it (which holds
 * the only pointer to one chunk, so a scan that skips the mapping's populated
 * page would call it leaked), and starts N threads that wait on a condition
 * variable (8 MiB stacks each, a few pages used). A ticker thread reads the
 * monotonic clock every millisecond and keeps the longest gap: the time the
 * process was stopped. Prints "READY pid=N", then answers each line on
 * stdin: "gap" prints "GAP us=N" (the longest gap since the previous
 * question) and an empty line or end of input exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int64_t longest_gap_ns;
static volatile int64_t last_tick_ns;

void *kept[4096]; /* a root for the chunks that are not leaked */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *idle_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) pthread_cond_wait(&never, &mu);
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  last_tick_ns = now_ns();
  for (;;) {
    struct timespec one_ms = {0, 1000000};
    nanosleep(&one_ms, NULL);
    int64_t t = now_ns();
    if (t - last_tick_ns > longest_gap_ns) longest_gap_ns = t - last_tick_ns;
    last_tick_ns = t;
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  unsigned long gib = 0, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--untouched") == 0) gib = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--threads") == 0) threads = strtoul(argv[i + 1], NULL, 10);
  }
  for (int i = 0; i < 4096; ++i) {
    void *p = malloc(32 + (size_t)(i % 17) * 16);
    memset(p, 0x11, 16);
    if (i % 10 != 0) kept[i] = p; /* one in ten is leaked */
  }
  if (gib) {
    size_t size = (size_t)gib << 30;
    char *big = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (big == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    /* The one populated page, in the middle: the only pointer to kept[1]. */
    void **slot = (void **)(big + size / 2 + 4096 * 3 + 64);
    *slot = kept[1];
    kept[1] = NULL;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8 << 20);
  for (unsigned long i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, idle_thread, NULL) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  pthread_t tick;
  pthread_create(&tick, NULL, ticker, NULL);
  usleep(20000);
  longest_gap_ns = 0;
  printf("READY pid=%d\n", (int)getpid());
  char line[64];
  while (fgets(line, sizeof line, stdin) && line[0] != '\n') {
    if (strncmp(line, "gap", 3) == 0) {
      /* A gap still open counts too: on a busy machine the ticker may not
       * have run yet since the process was let go. */
      int64_t gap = longest_gap_ns, open = now_ns() - last_tick_ns;
      printf("GAP us=%lld\n", (long long)((open > gap ? open : gap) / 1000));
      longest_gap_ns = 0;
    }
  }
  printf("BYE\n");
  return 0;
}
