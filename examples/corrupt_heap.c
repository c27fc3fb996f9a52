/* corrupt_heap MODE: corrupts its own glibc heap in one classic way, prints
 * what it did, and dumps core (abort) before glibc notices. `heap check` on
 * the core should name the chunk and the kind printed on the CORRUPTED line:
 *
 *   CORRUPTED mode=MODE kind=KIND address=0x...   (a chunk header)
 *
 * Modes: overflow offbyone tcache_double fast_double tcache_poison fast_fd
 *        unsorted_bk top prev_size fake largebin_nextsize largebin_bk
 *        mmap_size mmap_prev_size
 *
 *   ulimit -c unlimited; ./corrupt_heap tcache_poison; heapscope core heap check
 *
 * stdout is unbuffered so that printing allocates nothing, and every line is
 * printed before the heap is touched. Written for 64-bit glibc 2.26+ with
 * tcache (glibc 2.36 in the tests).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR(p) ((uintptr_t)(p) - 16) /* chunk header of a user pointer */

static void report(const char *mode, const char *kind, uintptr_t chunk) {
  printf("CORRUPTED mode=%s kind=%s address=%#lx\n", mode, kind, (unsigned long)chunk);
}

static void die(void) {
  fflush(stdout);
  abort();
}

/* Fills tcache bin for `size` (7 entries) so the next free goes to a fastbin. */
static void fill_tcache(size_t size) {
  void *t[7];
  for (int i = 0; i < 7; ++i) t[i] = malloc(size);
  for (int i = 0; i < 7; ++i) free(t[i]);
}

static volatile uintptr_t target_word[4];

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: %s overflow|offbyone|tcache_double|fast_double|tcache_poison|fast_fd|"
                    "unsorted_bk|top|prev_size|fake|largebin_nextsize|largebin_bk|mmap_size|"
                    "mmap_prev_size\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "overflow")) {
    /* A linear overflow from a into the header of b (prev_size and size). */
    char *a = malloc(0x28), *b = malloc(0x38), *c = malloc(0x18);
    memset(b, 'b', 0x38);
    memset(c, 'c', 0x18);
    report(mode, "invalid-size", HDR(b));
    memset(a, 'A', 0x28 + 8 + 8);
  } else if (!strcmp(mode, "offbyone")) {
    /* One NUL byte past a's usable size lands in b's size: 0x111 -> 0x100. */
    char *a = malloc(0x108), *b = malloc(0x108), *c = malloc(0x18);
    memset(b, 'b', 0x108);
    memset(c, 'c', 0x18);
    report(mode, "off-by-one-size", HDR(b));
    memset(a, 'a', 0x108);
    a[0x108] = '\0';
  } else if (!strcmp(mode, "tcache_double")) {
    /* free, wipe the tcache key (a write after free), free again. */
    void **p = malloc(0x48);
    (void)malloc(0x18);
    report(mode, "tcache-double-free", HDR(p));
    free(p);
    p[1] = NULL;
    free(p);
  } else if (!strcmp(mode, "fast_double")) {
    /* With the tcache bin full, a - b - a passes glibc's fasttop check. */
    void *a = malloc(0x28), *b = malloc(0x28);
    (void)malloc(0x18);
    report(mode, "fastbin-double-free", HDR(a));
    fill_tcache(0x28);
    free(a);
    free(b);
    free(a);
  } else if (!strcmp(mode, "tcache_poison")) {
    /* Overwrite the next pointer of a tcache entry after free. */
    void *a = malloc(0x38);
    uintptr_t *b = malloc(0x38);
    (void)malloc(0x18);
    report(mode, "tcache-next-corrupt", HDR(b));
    free(a);
    free(b);
    /* Mangled the way safe-linking stores it (glibc 2.32+), so the decoded
     * pointer is 0x4141414141414149 whatever the address: misaligned. */
    b[0] = ((uintptr_t)&b[0] >> 12) ^ 0x4141414141414149ul;
  } else if (!strcmp(mode, "fast_fd")) {
    /* Overwrite a fastbin chunk's fd after free. */
    uintptr_t *a = malloc(0x38);
    (void)malloc(0x18);
    report(mode, "fastbin-fd-corrupt", HDR(a));
    fill_tcache(0x38);
    free(a);
    a[0] = ((uintptr_t)&a[0] >> 12) ^ 0x4141414141414149ul;
  } else if (!strcmp(mode, "unsorted_bk")) {
    /* Overwrite an unsorted chunk's bk after free (the unsorted-bin attack). */
    uintptr_t *a = malloc(0x428);
    (void)malloc(0x18);
    report(mode, "bin-link", HDR(a));
    free(a);
    a[1] = (uintptr_t)target_word - 16;
  } else if (!strcmp(mode, "top")) {
    /* Overflow from the last chunk into the top chunk's size (house of force). */
    uintptr_t *a = malloc(0x58);
    uintptr_t top = HDR(a) + 0x60;
    report(mode, "top-size", top);
    memset(a, 'A', 0x58);
    ((uintptr_t *)top)[1] = ~(uintptr_t)0;
  } else if (!strcmp(mode, "prev_size")) {
    /* Forge b's prev_size and clear its PREV_INUSE (house of einherjar). */
    uintptr_t *a = malloc(0x38), *b = malloc(0xf8);
    (void)malloc(0x18);
    report(mode, "forged-prev-size", HDR(b));
    (void)a;
    ((uintptr_t *)HDR(b))[0] = 0x200;
    ((uintptr_t *)HDR(b))[1] = 0x100;
  } else if (!strcmp(mode, "fake")) {
    /* free() of a pointer malloc never returned: a fake chunk in .bss. */
    static _Alignas(16) uintptr_t fake[16];
    (void)malloc(0x18);
    fake[1] = 0x41;
    report(mode, "fake-chunk", (uintptr_t)fake);
    free(&fake[2]);
  } else if (!strcmp(mode, "largebin_nextsize") || !strcmp(mode, "largebin_bk")) {
    /* a goes to the unsorted bin, then a larger request sorts it into its
     * large bin (0x400..0x430). b, smaller, waits in the unsorted bin.
     * largebin_nextsize overwrites a's bk_nextsize (the largebin attack of
     * glibc 2.30+: sorting b in would write b's address through it);
     * largebin_bk overwrites a's bk. */
    uintptr_t *a = malloc(0x428);
    (void)malloc(0x18);
    uintptr_t *b = malloc(0x418);
    (void)malloc(0x18);
    int nextsize = !strcmp(mode, "largebin_nextsize");
    report(mode, nextsize ? "largebin-nextsize" : "bin-link", HDR(a));
    free(a);
    (void)malloc(0x438);
    free(b);
    /* user data words: fd, bk, fd_nextsize, bk_nextsize */
    if (nextsize)
      a[3] = (uintptr_t)target_word - 32;
    else
      a[1] = (uintptr_t)target_word - 16;
  } else if (!strcmp(mode, "mmap_size") || !strcmp(mode, "mmap_prev_size")) {
    /* An underflow from an mmapped chunk's data into its own header: its
     * size no longer whole pages (mmap_size), or a prev_size that moves the
     * mapping's start off a page (mmap_prev_size). free() would abort in
     * munmap_chunk. */
    (void)malloc(0x18); /* the main heap exists (an mmap-only process has none) */
    uintptr_t *m = malloc(0x40000); /* above mmap_threshold and the first top */
    report(mode, "mmapped-header", HDR(m));
    if (!strcmp(mode, "mmap_size"))
      m[-1] -= 0x10;
    else
      m[-2] = 0x10;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  die();
}
