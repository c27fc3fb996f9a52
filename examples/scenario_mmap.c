/* scenario_mmap: blocks above the mmap threshold (each its own mmap, glibc's
 * "mmapped chunks"), some of them freed (munmap), plus a few ordinary chunks.
 * All big blocks are allocated before any is freed: freeing an mmapped chunk
 * raises glibc's dynamic mmap threshold (glibc 2.36 free()), which would send
 * later big requests to the heap instead.
 *   ./scenario_mmap          prints the oracle, then abort()s (core)
 *   ./scenario_mmap --exit   prints the oracle, then exits 0
 */
#include "oracle.h"

#define NBIG 7
static void *big[NBIG];
static void *small[32];

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  static const size_t sizes[NBIG] = {200000, 300000, 1 << 20, 2 << 20, 150000, 500000, 4 << 20};
  for (int i = 0; i < 16; ++i) {
    small[i] = malloc(32 + 64 * (size_t)i);
    memset(small[i], 1, 32);
  }
  for (int i = 0; i < NBIG; ++i) {
    big[i] = i == 5 ? calloc(1, sizes[i]) : malloc(sizes[i]);
    if (!big[i]) return 1;
    memset(big[i], 0x5A, 4096);
  }
  for (int i = 16; i < 32; ++i) {
    small[i] = malloc(100 + 10 * (size_t)i);
    memset(small[i], 2, 32);
  }
  free(big[1]);
  free(big[3]);
  free(small[3]);
  free(small[20]);
  big[1] = big[3] = NULL;
  int count = 0;
  size_t bytes = 0;
  for (int i = 0; i < NBIG; ++i) {
    if (!big[i]) continue;
    size_t raw = ((size_t *)big[i])[-1];
    size_t size = raw & ~(size_t)7;
    say("EXPECT mmapped address=%p size=%zu mmapped_bit=%d\n", (void *)((char *)big[i] - 16), size,
        (int)((raw & 2) != 0));
    ++count;
    bytes += size;
  }
  say("EXPECT mmapped count=%d bytes=%zu\n", count, bytes);
  oracle_finish(exit_normally);
  return 0;
}
