/* mimalloc_threads: a mimalloc heap over several threads. The main thread
 * and three workers each allocate blocks of many sizes (small, medium, large
 * pages of one block, and a huge block with a segment of its own), through
 * malloc (mimalloc replaces it when linked or preloaded) and mi_malloc, and
 * free every third small block. Worker 1 also fills pages of 48-byte blocks
 * so that some sit in its heap's full queue. Each thread then walks its own
 * heap with mi_heap_visit_blocks and records the live blocks and their
 * bytes (the visitor's block_size: mimalloc's own notion of a block's size).
 * After every visit the main thread frees some of worker 1's blocks (other
 * threads' frees: they wait on the page's thread_free list or the heap's
 * delayed list) and prints, without allocating:
 *   MIMALLOC-ORACLE-BEGIN
 *   mimalloc version=209 visited_blocks=N visited_bytes=N cross_freed_blocks=N cross_freed_bytes=N
 *   heap thread=I blocks=N bytes=N                 (per thread, 0 = main)
 *   MIMALLOC-ORACLE-END
 * then dumps core. With "live" it prints READY and waits for a line on stdin.
 * Build: cc mimalloc_threads.c -lmimalloc -lpthread (or, with
 * -DMIMALLOC_ORACLE_PRELOADED and no -lmimalloc, run it with
 * LD_PRELOAD=libmimalloc.so.2: the mi_ functions are looked up at start). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "oracle.h" /* say(): formats and writes without malloc */

#ifdef MIMALLOC_ORACLE_PRELOADED
#include <dlfcn.h>
typedef struct mi_heap_s mi_heap_t;
typedef struct mi_heap_area_s mi_heap_area_t;
typedef bool(mi_block_visit_fun)(const mi_heap_t *, const mi_heap_area_t *, void *, size_t, void *);
static bool (*mi_heap_visit_blocks_ptr)(const mi_heap_t *, bool, mi_block_visit_fun *, void *);
static mi_heap_t *(*mi_heap_get_default_ptr)(void);
static size_t (*mi_usable_size_ptr)(const void *);
static int (*mi_version_ptr)(void);
#define mi_heap_visit_blocks mi_heap_visit_blocks_ptr
#define mi_heap_get_default mi_heap_get_default_ptr
#define mi_usable_size mi_usable_size_ptr
#define mi_version mi_version_ptr
#define mi_malloc malloc
static void resolve_mimalloc(void) {
  mi_heap_visit_blocks_ptr = dlsym(RTLD_DEFAULT, "mi_heap_visit_blocks");
  mi_heap_get_default_ptr = dlsym(RTLD_DEFAULT, "mi_heap_get_default");
  mi_usable_size_ptr = dlsym(RTLD_DEFAULT, "mi_usable_size");
  mi_version_ptr = dlsym(RTLD_DEFAULT, "mi_version");
  if (!mi_heap_visit_blocks_ptr || !mi_heap_get_default_ptr || !mi_usable_size_ptr || !mi_version_ptr) {
    say("MIMALLOC-ORACLE-ERROR not preloaded\n");
    abort();
  }
}
#else
#include <mimalloc.h>
static void resolve_mimalloc(void) {}
#endif

enum { kWorkers = 3, kSmall = 600, kMedium = 12, kLarge = 3, kFull = 3000, kCross = 40 };

static pthread_barrier_t built, visited_all;
static void *small[kWorkers + 1][kSmall], *medium[kWorkers + 1][kMedium], *large[kWorkers + 1][kLarge];
static void *huge[kWorkers + 1], *full[kFull];

struct tally {
  size_t blocks, bytes;
};
static struct tally visited[kWorkers + 1];

static bool count_block(const mi_heap_t *heap, const mi_heap_area_t *area, void *block, size_t block_size,
                        void *arg) {
  (void)heap, (void)area;
  struct tally *t = arg;
  if (block) t->blocks++, t->bytes += block_size;  /* NULL: the area itself */
  return true;
}

static void build_heap(int who) {
  static const size_t sizes[] = {8, 16, 24, 40, 64, 100, 200, 500, 1000, 3000, 9000, 14000};
  for (int i = 0; i < kSmall; i++) {
    size_t n = sizes[(i + who) % (sizeof sizes / sizeof sizes[0])];
    small[who][i] = i % 2 ? malloc(n) : mi_malloc(n);
    memset(small[who][i], 'a' + who, n);
  }
  for (int i = 0; i < kSmall; i += 3) {
    free(small[who][i]);
    small[who][i] = NULL;
  }
  for (int i = 0; i < kMedium; i++) medium[who][i] = malloc((size_t)(20000 + 9000 * i + 1000 * who));
  for (int i = 0; i < kLarge; i++) {  /* over 128 KiB: a page of one block */
    large[who][i] = malloc((size_t)(200000 + 300000 * i + 4096 * who));
    memset(large[who][i], 'A' + who, 4096);
  }
  if (who <= 1) {  /* over 16 MiB: a huge segment (touched only at the front) */
    huge[who] = malloc((size_t)(20 << 20) + 4096 * (size_t)who);
    memset(huge[who], 'H', 4096);
  }
  if (who == 1)
    for (int i = 0; i < kFull; i++) full[i] = malloc(48);
  /* Freed again at once: its page goes back to free slices. */
  free(malloc(700000));
}

static void visit_own_heap(int who) {
  mi_heap_visit_blocks(mi_heap_get_default(), true, count_block, &visited[who]);
}

static void *worker(void *arg) {
  int who = (int)(intptr_t)arg;
  build_heap(who);
  pthread_barrier_wait(&built);
  visit_own_heap(who);
  pthread_barrier_wait(&visited_all);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  resolve_mimalloc();
  int live = argc > 1 && strcmp(argv[1], "live") == 0;
  pthread_barrier_init(&built, NULL, kWorkers + 1);
  pthread_barrier_init(&visited_all, NULL, kWorkers + 1);
  pthread_t threads[kWorkers];
  for (int i = 0; i < kWorkers; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1));
  build_heap(0);
  pthread_barrier_wait(&built);
  pthread_barrier_wait(&visited_all);
  visit_own_heap(0);
  /* Other threads' frees, after every visit: worker 1's blocks in full pages
   * and in others, freed here, are free for the program and still `used` for
   * mimalloc's pages. */
  size_t cross_blocks = 0, cross_bytes = 0;
  for (int i = 0; i < kCross; i++) {
    void *p = i % 2 ? full[i * 37] : small[1][3 * i + 1];
    cross_bytes += mi_usable_size(p);
    cross_blocks++;
    free(p);
  }
  size_t blocks = 0, bytes = 0;
  for (int i = 0; i <= kWorkers; i++) blocks += visited[i].blocks, bytes += visited[i].bytes;
  say("MIMALLOC-ORACLE-BEGIN\n");
  say("mimalloc version=%d visited_blocks=%zu visited_bytes=%zu cross_freed_blocks=%zu cross_freed_bytes=%zu\n",
      mi_version(), blocks, bytes, cross_blocks, cross_bytes);
  for (int i = 0; i <= kWorkers; i++) say("heap thread=%d blocks=%zu bytes=%zu\n", i, visited[i].blocks, visited[i].bytes);
  say("MIMALLOC-ORACLE-END\n");
  if (live) {
    say("READY\n");
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {
    }
    _exit(0);
  }
  abort();
}
