/* try_free: pointers that glibc's free() treats each its own way, and what
 * the real free() did with each, then a core of the untouched heap.
 *
 * For every case a forked child (a copy of this heap) calls free() on the
 * pointer: glibc's abort message comes back through the child's stderr, a
 * crash as its signal, and a free that returns is classed by mallinfo2()
 * before and after (tcache chunks count as in use: nothing moves; a fastbin
 * chunk adds to smblks; top grows keepcost; unsorted adds to fordblks;
 * munmap lowers hblks). Each line is
 *     CASE name 0xPOINTER RESULT
 * with RESULT tcache|fast|unsorted|top|munmap|nothing|crash|abort:MESSAGE.
 * Then the parent, whose heap no free() touched, aborts and dumps core, and
 * `heap try-free 0xPOINTER` on that core must say the same.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* mallinfo2 (glibc 2.33+), else mallinfo: looked up at run time so that the
 * program also runs on older releases (the glibc matrix). */
typedef struct mallinfo2 (*mallinfo2_fn)(void);
static mallinfo2_fn g_mallinfo2;

static struct mallinfo2 info(void) {
  if (g_mallinfo2) return g_mallinfo2();
  struct mallinfo m = mallinfo();
  struct mallinfo2 r;
  memset(&r, 0, sizeof r);
  r.arena = (size_t)m.arena, r.ordblks = (size_t)m.ordblks, r.smblks = (size_t)m.smblks;
  r.hblks = (size_t)m.hblks, r.fordblks = (size_t)m.fordblks, r.keepcost = (size_t)m.keepcost;
  return r;
}

static void *guard(void) { return malloc(0x108); } /* keeps neighbours apart */

static const char *classify(const struct mallinfo2 *a, const struct mallinfo2 *b) {
  if (b->hblks < a->hblks) return "munmap";
  if (b->smblks > a->smblks) return "fast";
  if (b->keepcost > a->keepcost) return "top";
  if (b->ordblks != a->ordblks || b->fordblks != a->fordblks) return "unsorted";
  return "tcache";
}

static void oracle(const char *name, void *p) {
  int fds[2];
  if (pipe(fds) != 0) abort();
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* the children's deaths are answers, not cores */
    dup2(fds[1], 2);
    close(fds[0]);
    struct mallinfo2 before = info();
    free(p);
    struct mallinfo2 after = info();
    const char *r = p ? classify(&before, &after) : "nothing";
    if (write(fds[1], "RESULT ", 7) < 0 || write(fds[1], r, strlen(r)) < 0) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  char buf[512];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof buf - 1 && (got = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)got;
  buf[n] = 0;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  char *nl = strchr(buf, '\n');
  if (nl) *nl = 0;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
    printf("CASE %s %p abort:%s\n", name, p, buf);
  else if (WIFSIGNALED(status))
    printf("CASE %s %p crash\n", name, p);
  else
    printf("CASE %s %p %s\n", name, p, buf + 7);
}

/* A fake chunk header inside an in-use buffer: its user pointer. */
static void *fake_chunk(char *at, size_t size_field) {
  ((size_t *)at)[1] = size_field;
  return at + 16;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer on the heap */
  setenv("LIBC_FATAL_STDERR_", "1", 1);
  g_mallinfo2 = (mallinfo2_fn)dlsym(RTLD_DEFAULT, "mallinfo2");

  void *in_use = malloc(0x18);
  guard();

  /* Size 0x40: tcache bin 2 full, then one more in use. */
  void *fast[8];
  for (int i = 0; i < 8; ++i) {
    fast[i] = malloc(0x38);
    guard();
  }
  for (int i = 0; i < 7; ++i) free(fast[i]);

  /* Size 0xa0 (above the fastbins): tcache bin 8 full, one in use, one freed to unsorted. */
  void *unsorted[9];
  for (int i = 0; i < 9; ++i) {
    unsorted[i] = malloc(0x98);
    guard();
  }
  for (int i = 0; i < 7; ++i) free(unsorted[i]);

  /* Size 0x70: tcache bin 5 full, the eighth at the top of fastbin 5. */
  void *fasttop[8];
  for (int i = 0; i < 8; ++i) {
    fasttop[i] = malloc(0x68);
    guard();
  }

  void *in_tcache = malloc(0x48);
  guard();
  free(in_tcache);

  /* Two neighbours above tcache's sizes: the first freed, the second would merge with it. */
  void *merge_first = malloc(0x418);
  void *merge_second = malloc(0x418);
  guard();
  free(merge_first);

  void *mapped = malloc(0x40000);
  char *buf = malloc(0x800);
  guard();
  void *bad_size = fake_chunk(buf, 0x18);
  void *next_fast = fake_chunk(buf + 0x40, 0x41); /* its next chunk's size field is 0 */
  memset(buf + 0x80, 0, 16);
  void *next_normal = fake_chunk(buf + 0x100, 0x501);
  ((size_t *)(buf + 0x600))[1] = 0x1;
  void *out = fake_chunk(buf + 0x700, 0x100001);
  void *bad_mapping = fake_chunk(buf + 0x780, 0x1002); /* IS_MMAPPED, prev_size 8: no whole pages */
  ((size_t *)(buf + 0x780))[0] = 8;

  void *at_top = malloc(0x418); /* the last chunk before top */
  void *top_chunk = (char *)at_top + 0x420;
  /* Freed last: a large malloc would consolidate the fastbins and sort the unsorted bin. */
  for (int i = 0; i < 8; ++i) free(fasttop[i]);
  free(unsorted[8]);

  oracle("in_use", in_use);
  oracle("tcache_full_fast", fast[7]);
  oracle("tcache_full_unsorted", unsorted[7]);
  oracle("tcache_double", in_tcache);
  oracle("fasttop_double", fasttop[7]);
  oracle("unsorted_double", unsorted[8]);
  oracle("merge_backward", merge_second);
  oracle("merge_top", at_top);
  oracle("mmapped", mapped);
  oracle("misaligned", (char *)in_use + 8);
  oracle("mmapped_interior", (char *)mapped + 0x1000);
  oracle("bad_mapping", bad_mapping);
  oracle("invalid_size", bad_size);
  oracle("next_size_fast", next_fast);
  oracle("next_size_normal", next_normal);
  oracle("out_of_heap", out);
  oracle("top", top_chunk);
  oracle("garbage", (void *)0x10);
  oracle("null", NULL);
  abort();
}
