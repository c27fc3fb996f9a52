/* mems_leaks: MeMS segments and pool blocks leaked in every way `mems leaks`
 * tells apart, each one known.
 *   - a reachable 1 MiB segment (global, virtual address) first, so the
 *     virtual addresses of what follows are large numbers
 *   - two direct leaks: a segment, and a pool block
 *   - a leaked linked structure: a segment holding the virtual address of a
 *     second segment, which holds the physical address of a pool block,
 *     which points to another block: the first direct, the other 3 indirect
 *   - a leaked cycle of two pool blocks: the lower one direct, the other
 *     indirect
 *   - a segment held only by a global holding its virtual address + 40 (an
 *     interior pointer), and the block it points to: both possible
 *   - a segment and a block held only through a malloc'ed struct that a
 *     global points to: reachable, not leaked
 *   - a segment held by main's stack through its physical address: reachable
 *   - a leaked segment whose only pointers are stale: in a freed malloc'ed
 *     chunk and in a freed pool block: direct
 *   - leaks across the two heaps: a leaked malloc'ed struct (direct) holding
 *     a segment's virtual address (indirect), and a leaked segment (direct)
 *     holding the only pointer to a malloc'ed chunk (indirect)
 * It prints each leak (leaks_record.h, with MLEAK lines):
 *   MLEAK segment <class> 0x<virtual ^ mask> <function that allocated it>
 *   MLEAK block <class> 0x<address ^ mask>
 *   LEAK <class> 0x<malloc'ed data address ^ mask>    (glibc's heap)
 * then aborts (core), or with --exit exits 0.
 */
#include <stdlib.h>

#include "leaks_record.h"
#include "mems.h"

struct holder {
  long tag;
  void *segment;  /* MeMS virtual address */
  void *block;    /* pool block */
};

static void *g_big;            /* reachable: virtual address of the 1 MiB segment */
static char *g_interior;       /* virtual address 40 bytes into a segment: possible */
static struct holder *g_held;  /* malloc'ed; holds a segment and a block: reachable */

static void *must(void *p) {
  if (!p) _exit(1);
  return p;
}

/* Writes value at offset off of the segment whose virtual address is v. */
static void put(void *v, size_t off, const void *value) {
  char *phys = must(mems_get(v));
  memcpy(phys + off, &value, sizeof value);
}

static void mleak_segment(const char *cls, const void *v, const char *site) {
  say("MLEAK segment %s %#llx %s\n", cls, masked(v), site);
}

static void mleak_block(const char *cls, const void *p) { say("MLEAK block %s %#llx\n", cls, masked(p)); }

__attribute__((noinline)) static void make_reachable(void) {
  g_big = must(mems_malloc(1 << 20));
  g_held = must(malloc(sizeof *g_held));
  g_held->tag = 7;
  g_held->segment = must(mems_malloc(3000));
  g_held->block = must(mems_pool_alloc(48));
  memset(g_held->block, 'H', 48);
}

__attribute__((noinline)) static void leak_direct(void) {
  void *v = must(mems_malloc(5000));
  memset(must(mems_get(v)), 'D', 5000);
  mleak_segment("direct", v, "leak_direct");
  void *b = must(mems_pool_alloc(100));
  memset(b, 'd', 100);
  mleak_block("direct", b);
}

__attribute__((noinline)) static void leak_structure(void) {
  void *top = must(mems_malloc(2000));
  void *second = must(mems_malloc(700));
  void *b1 = must(mems_pool_alloc(64));
  void *b2 = must(mems_pool_alloc(200));
  memset(b1, 0, 64);
  memset(b2, 'x', 200);
  put(top, 16, second);                      /* virtual address */
  put(second, 0, must(mems_get(second)));    /* itself: a self edge */
  put(second, 8, b1);                        /* physical address of a block */
  memcpy((char *)b1 + 8, &b2, sizeof b2);
  mleak_segment("direct", top, "leak_structure");
  mleak_segment("indirect", second, "leak_structure");
  mleak_block("indirect", b1);
  mleak_block("indirect", b2);
}

__attribute__((noinline)) static void leak_cycle(void) {
  void *a = must(mems_pool_alloc(32));
  void *b = must(mems_pool_alloc(32));
  memcpy(a, &b, sizeof b);
  memcpy(b, &a, sizeof a);
  void *lo = a < b ? a : b, *hi = a < b ? b : a;
  mleak_block("direct", lo);
  mleak_block("indirect", hi);
}

__attribute__((noinline)) static void keep_by_interior(void) {
  void *v = must(mems_malloc(400));
  void *b = must(mems_pool_alloc(16));
  memset(b, 'i', 16);
  put(v, 0, b);
  g_interior = (char *)v + 40;
  mleak_segment("possible", v, "keep_by_interior");
  mleak_block("possible", b);
}

__attribute__((noinline)) static void leak_with_stale_pointers(void) {
  void *victim = must(mems_malloc(1200));
  mleak_segment("direct", victim, "leak_with_stale_pointers");
  /* A freed malloc'ed chunk (tcache keeps its first 16 bytes) and a freed
   * pool block (its first 8 bytes are the free list) holding the victim. */
  void **chunk = must(malloc(64));
  memset(chunk, 0, 64);
  chunk[3] = victim;
  free(chunk);
  void **block = must(mems_pool_alloc(64));
  memset(block, 0, 64);
  block[2] = must(mems_get(victim));
  mems_pool_free(block);
}

__attribute__((noinline)) static void leak_across_heaps(void) {
  struct holder *h = must(malloc(sizeof *h));
  h->tag = 9;
  h->segment = must(mems_malloc(900));
  h->block = NULL;
  leak_record("direct", h, NULL);
  mleak_segment("indirect", h->segment, "leak_across_heaps");
  void *v = must(mems_malloc(600));
  long *chunk = must(malloc(40));
  memset(chunk, 'c', 40);
  put(v, 24, chunk);
  mleak_segment("direct", v, "leak_across_heaps");
  leak_record("indirect", chunk, NULL);
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  if (mems_init() != 0) return 1;
  leak_mask_line();
  make_reachable();
  void *volatile on_stack = must(mems_get(must(mems_malloc(256))));  /* physical, main's frame */
  memset(on_stack, 'S', 256);
  leak_direct();
  leak_structure();
  leak_cycle();
  keep_by_interior();
  leak_with_stale_pointers();
  leak_across_heaps();
  wipe_stack();
  say("LEAKS-END\n");
  if (exit_normally) _exit(0);
  abort();
}
