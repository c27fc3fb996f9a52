/* oracle.h: glibc's own view of the heap, printed just before a scenario
 * program dumps core, so that tests can hold heapscope's figures against it.
 *
 * Output (on stdout, between two marker lines):
 *   ORACLE-BEGIN
 *   <malloc version="1"> ... </malloc>      (malloc_info(0, stdout))
 *   mallinfo2 arena=N ordblks=N smblks=N hblks=N hblkhd=N usmblks=N fsmblks=N uordblks=N fordblks=N keepcost=N
 *   ORACLE-END
 *
 * Nothing may allocate between the measurement and the core: stdout is made
 * unbuffered at start (an unbuffered FILE uses its one-byte short buffer and
 * vfprintf's stack buffer, never malloc), and our own lines go through a
 * static buffer and write(2). mallinfo2() is taken before and after
 * malloc_info(); if they differ the heap moved while we measured and we say
 * so with an "ORACLE-UNSTABLE" line, which tests treat as a failure.
 */
#ifndef HEAPSCOPE_EXAMPLES_ORACLE_H
#define HEAPSCOPE_EXAMPLES_ORACLE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread char oracle_line[1024];  /* per thread: threads say() at once */

/* Call first thing in main(), before anything is printed. */
typedef struct mallinfo2 (*oracle_mallinfo2_fn)(void);
static oracle_mallinfo2_fn oracle_mallinfo2_ptr;

static void oracle_init(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
#ifdef ORACLE_STATIC
  /* Linked statically (gcc -static): there is no dynamic symbol to look up. */
  oracle_mallinfo2_ptr = mallinfo2;
#else
  /* Resolved now, before the heap is built (dlsym may allocate). */
  oracle_mallinfo2_ptr = (oracle_mallinfo2_fn)dlsym(RTLD_DEFAULT, "mallinfo2");
#endif
}

/* printf-like, without malloc: snprintf into a static buffer, then write(2).
 * Not thread-safe; threads must not call it concurrently. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(oracle_line, sizeof oracle_line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof oracle_line) n = sizeof oracle_line - 1;
  const char *p = oracle_line;
  while (n > 0) {
    ssize_t w = write(1, p, (size_t)n);
    if (w <= 0) return;
    p += w;
    n -= (int)w;
  }
}

static int mallinfo2_equal(const struct mallinfo2 *a, const struct mallinfo2 *b) {
  return a->arena == b->arena && a->ordblks == b->ordblks && a->smblks == b->smblks &&
         a->hblks == b->hblks && a->hblkhd == b->hblkhd && a->usmblks == b->usmblks &&
         a->fsmblks == b->fsmblks && a->uordblks == b->uordblks &&
         a->fordblks == b->fordblks && a->keepcost == b->keepcost;
}

/* mallinfo2 is glibc 2.33+; a program run against an older libc (the glibc
 * matrix tests) finds it missing and falls back to mallinfo, whose int fields
 * are exact for heaps under 2 GiB. Looked up by name so that the program
 * carries no reference to a symbol version its libc may lack. */
static struct mallinfo2 oracle_mallinfo2(void) {
  if (oracle_mallinfo2_ptr) return oracle_mallinfo2_ptr();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
  struct mallinfo2 m = {(size_t)(unsigned)old.arena,    (size_t)(unsigned)old.ordblks,
                        (size_t)(unsigned)old.smblks,   (size_t)(unsigned)old.hblks,
                        (size_t)(unsigned)old.hblkhd,   (size_t)(unsigned)old.usmblks,
                        (size_t)(unsigned)old.fsmblks,  (size_t)(unsigned)old.uordblks,
                        (size_t)(unsigned)old.fordblks, (size_t)(unsigned)old.keepcost};
  return m;
}

/* Prints the oracle. After this, the caller must not touch the heap. */
static void oracle_print(void) {
  struct mallinfo2 before = oracle_mallinfo2();
  say("ORACLE-BEGIN\n");
  malloc_info(0, stdout);
  struct mallinfo2 m = oracle_mallinfo2();
  say("mallinfo2 arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu "
      "fsmblks=%zu uordblks=%zu fordblks=%zu keepcost=%zu\n",
      m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks,
      m.fordblks, m.keepcost);
  if (!mallinfo2_equal(&before, &m)) say("ORACLE-UNSTABLE heap changed while measuring\n");
  say("ORACLE-END\n");
}

/* True when argv asks the program to exit normally instead of dumping core
 * (e.g. to run it under valgrind). */
__attribute__((unused)) static int oracle_wants_exit(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--exit") == 0) return 1;
  return 0;
}

/* Says "READY pid=N", then waits for one line on stdin without touching the
 * heap (read(2) on fd 0, no stdio buffers): tests attach while it waits. */
__attribute__((unused)) static void ready_and_wait(void) {
  say("READY pid=%d\n", (int)getpid());
  char c;
  for (;;) {
    ssize_t n = read(0, &c, 1);
    if (n <= 0 || c == '\n') break;
  }
}

/* Prints the oracle, then dumps core (abort) or exits 0. */
__attribute__((unused)) static void oracle_finish(int exit_normally) {
  oracle_print();
  if (exit_normally) {
    say("EXIT\n");
    _exit(0);
  }
  say("ABORT dumping core\n");
  abort();
}

#endif
