/* scenario_frag: a fragmented heap whose figures are known by construction,
 * for `heap frag`, `heap pages` and `heap map`.
 *
 * Main arena (every block is written in full, so its pages are resident):
 *   - tcache bins filled first (7 chunks each of 32, 64 and 208 bytes), so
 *     that what is freed next goes to the fastbins and bins;
 *   - 64 blocks of 208 bytes, every other one freed  -> 32 small-bin chunks
 *   - 16 blocks of 5008 bytes, every other one freed -> 8 large-bin chunks
 *   - 20 blocks of 32 bytes, every other one freed   -> 10 fastbin chunks
 *   - X (32) then Y (8016): Y freed to a large bin, X to a fastbin; they are
 *     neighbours, so malloc_trim's consolidation merges them
 *   - 4 blocks of 3008 bytes, the 1st and 3rd freed last -> 2 unsorted chunks
 *   - Z (64 bytes) freed to a fastbin right below top: consolidation merges
 *     it into top
 * A second thread makes arena 1: 12 blocks of 6016 bytes, every other one
 * freed (6 unsorted chunks), and 7 chunks of 112 bytes in its tcache; then it
 * waits, blocked, until the process ends.
 *
 * Output: one "FREE class=C arena=A addr=0x... size=N" line per free chunk
 * it made, "TOP arena=0 addr=0x... size=N" (sbrk(0) - mallinfo2().keepcost,
 * keepcost), then the oracle (malloc_info, mallinfo2).
 *   ./scenario_frag          then abort()s (core)
 *   ./scenario_frag --exit   then exits 0
 *   ./scenario_frag --live   prints "READY pid=N", waits for a line on stdin,
 *                            calls malloc_trim(0) and prints
 *                            "TRIMMED brk_before=0x... brk_after=0x... result=R",
 *                            then "READY2", waits for a line, prints "BYE".
 */
#include <pthread.h>

#include "oracle.h"

#define KEEP 4096
static void *keep[KEEP];
static int nkeep;

static void *block(size_t n) {
  void *p = malloc(n);
  if (!p) {
    say("malloc(%zu) failed\n", n);
    _exit(1);
  }
  memset(p, 0x5A, n); /* every page of the block becomes resident */
  if (nkeep < KEEP) keep[nkeep++] = p;
  return p;
}

/* Chunk size of a request (x86-64). */
static size_t csize(size_t n) {
  size_t s = (n + 8 + 15) & ~(size_t)15;
  return s < 32 ? 32 : s;
}

struct freed {
  const char *cls;
  int arena;
  void *p;
  size_t size;
};
static struct freed freed[512];
static int nfreed;

static void release(void *p, size_t request, const char *cls, int arena) {
  freed[nfreed++] = (struct freed){cls, arena, p, csize(request)};
  free(p);
}

/* ---- arena 1 */
static int thread_pipe[2];
static int ready_pipe[2];

static void *thread_main(void *arg) {
  (void)arg;
  void *t[12], *c[7];
  for (int i = 0; i < 12; ++i) t[i] = block(6000);
  for (int i = 0; i < 7; ++i) c[i] = block(100);
  for (int i = 0; i < 7; ++i) release(c[i], 100, "tcache", 1);
  for (int i = 0; i < 12; i += 2) release(t[i], 6000, "unsorted", 1);
  char x = 1;
  if (write(ready_pipe[1], &x, 1) != 1) _exit(1);
  for (;;) /* blocked until the process ends */
    if (read(thread_pipe[0], &x, 1) <= 0) break;
  return NULL;
}

static void wait_line(void) {
  char c;
  for (;;) {
    ssize_t n = read(0, &c, 1);
    if (n <= 0 || c == '\n') break;
  }
}

int main(int argc, char **argv) {
  oracle_init();
  int live = argc > 1 && strcmp(argv[1], "--live") == 0;
  int exit_normally = oracle_wants_exit(argc, argv);

  /* Arena 1 first, so that the main thread's heap is built afterwards. */
  if (pipe(thread_pipe) || pipe(ready_pipe)) return 1;
  pthread_t th;
  if (pthread_create(&th, NULL, thread_main, NULL)) return 1;
  char x;
  if (read(ready_pipe[0], &x, 1) != 1) return 1;

  /* Fillers for the tcache bins, allocated first, freed later. */
  void *fill32[7], *fill64[7], *fill208[7];
  for (int i = 0; i < 7; ++i) fill32[i] = block(24);
  for (int i = 0; i < 7; ++i) fill64[i] = block(56);
  for (int i = 0; i < 7; ++i) fill208[i] = block(200);

  void *small[64], *large[16], *fast[20], *u[4];
  for (int i = 0; i < 64; ++i) small[i] = block(200);
  for (int i = 0; i < 16; ++i) large[i] = block(5000);
  for (int i = 0; i < 20; ++i) fast[i] = block(24);
  void *X = block(24);
  void *Y = block(8000);
  block(100); /* guard */
  for (int i = 0; i < 4; ++i) u[i] = block(3000);
  block(100); /* guard */
  void *Z = block(56);

  for (int i = 0; i < 7; ++i) release(fill32[i], 24, "tcache", 0);
  for (int i = 0; i < 7; ++i) release(fill64[i], 56, "tcache", 0);
  for (int i = 0; i < 7; ++i) release(fill208[i], 200, "tcache", 0);
  for (int i = 0; i < 64; i += 2) release(small[i], 200, "small", 0);
  for (int i = 0; i < 16; i += 2) release(large[i], 5000, "large", 0);
  release(Y, 8000, "large", 0);
  /* A large request sorts the unsorted chunks into their bins and is cut
   * from top; freed, it goes back into top. No fast chunk exists yet (a
   * large request would consolidate them). */
  void *sorter = malloc(20000);
  free(sorter);
  for (int i = 0; i < 20; i += 2) release(fast[i], 24, "fast", 0);
  release(X, 24, "fast", 0);
  release(Z, 56, "fast", 0);
  release(u[0], 3000, "unsorted", 0);
  release(u[2], 3000, "unsorted", 0);

  struct mallinfo2 mi = mallinfo2();
  char *brk = sbrk(0);
  for (int i = 0; i < nfreed; ++i)
    say("FREE class=%s arena=%d addr=%p size=%zu\n", freed[i].cls, freed[i].arena,
        (void *)((char *)freed[i].p - 16), freed[i].size);
  say("TOP arena=0 addr=%p size=%zu\n", (void *)(brk - mi.keepcost), mi.keepcost);

  if (!live) oracle_finish(exit_normally);

  oracle_print();
  say("READY pid=%d\n", (int)getpid());
  wait_line();
  char *before = sbrk(0);
  int r = malloc_trim(0);
  char *after = sbrk(0);
  say("TRIMMED brk_before=%p brk_after=%p result=%d\n", (void *)before, (void *)after, r);
  say("READY2\n");
  wait_line();
  say("BYE\n");
  return 0;
}
