/* leaks_basic: a heap with leaks of every kind, each one known.
 *   - three direct leaks (plain buffers) and one big mmapped one
 *   - a leaked binary tree of 7 nodes: the root direct, 6 indirect
 *   - a leaked cycle of 3 nodes: the lowest-addressed one direct, 2 indirect
 *   - an object held only through a pointer into its middle, and the child
 *     it points to: both possible
 *   - a second thread's arena: two direct leaks and a leaked pair
 *     (direct + indirect); one object kept by a global; the thread's dtv,
 *     which glibc holds by an interior pointer: glibc's own, reachable
 *   - a leaked "victim" and 300 freed objects full of stale pointers to it:
 *     freed memory keeps nothing alive, so the victim is direct
 *   - reachable objects: a list from a global, one held by main's stack
 * It prints each leak (leaks_record.h), then aborts (core), or with --exit
 * exits 0 (for valgrind --leak-check=full).
 */
#include <pthread.h>

#include "leaks_record.h"

struct node {
  struct node *left, *right;
  long tag;
  char name[24];
};

static struct node *g_list;         /* reachable: a list of 5 */
static char *g_interior;            /* the only pointer to `inner`, 24 bytes in */
static void *g_thread_kept;         /* reachable, from the second thread's arena */
static pthread_barrier_t g_ready;

static struct node *new_node(long tag) {
  struct node *n = malloc(sizeof *n);
  if (!n) _exit(1);
  memset(n, 0, sizeof *n);
  n->tag = tag;
  snprintf(n->name, sizeof n->name, "node-%ld", tag);
  return n;
}

static struct node *tree(int depth, long tag, const char *cls) {
  struct node *n = new_node(tag);
  leak_record(cls, n, NULL);
  if (depth > 1) {
    n->left = tree(depth - 1, 2 * tag, "indirect");
    n->right = tree(depth - 1, 2 * tag + 1, "indirect");
  }
  return n;
}

__attribute__((noinline)) static void make_leaks(void) {
  for (int i = 0; i < 3; ++i) {
    char *p = malloc(40);
    snprintf(p, 40, "direct leak number %d", i);
    leak_record("direct", p, NULL);
  }
  char *big = malloc(200000); /* above the mmap threshold: an mmapped chunk */
  memset(big, 'B', 64);
  leak_record("direct", big, NULL);

  tree(3, 1, "direct");

  struct node *c[3];
  for (int i = 0; i < 3; ++i) c[i] = new_node(100 + i);
  for (int i = 0; i < 3; ++i) c[i]->left = c[(i + 1) % 3];
  struct node *lowest = c[0];
  for (int i = 1; i < 3; ++i)
    if (c[i] < lowest) lowest = c[i];
  for (int i = 0; i < 3; ++i) leak_record(c[i] == lowest ? "direct" : "indirect", c[i], NULL);

  /* Possible: only an interior pointer (24 bytes in) from a global. The
   * words around it are not pointers (no valgrind heuristic applies). */
  long *inner = malloc(64);
  memset(inner, 0, 64);
  long *child = malloc(32);
  memset(child, 0, 32);
  inner[0] = (long)child;
  inner[1] = 0x1234;
  inner[3] = 0x4242;
  g_interior = (char *)inner + 24;
  leak_record("possible", inner, NULL);
  leak_record("possible", child, NULL);

  /* Stale pointers: freed objects of several sizes (tcache, fastbins,
   * unsorted/small after coalescing) all pointing at a leaked victim. */
  char *victim = malloc(48);
  strcpy(victim, "victim of stale pointers");
  leak_record("direct", victim, NULL);
  static const size_t sizes[] = {48, 100, 600, 1200};
  void *freed[300];
  for (int i = 0; i < 300; ++i) {
    size_t n = sizes[i % 4];
    void **o = malloc(n);
    for (size_t k = 0; k < n / sizeof(void *); ++k) o[k] = victim;
    freed[i] = o;
  }
  for (int i = 0; i < 300; ++i) free(freed[i]);
}

__attribute__((noinline)) static void make_reachable(void) {
  for (long i = 0; i < 5; ++i) {
    struct node *n = new_node(1000 + i);
    n->left = g_list;
    g_list = n;
  }
  leak_hold("global", "g_list", g_list);
}

__attribute__((noinline)) static void thread_leaks(void) {
  for (int i = 0; i < 2; ++i) {
    char *p = malloc(100 + 100 * (size_t)i);
    memset(p, 'T', 16);
    leak_record("direct", p, NULL);
  }
  struct node *a = new_node(7000), *b = new_node(7001);
  a->right = b;
  leak_record("direct", a, NULL);
  leak_record("indirect", b, NULL);
  g_thread_kept = new_node(7002);
  leak_internal(thread_dtv());
}

static void *worker(void *arg) {
  (void)arg;
  thread_leaks();
  wipe_stack();
  pthread_barrier_wait(&g_ready);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  leak_mask_line();
  pthread_barrier_init(&g_ready, NULL, 2);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
  pthread_barrier_wait(&g_ready);

  void *volatile on_stack = malloc(80); /* reachable from main's frame */
  memset(on_stack, 'S', 80);
  leak_hold("stack", "on_stack", on_stack);
  make_reachable();
  make_leaks();
  wipe_stack();
  say("LEAKS-END\n");
  if (exit_normally) _exit(0);
  abort();
}
