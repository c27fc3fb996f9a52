/* scenario_anon_maps: glibc's mmapped chunks among other anonymous mappings
 * that are not the heap's, as real programs have (a JIT, a garbage
 * collector's pages, lldb's own caches):
 *   - real mmapped chunks (malloc above the mmap threshold);
 *   - false candidates in a mapping of the program's own: page starts holding
 *     a zero word then a size with IS_MMAPPED set, one whose size is not a
 *     whole number of pages and one that is (only mp_'s count of mmapped
 *     chunks tells it from a real one);
 *   - with --big MIB, an anonymous mapping of MIB MiB, every page written, so
 *     that the core is large and the heap small.
 *   ./scenario_anon_maps [--big MIB]          prints the oracle, then abort()s (core)
 *   ./scenario_anon_maps [--big MIB] --exit   prints the oracle, then exits 0
 */
#include "oracle.h"

#include <stdint.h>
#include <sys/mman.h>

#define NBIG 4
#define PAGE 4096
static void *big[NBIG];
static void *small[16];

/* Maps pages of our own, away from glibc's chunks: PROT_NONE guard pages on
 * both sides keep the kernel from merging them with a neighbour. */
static unsigned char *own_pages(size_t pages) {
  unsigned char *m = mmap(NULL, (pages + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED || mprotect(m + PAGE, pages * PAGE, PROT_READ | PROT_WRITE) != 0) _exit(1);
  return m + PAGE;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  size_t big_mib = 0;
  for (int i = 1; i + 1 < argc; ++i)
    if (strcmp(argv[i], "--big") == 0) big_mib = (size_t)strtoul(argv[i + 1], NULL, 10);

  for (int i = 0; i < 16; ++i) small[i] = malloc(48 + 32 * (size_t)i);
  static const size_t sizes[NBIG] = {200000, 400000, 1 << 20, 150000};
  for (int i = 0; i < NBIG; ++i) {
    big[i] = malloc(sizes[i]);
    if (!big[i]) return 1;
    memset(big[i], 0x5A, 4096);
  }

  /* Four pages; candidates at page starts 1 and 2 (page 0 and 3 stay zero). */
  unsigned char *fake = own_pages(4);
  memset(fake, 0x11, 4 * PAGE);
  uint64_t *odd = (uint64_t *)(fake + PAGE);
  odd[0] = 0;
  odd[1] = (PAGE + 0x1e0) | 2; /* not whole pages, not 2.43's form either */
  uint64_t *whole = (uint64_t *)(fake + 2 * PAGE);
  whole[0] = 0;
  whole[1] = PAGE | 2; /* one whole page: a chunk's shape, but glibc counts no such chunk */
  memset(fake, 0, 16);
  memset(fake + 3 * PAGE, 0, PAGE);

  if (big_mib) {
    size_t n = big_mib << 20;
    unsigned char *b = own_pages(n / PAGE);
    for (size_t off = 0; off < n; off += PAGE) memset(b + off, (int)(0x40 + off / PAGE % 64), PAGE);
  }

  int count = 0;
  size_t bytes = 0;
  for (int i = 0; i < NBIG; ++i) {
    size_t raw = ((size_t *)big[i])[-1];
    say("EXPECT mmapped address=%p size=%zu mmapped_bit=%d\n", (void *)((char *)big[i] - 16),
        raw & ~(size_t)7, (int)((raw & 2) != 0));
    ++count;
    bytes += raw & ~(size_t)7;
  }
  say("EXPECT mmapped count=%d bytes=%zu\n", count, bytes);
  say("EXPECT false-candidate address=%p\n", (void *)odd);
  say("EXPECT false-candidate address=%p\n", (void *)whole);
  oracle_finish(exit_normally);
  return 0;
}
