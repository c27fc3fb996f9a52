/* jemalloc_oracle.h: jemalloc's own view of its heap, printed just before a
 * jemalloc program dumps core, so that tests can hold heapscope's figures
 * against it.
 *
 * Output (on stdout, between two marker lines):
 *   JEMALLOC-ORACLE-BEGIN
 *   jemalloc version=5.3.0-0-g... allocated=N curregs=N curlextents=N
 *   arena index=I small=N large=N           (per initialised arena)
 *   JEMALLOC-ORACLE-END
 * allocated is mallctl("stats.allocated"); curregs sums the bins' current
 * regions and curlextents the large classes' current extents, over all
 * arenas (MALLCTL_ARENAS_ALL), after mallctl("epoch") refreshed them. Every
 * thread flushes its tcache (jemalloc_flush_tcache) before: a region in a
 * thread cache is allocated for jemalloc's counters but free for the program.
 * Lines go through oracle.h's say() (a static buffer and write(2)): nothing
 * here allocates.
 * Built with JEMALLOC_ORACLE_PRELOADED, a program links no jemalloc and finds
 * mallctl at run time: it runs with LD_PRELOAD=libjemalloc.so.2.
 */
#ifndef HEAPSCOPE_EXAMPLES_JEMALLOC_ORACLE_H
#define HEAPSCOPE_EXAMPLES_JEMALLOC_ORACLE_H

#include <jemalloc/jemalloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle.h"  /* say(): formats and writes without malloc */

#ifdef JEMALLOC_ORACLE_PRELOADED
#include <dlfcn.h>
typedef int (*je_mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void (*je_stats_print_fn)(void (*)(void *, const char *), void *, const char *);
/* Looked up once, at the first call (a worker's tcache flush), not while measuring. */
static int je_ctl(const char *name, void *old, size_t *oldlen, void *new_value, size_t newlen) {
  static je_mallctl_fn fn;
  if (!fn) fn = (je_mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
  return fn ? fn(name, old, oldlen, new_value, newlen) : -1;
}
static void je_stats_print(void (*write_cb)(void *, const char *), void *arg, const char *opts) {
  je_stats_print_fn fn = (je_stats_print_fn)dlsym(RTLD_DEFAULT, "malloc_stats_print");
  if (fn) fn(write_cb, arg, opts);
}
#else
#define je_ctl mallctl
#define je_stats_print malloc_stats_print
#endif

/* malloc_stats_print writes to stderr by default: the report goes with the oracle. */
static void je_write_stdout(void *unused, const char *s) {
  (void)unused;
  for (size_t n = strlen(s); n > 0;) {  /* say()'s line holds 1 KiB: the report comes in pieces */
    int piece = n > 512 ? 512 : (int)n;
    say("%.*s", piece, s);
    s += piece;
    n -= (size_t)piece;
  }
}

/* Set by a program run with "keep-tcache": nobody flushes, so the thread
 * caches hold what was freed last and jemalloc's allocated counts them. */
static int jemalloc_keep_tcache;

static void jemalloc_flush_tcache(void) {
  if (jemalloc_keep_tcache) return;
  if (je_ctl("thread.tcache.flush", NULL, NULL, NULL, 0) != 0) say("JEMALLOC-ORACLE-ERROR tcache.flush\n");
}

static size_t je_read_size(const char *name) {
  size_t v = 0, len = sizeof v;
  if (je_ctl(name, &v, &len, NULL, 0) != 0) say("JEMALLOC-ORACLE-ERROR %s\n", name);
  return v;
}

static unsigned je_read_unsigned(const char *name) {
  unsigned v = 0;
  size_t len = sizeof v;
  if (je_ctl(name, &v, &len, NULL, 0) != 0) say("JEMALLOC-ORACLE-ERROR %s\n", name);
  return v;
}

/* Sum of a per-class counter (curregs, curlextents) of one arena index. */
static size_t je_sum_classes(unsigned arena, const char *what, unsigned nclasses, const char *family) {
  char name[128];
  size_t sum = 0;
  for (unsigned i = 0; i < nclasses; i++) {
    snprintf(name, sizeof name, "stats.arenas.%u.%s.%u.%s", arena, family, i, what);
    sum += je_read_size(name);
  }
  return sum;
}

static void jemalloc_oracle_print(void) {
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  je_ctl("epoch", &epoch, &len, &epoch, len);
  const char *version = NULL;
  len = sizeof version;
  je_ctl("version", &version, &len, NULL, 0);
  unsigned nbins = je_read_unsigned("arenas.nbins"), nlextents = je_read_unsigned("arenas.nlextents");
  unsigned narenas = je_read_unsigned("arenas.narenas");
  say("JEMALLOC-ORACLE-BEGIN\n");
  say("jemalloc version=%s allocated=%zu curregs=%zu curlextents=%zu\n", version ? version : "?",
         je_read_size("stats.allocated"), je_sum_classes(MALLCTL_ARENAS_ALL, "curregs", nbins, "bins"),
         je_sum_classes(MALLCTL_ARENAS_ALL, "curlextents", nlextents, "lextents"));
  for (unsigned a = 0; a < narenas; a++) {
    char name[128];
    bool initialized = false;
    size_t blen = sizeof initialized;
    snprintf(name, sizeof name, "arena.%u.initialized", a);
    if (je_ctl(name, &initialized, &blen, NULL, 0) != 0 || !initialized) continue;
    snprintf(name, sizeof name, "stats.arenas.%u.small.allocated", a);
    size_t small = je_read_size(name);
    snprintf(name, sizeof name, "stats.arenas.%u.large.allocated", a);
    say("arena index=%u small=%zu large=%zu\n", a, small, je_read_size(name));
  }
  say("JEMALLOC-ORACLE-END\n");
}

/* jemalloc's own per-arena report (it allocates its buffer and frees it:
 * printed first), the calling thread's tcache flushed again, then the
 * oracle. Other threads must have flushed theirs and be parked. */
static void jemalloc_oracle_report(void) {
  jemalloc_flush_tcache();
  say("JEMALLOC-STATS-BEGIN\n");
  je_stats_print(je_write_stdout, NULL, "gmdblxeh");
  say("JEMALLOC-STATS-END\n");
  jemalloc_flush_tcache();
  jemalloc_oracle_print();
}

/* The report, then a core. */
static void jemalloc_oracle_and_abort(void) {
  jemalloc_oracle_report();
  abort();
}

/* The report, then READY and a wait for a line on stdin (a live stop). */
__attribute__((unused)) static void jemalloc_oracle_and_wait(void) {
  jemalloc_oracle_report();
  say("READY\n");
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {
  }
  _exit(0);
}

#endif
