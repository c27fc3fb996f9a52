/* gen_lists: linked lists of small nodes hanging off a global table, a third
 * of the nodes freed in list order, then a core dump.
 *
 *   gen_lists N [--exit]
 *
 * N nodes (24..304-byte requests) are appended round-robin to about N/1000
 * lists (a multiple of 3), so neighbours in memory belong to different
 * lists. Walking each list, every third node is unlinked and freed, list l
 * starting at its (l % 3)th node: no two freed chunks are neighbours (no
 * coalescing), so the small ones fill the fastbins and the others the
 * unsorted list (about 200k chunks at N = 1M), in list order, far apart in
 * memory; two small requests then sort 20k of them into the small bins. The
 * live nodes point at each other: the leak scan follows a heap pointer in
 * every node.
 */
#define _GNU_SOURCE
#include "shape.h"

struct node {
  struct node *next;
  size_t len;
  char payload[];
};

struct node **lists; /* the global table; not static, see gen_heap.c */
size_t nlists;

static size_t pick_payload(void) {
  uint64_t r = shape_rng() % 100;
  if (r < 40) return 8 + shape_rng() % 96;    /* fastbin chunks once freed */
  return 121 + shape_rng() % 168;             /* unsorted, then small bins */
}

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_lists", &exit_normally);
  nlists = 3 * (n / 3000 + 1);
  lists = calloc(nlists, sizeof *lists);
  struct node ***tails = malloc(nlists * sizeof *tails); /* the builder's, freed */
  if (!lists || !tails) return 1;
  for (size_t l = 0; l < nlists; ++l) tails[l] = &lists[l];
  for (unsigned long long i = 0; i < n; ++i) {
    size_t len = pick_payload();
    struct node *node = shape_alloc(sizeof *node + len, i);
    node->len = len;
    node->next = NULL;
    *tails[i % nlists] = node;
    tails[i % nlists] = &node->next;
  }
  free(tails);
  unsigned long long freed = 0;
  for (size_t l = 0; l < nlists; ++l) {
    struct node **link = &lists[l];
    for (size_t k = 0; *link; ++k) {
      if ((k + l) % 3 == 0) {
        struct node *dead = *link;
        *link = dead->next;
        free(dead);
        ++freed;
      } else {
        link = &(*link)->next;
      }
    }
  }
  shape_sort_unsorted(2, 1000); /* a small-bin size: a large one would consolidate the fastbins */
  printf("gen_lists n=%llu lists=%zu freed=%llu\n", n, nlists, freed);
  return shape_finish(exit_normally);
}
