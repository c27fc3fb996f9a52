/* demo: a small word counter that crashes, to try heapscope on.
 *
 * It counts the words of a built-in text in a chained hash table (a malloc'd
 * node and a malloc'd copy of each distinct word), grows the table as it
 * fills, drops the words seen only once (freeing their nodes and strings),
 * prints the most frequent words, then glibc's own view of the heap, and
 * aborts, leaving a core file in the current directory:
 *
 *   ulimit -c unlimited
 *   ./demo > demo.out            # "Aborted (core dumped)"
 *   heapscope core heap stats    # compare with the malloc_info in demo.out
 *
 *   ./demo --exit                # the same, without the crash
 */
#include "oracle.h"

#include <ctype.h>

struct entry {
  struct entry *next;
  char *word;
  unsigned long count;
};

struct table {
  struct entry **buckets;
  size_t nbuckets, nentries;
};

static struct table words;
/* Each pass works on its own copy of the text; a third of them are
 * thrown away, the rest kept (as a cache would). */
static char *pass_copies[64];

static const char *const kText =
    "It was the best of times it was the worst of times it was the age of wisdom "
    "it was the age of foolishness it was the epoch of belief it was the epoch of "
    "incredulity it was the season of Light it was the season of Darkness it was "
    "the spring of hope it was the winter of despair we had everything before us "
    "we had nothing before us we were all going direct to Heaven we were all going "
    "direct the other way in short the period was so far like the present period "
    "that some of its noisiest authorities insisted on its being received for good "
    "or for evil in the superlative degree of comparison only";

static unsigned long hash_word(const char *s) {
  unsigned long h = 5381;
  for (; *s; ++s) h = h * 33 + (unsigned char)*s;
  return h;
}

static void grow(struct table *t) {
  size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
  struct entry **b = calloc(n, sizeof *b);
  if (!b) abort();
  for (size_t i = 0; i < t->nbuckets; ++i) {
    struct entry *e = t->buckets[i];
    while (e) {
      struct entry *next = e->next;
      size_t j = hash_word(e->word) % n;
      e->next = b[j];
      b[j] = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = n;
}

static void add_word(struct table *t, const char *w, size_t len) {
  char buf[64];
  if (len >= sizeof buf) len = sizeof buf - 1;
  for (size_t i = 0; i < len; ++i) buf[i] = (char)tolower((unsigned char)w[i]);
  buf[len] = 0;
  if (t->nentries >= t->nbuckets * 3 / 4) grow(t);
  size_t j = hash_word(buf) % t->nbuckets;
  for (struct entry *e = t->buckets[j]; e; e = e->next)
    if (strcmp(e->word, buf) == 0) {
      e->count++;
      return;
    }
  struct entry *e = malloc(sizeof *e);
  e->word = strdup(buf);
  e->count = 1;
  e->next = t->buckets[j];
  t->buckets[j] = e;
  t->nentries++;
}

static void count_text(struct table *t, const char *text, int suffix) {
  const char *p = text;
  while (*p) {
    while (*p && !isalpha((unsigned char)*p)) ++p;
    const char *start = p;
    while (isalpha((unsigned char)*p)) ++p;
    if (p > start) {
      /* Each pass spells the long words anew (word + pass number): they are
       * seen once, so drop_rare() frees them, leaving holes. */
      char w[64];
      size_t len = (size_t)(p - start) < 40 ? (size_t)(p - start) : 40;
      memcpy(w, start, len);
      if (suffix && len > 6) len += (size_t)snprintf(w + len, sizeof w - len, "%d", suffix);
      add_word(t, w, len);
    }
  }
}

/* Frees the words seen only once. */
static size_t drop_rare(struct table *t) {
  size_t dropped = 0;
  for (size_t i = 0; i < t->nbuckets; ++i) {
    struct entry **link = &t->buckets[i];
    while (*link) {
      struct entry *e = *link;
      if (e->count == 1) {
        *link = e->next;
        free(e->word);
        free(e);
        t->nentries--;
        ++dropped;
      } else {
        link = &e->next;
      }
    }
  }
  return dropped;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  for (int pass = 0; pass < 40; ++pass) {
    size_t len = strlen(kText) + 97 * (size_t)pass;
    char *copy = malloc(len + 1);
    memset(copy, ' ', len);
    memcpy(copy, kText, strlen(kText));
    copy[len] = 0;
    count_text(&words, copy, pass);
    if (pass % 3 == 0) free(copy);
    else pass_copies[pass] = copy;
  }
  size_t before = words.nentries;
  size_t dropped = drop_rare(&words);
  say("demo: %zu distinct words in %zu buckets, dropped %zu seen once\n", before, words.nbuckets,
      dropped);
  for (int k = 0; k < 5; ++k) {
    struct entry *best = NULL;
    for (size_t i = 0; i < words.nbuckets; ++i)
      for (struct entry *e = words.buckets[i]; e; e = e->next)
        if (e->count < (1ul << 40) && (!best || e->count > best->count)) best = e;
    if (!best) break;
    say("demo: %-10s %lu\n", best->word, best->count);
    best->count |= 1ul << 40; /* mark as printed */
  }
  say("demo: crashing now; inspect the core with: heapscope core heap stats\n");
  oracle_finish(exit_normally);
  return 0;
}
