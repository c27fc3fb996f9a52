/* mimalloc_exited: a thread that ended leaves its blocks behind. A worker
 * allocates blocks of many sizes (and one of a page of its own), frees every
 * other one, records what it kept (mi_usable_size: mimalloc's block size)
 * and returns; mimalloc abandons its segments (no heap owns them any more,
 * and mi_heap_visit_blocks cannot reach them). The main thread joins it,
 * allocates nothing after, walks its own heap with mi_heap_visit_blocks and
 * prints, without allocating:
 *   MIMALLOC-ORACLE-BEGIN
 *   mimalloc version=209 visited_blocks=N visited_bytes=N exited_blocks=N exited_bytes=N
 *   MIMALLOC-ORACLE-END
 * then dumps core. Build: cc mimalloc_exited.c -lmimalloc -lpthread. */
#include <mimalloc.h>
#include <pthread.h>
#include <stdbool.h>

#include "oracle.h" /* say(): formats and writes without malloc */

enum { kBlocks = 1000 };

static void *kept[kBlocks + 1];
static size_t exited_blocks, exited_bytes, visited_blocks, visited_bytes;

static bool count_block(const mi_heap_t *heap, const mi_heap_area_t *area, void *block, size_t block_size,
                        void *arg) {
  (void)heap, (void)area, (void)arg;
  if (block) visited_blocks++, visited_bytes += block_size;
  return true;
}

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < kBlocks; i++) kept[i] = malloc(16 + (size_t)(i % 50) * 24);
  kept[kBlocks] = malloc(300000);
  for (int i = 0; i < kBlocks; i += 2) {
    free(kept[i]);
    kept[i] = NULL;
  }
  for (int i = 0; i <= kBlocks; i++)
    if (kept[i]) exited_blocks++, exited_bytes += mi_usable_size(kept[i]);
  return NULL;
}

int main(void) {
  oracle_init();
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  mi_heap_visit_blocks(mi_heap_get_default(), true, count_block, NULL);
  say("MIMALLOC-ORACLE-BEGIN\n");
  say("mimalloc version=%d visited_blocks=%zu visited_bytes=%zu exited_blocks=%zu exited_bytes=%zu\n", mi_version(),
      visited_blocks, visited_bytes, exited_blocks, exited_bytes);
  say("MIMALLOC-ORACLE-END\n");
  abort();
}
