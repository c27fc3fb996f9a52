/* lldb_scenario: a heap with chunks in every state, for the LLDB tests.
 *   lldb_scenario [SMALL_CHUNKS [wait]]
 * Builds the heap (plus SMALL_CHUNKS extra 24-byte allocations, for the
 * speed test), prints glibc's own figures between ORACLE-BEGIN/ORACLE-END
 * (malloc_info XML and a "mallinfo2 k=v ..." line), then abort()s: a test
 * either lets it dump core or stops it at `abort` in lldb. With "wait" it
 * prints "READY pid=N" instead and blocks reading stdin (for attaching),
 * then exits 0. Output goes through write(2) only, so nothing allocates
 * after the measurement.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char line[1024];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  for (const char *p = line; n > 0;) {
    ssize_t w = write(1, p, (size_t)n);
    if (w <= 0) return;
    p += w;
    n -= (int)w;
  }
}

static void *keep[4096];
static void **many;

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  long extra = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  int k = 0;
  /* The bulk first, so that later frees stay where they were put. */
  if (extra > 0) {
    many = malloc(sizeof(void *) * (size_t)extra);
    for (long i = 0; i < extra; ++i) many[i] = malloc(24);
  }
  /* In use: assorted sizes. */
  for (int i = 0; i < 64; ++i) keep[k++] = malloc(16 + 24 * (size_t)i);
  /* Candidates for the small, large and unsorted bins, each fenced by an
   * in-use chunk so that nothing coalesces. */
  void *sm[4], *lg[3], *u;
  for (int i = 0; i < 4; ++i) { sm[i] = malloc(1100 + 16 * (size_t)i); keep[k++] = malloc(32); }
  for (int i = 0; i < 3; ++i) { lg[i] = malloc(4000 + 512 * (size_t)i); keep[k++] = malloc(32); }
  u = malloc(2000);
  keep[k++] = malloc(32);
  /* Candidates for tcache (7 of each of three sizes) and fastbins (3 more). */
  void *t[3][7], *f[3];
  for (int s = 0; s < 3; ++s)
    for (int i = 0; i < 7; ++i) t[s][i] = malloc(40 + 16 * (size_t)s);
  for (int i = 0; i < 3; ++i) { f[i] = malloc(40); keep[k++] = malloc(32); }
  /* small and large: free, then a request none of them fits sorts them. */
  for (int i = 0; i < 4; ++i) free(sm[i]);
  for (int i = 0; i < 3; ++i) free(lg[i]);
  keep[k++] = malloc(8000);
  /* unsorted: freed last among the big ones, nothing sorts it. */
  free(u);
  /* An mmapped chunk (above the 128 KiB threshold). Before the fastbin
   * frees: a large request consolidates the fastbins first. */
  keep[k++] = malloc(1 << 20);
  /* tcache bins fill first, then the fastbin takes the rest. */
  for (int s = 0; s < 3; ++s)
    for (int i = 0; i < 7; ++i) free(t[s][i]);
  for (int i = 0; i < 3; ++i) free(f[i]);
  struct mallinfo2 before = mallinfo2();
  say("ORACLE-BEGIN\n");
  malloc_info(0, stdout);
  struct mallinfo2 m = mallinfo2();
  say("mallinfo2 arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu "
      "fsmblks=%zu uordblks=%zu fordblks=%zu keepcost=%zu\n",
      m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks,
      m.fordblks, m.keepcost);
  if (memcmp(&before, &m, sizeof m) != 0) say("ORACLE-UNSTABLE heap changed while measuring\n");
  say("ORACLE-END\n");
  if (argc > 2 && strcmp(argv[2], "wait") == 0) {
    say("READY pid=%d\n", (int)getpid());
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {
    }
    say("BYE\n");
    return 0;
  }
  abort();
}
