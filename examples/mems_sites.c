/* mems_sites: MeMS segments allocated from distinct functions, each with one
 * mems_malloc call, so each function is one allocation site, the return
 * address MeMS records in the segment (heap sites --allocator mems).
 *   reserve_space   1 segment of 1 MiB first, kept, so the MeMS virtual
 *                   addresses of what follows are large numbers (no small
 *                   integer in memory looks like a pointer into them)
 *   load_table      3 segments (1000, 3000 and 250 bytes), kept
 *   parse_line      called 5 times: 40 bytes each, kept
 *   make_buffers    2 segments of 7000 bytes, one freed again
 *   leak_scratch    2 segments of 500 bytes, leaked (direct)
 *   make_objects    4 pool blocks of 64 bytes (pool blocks keep no site)
 * It prints its own record (through write(2)), sizes rounded up to 16 as
 * MeMS rounds a segment:
 *   SITE <function> <live segments> <bytes>
 *   LEAKED <function> <segments> <bytes>
 *   SEG <function> <sequence number> 0x<physical address>   per kept segment
 *   BLOCK 0x<address>                                        per pool block
 * then aborts (core), or with --exit exits 0. A malloc'ed chunk keeps a
 * glibc heap beside the MeMS one.
 */
#include <stdlib.h>

#include "leaks_record.h"
#include "mems.h"

#define MAX_SITES 8
#define MAX_KEPT 16

struct site {
  const char *function;
  unsigned long long live, live_bytes, leaked, leaked_bytes;
};

static struct site g_sites[MAX_SITES];
static int g_site_count;
static void *g_kept[MAX_KEPT];      /* MeMS virtual addresses: reachable */
static const char *g_kept_by[MAX_KEPT];
static unsigned long long g_kept_seq[MAX_KEPT];
static int g_kept_count;
static void *g_blocks[4];
static void *g_glibc;
static unsigned long long g_seq;   /* MeMS numbers PROCESS segments from 1 */

static unsigned long long rounded(size_t size) { return (size + 15) / 16 * 16; }

static struct site *site_of(const char *function) {
  for (int i = 0; i < g_site_count; i++)
    if (strcmp(g_sites[i].function, function) == 0) return &g_sites[i];
  g_sites[g_site_count].function = function;
  return &g_sites[g_site_count++];
}

static void *must(void *p) {
  if (!p) _exit(1);
  return p;
}

/* Records a segment mems_malloc just made in `function`. */
static void *made(const char *function, void *v, size_t size, int keep) {
  ++g_seq;
  memset(must(mems_get(must(v))), 'M', size);
  struct site *s = site_of(function);
  s->live++;
  s->live_bytes += rounded(size);
  if (keep) {
    g_kept_by[g_kept_count] = function;
    g_kept_seq[g_kept_count] = g_seq;
    g_kept[g_kept_count++] = v;
  } else {
    s->leaked++;
    s->leaked_bytes += rounded(size);
  }
  return v;
}

static void dropped(const char *function, void *v, size_t size) {
  struct site *s = site_of(function);
  s->live--;
  s->live_bytes -= rounded(size);
  g_kept_count--;
  if (mems_free(v) != 0) _exit(1);
}

__attribute__((noinline)) static void reserve_space(void) { made("reserve_space", mems_malloc(1 << 20), 1 << 20, 1); }

__attribute__((noinline)) static void load_table(void) {
  static const size_t sizes[] = {1000, 3000, 250};
  for (int i = 0; i < 3; i++) made("load_table", mems_malloc(sizes[i]), sizes[i], 1);
}

__attribute__((noinline)) static void parse_line(void) { made("parse_line", mems_malloc(40), 40, 1); }

__attribute__((noinline)) static void make_buffers(void) {
  void *a = made("make_buffers", mems_malloc(7000), 7000, 1);
  (void)a;
  void *b = made("make_buffers", mems_malloc(7000), 7000, 1);
  dropped("make_buffers", b, 7000);
}

__attribute__((noinline)) static void leak_scratch(void) {
  for (int i = 0; i < 2; i++) made("leak_scratch", mems_malloc(500), 500, 0);
}

__attribute__((noinline)) static void make_objects(void) {
  for (int i = 0; i < 4; i++) memset(g_blocks[i] = must(mems_pool_alloc(64)), 'P', 64);
}

int main(int argc, char **argv) {
  oracle_init();
  (void)leak_mask_line; /* leaks_record.h's: this program prints its leaks by site, unmasked */
  int exit_normally = oracle_wants_exit(argc, argv);
  if (mems_init() != 0) return 1;
  g_glibc = must(malloc(100));
  reserve_space();
  load_table();
  for (int i = 0; i < 5; i++) parse_line();
  make_buffers();
  leak_scratch();
  make_objects();
  wipe_stack();
  for (int i = 0; i < g_site_count; i++) {
    const struct site *s = &g_sites[i];
    say("SITE %s %llu %llu\n", s->function, s->live, s->live_bytes);
    if (s->leaked) say("LEAKED %s %llu %llu\n", s->function, s->leaked, s->leaked_bytes);
  }
  for (int i = 0; i < g_kept_count; i++)
    say("SEG %s %llu %p\n", g_kept_by[i], g_kept_seq[i], must(mems_get(g_kept[i])));
  for (int i = 0; i < 4; i++) say("BLOCK %p\n", g_blocks[i]);
  if (exit_normally) _exit(0);
  abort();
}
