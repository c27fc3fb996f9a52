/* gen_heap: a big glibc heap for benchmarks, then a core dump.
 *
 *   gen_heap N [--exit]
 *
 * Allocates N chunks of 16..256 bytes (a mix skewed to small sizes, as in
 * programs full of strings and small structs), frees about 10% of them at
 * random (the first 7 of each size fill its tcache bin, small ones go to the
 * fastbins, the rest to the unsorted list, coalescing with free neighbours),
 * then makes a few small requests so glibc sorts the unsorted chunks into the
 * small bins. Prints mallinfo2, then aborts (core in the current directory).
 * Deterministic: the same N gives the same heap.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not static: a static pointer whose address never escapes may live only in
 * a register, and then no root holds the array (every chunk would look
 * "possibly leaked", which no real program's heap looks like). */
void **chunks; /* itself one mmapped chunk when N is large */
static void *sorters[1024];

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t pick_size(void) {
  uint64_t r = rng() % 100;
  if (r < 50) return 16 + rng() % 49;   /* 16..64 */
  if (r < 80) return 65 + rng() % 64;   /* 65..128 */
  return 129 + rng() % 128;             /* 129..256 */
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: gen_heap N [--exit]\n");
    return 2;
  }
  char *end;
  unsigned long long n = strtoull(argv[1], &end, 10);
  if (*end || n == 0 || n > (1ull << 32)) {
    fprintf(stderr, "gen_heap: bad N '%s'\n", argv[1]);
    return 2;
  }
  int exit_normally = argc > 2 && strcmp(argv[2], "--exit") == 0;
  chunks = malloc(n * sizeof *chunks);
  if (!chunks) return 1;
  for (unsigned long long i = 0; i < n; ++i) {
    size_t s = pick_size();
    chunks[i] = malloc(s);
    if (!chunks[i]) return 1;
    memset(chunks[i], (int)(i & 0xFF), s < 16 ? s : 16);
  }
  unsigned long long freed = 0;
  for (unsigned long long i = 0; i < n; ++i) {
    if (rng() % 10 == 0) {
      free(chunks[i]);
      chunks[i] = NULL;
      ++freed;
    }
  }
  /* Each small request sorts up to 10000 unsorted chunks (glibc MAX_ITERS). */
  size_t nsort = (size_t)(freed / 10000 + 2);
  if (nsort > sizeof sorters / sizeof sorters[0]) nsort = sizeof sorters / sizeof sorters[0];
  for (size_t i = 0; i < nsort; ++i) sorters[i] = malloc(1000);
  struct mallinfo2 m = mallinfo2();
  printf("gen_heap n=%llu freed=%llu\n", n, freed);
  printf("mallinfo2 arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu "
         "fsmblks=%zu uordblks=%zu fordblks=%zu keepcost=%zu\n",
         m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks,
         m.fordblks, m.keepcost);
  if (exit_normally) return 0;
  abort();
}
