/* other_malloc: allocates with whatever malloc the process has (glibc's, or
 * one preloaded or linked: jemalloc, tcmalloc, mimalloc; or musl's when
 * built with musl-gcc), then aborts (core).
 *   ./other_malloc              malloc only
 *   ./other_malloc glibc-too    also allocates from glibc's own heap
 *                               (__libc_malloc) and prints glibc's figures
 *   ./other_malloc info         prints malloc_info, which sets glibc's
 *                               main arena up without allocating from it
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __GLIBC__
#include "../../../examples/oracle.h"
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
#endif

static void *keep[64];

int main(int argc, char **argv) {
  int glibc_too = argc > 1 && strcmp(argv[1], "glibc-too") == 0;
#ifdef __GLIBC__
  if (glibc_too) oracle_init();
#endif
  for (int i = 0; i < 64; ++i) {
    keep[i] = malloc(24 + 40 * (size_t)i);
    memset(keep[i], i, 8);
  }
  for (int i = 0; i < 64; i += 4) free(keep[i]);
#ifdef __GLIBC__
  if (glibc_too) {
    static void *g[16];
    for (int i = 0; i < 16; ++i) g[i] = __libc_malloc(100 + 200 * (size_t)i);
    for (int i = 0; i < 16; i += 3) __libc_free(g[i]);
    oracle_print();
  }
  if (argc > 1 && strcmp(argv[1], "info") == 0) malloc_info(0, stdout);
#endif
  (void)glibc_too;
  write(1, "ABORT\n", 6);
  abort();
}
