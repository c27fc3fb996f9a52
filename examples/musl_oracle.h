/* musl_oracle.h: what a musl program still has allocated, printed just
 * before it dumps core, so that tests can hold heapscope's figures to it.
 * musl's malloc (mallocng) has no statistics call: the program records
 * every allocation it keeps (musl_keep) and forgets what it frees
 * (musl_drop); the report sums them.
 *
 * Output (on stdout, between two marker lines):
 *   MUSL-ORACLE-BEGIN
 *   musl live=N requested=BYTES usable=BYTES
 *   MUSL-ORACLE-END
 * requested sums the sizes asked of malloc/realloc/aligned_alloc; usable
 * sums malloc_usable_size() of the same pointers (mallocng keeps the exact
 * size asked, so the two agree unless the heap is damaged). Lines go
 * through snprintf into a static buffer and write(2): nothing here
 * allocates.
 */
#ifndef HEAPSCOPE_EXAMPLES_MUSL_ORACLE_H
#define HEAPSCOPE_EXAMPLES_MUSL_ORACLE_H

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kMuslMaxKept = 1 << 14 };

static struct musl_kept {
  void *p;
  size_t size;
} musl_kept[kMuslMaxKept];
static int musl_nkept;
static pthread_mutex_t musl_kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void musl_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void musl_say(const char *fmt, ...) {
  /* On the stack: a __thread buffer would make a dynamic program's static
   * TLS too big for musl's built-in area, and its loader would calloc it. */
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof line) n = (int)sizeof line - 1;
  for (const char *p = line; n > 0;) {
    ssize_t w = write(1, p, (size_t)n);
    if (w <= 0) return;
    p += w;
    n -= (int)w;
  }
}

/* What the leak programs (leaks_record.h) call with glibc's oracle.h:
 * stdout is written with write(2) here, so there is nothing to set up. */
#define say musl_say
__attribute__((unused)) static void oracle_init(void) {}
__attribute__((unused)) static int oracle_wants_exit(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--exit") == 0) return 1;
  return 0;
}

/* p, of `size` bytes asked for, stays allocated (until musl_drop). */
__attribute__((unused)) static void *musl_keep(void *p, size_t size) {
  if (!p) _exit(1);
  pthread_mutex_lock(&musl_kept_lock);
  if (musl_nkept == kMuslMaxKept) _exit(1);
  musl_kept[musl_nkept].p = p;
  musl_kept[musl_nkept].size = size;
  musl_nkept++;
  pthread_mutex_unlock(&musl_kept_lock);
  return p;
}

/* p is about to be freed (or realloc'd away). */
__attribute__((unused)) static void musl_drop(void *p) {
  pthread_mutex_lock(&musl_kept_lock);
  for (int i = 0; i < musl_nkept; i++) {
    if (musl_kept[i].p == p) {
      musl_kept[i] = musl_kept[--musl_nkept];
      break;
    }
  }
  pthread_mutex_unlock(&musl_kept_lock);
}

__attribute__((unused)) static void musl_oracle_print(void) {
  size_t requested = 0, usable = 0;
  for (int i = 0; i < musl_nkept; i++) {
    requested += musl_kept[i].size;
    usable += malloc_usable_size(musl_kept[i].p);
  }
  musl_say("MUSL-ORACLE-BEGIN\n");
  musl_say("musl live=%d requested=%zu usable=%zu\n", musl_nkept, requested, usable);
  musl_say("MUSL-ORACLE-END\n");
}

/* The report, then a core. */
__attribute__((unused)) static void musl_oracle_and_abort(void) {
  musl_oracle_print();
  abort();
}

/* The report, then READY and a wait for a line on stdin (a live stop). */
__attribute__((unused)) static void musl_oracle_and_wait(void) {
  musl_oracle_print();
  musl_say("READY\n");
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {
  }
  _exit(0);
}

#endif
