/* record_sites: allocates from known sites (distinct functions, a recursive
 * one, threads, the aligned families, realloc, calloc), frees some, prints
 * its own record of what it kept, then aborts to a core. Run it with
 * libheapscope-record.so preloaded; the tests hold the recorder's tables in
 * the core against these lines:
 *   LIVE <address> <site function> <thread id>   one per kept allocation
 *   FREED <address>                              one per freed site_alpha block
 *   LEAK <address ^ LEAK_MASK> site_leak          one per block it dropped every pointer to
 *   EXPECT sites=<n> live=<n>                    totals of the LIVE lines
 * With the argument `wait` it prints READY instead of aborting and waits to
 * be read live (heapscope --pid). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIVE 256
static struct { void *p; const char *site; int tid; } live[MAX_LIVE];
static int live_count;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void keep(void *p, const char *site) {
    pthread_mutex_lock(&live_lock);
    live[live_count].p = p;
    live[live_count].site = site;
    live[live_count].tid = gettid();
    live_count++;
    pthread_mutex_unlock(&live_lock);
}

/* Each site is its own function, so the caller of malloc names it. The
 * empty asm after each call keeps it from being a tail call. */
__attribute__((noinline)) void *site_alpha(size_t n) {
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) void *site_beta(size_t n) {
    void *p = calloc(n, 4);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) void *site_gamma(void *old, size_t n) {
    void *p = realloc(old, n);
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) void *site_aligned(int kind) {
    void *p = NULL;
    switch (kind) {
    case 0: if (posix_memalign(&p, 64, 100) != 0) p = NULL; break;
    case 1: p = aligned_alloc(128, 256); break;
    case 2: p = memalign(32, 48); break;
    default: p = valloc(200); break;
    }
    __asm__ volatile("" ::: "memory");
    return p;
}
__attribute__((noinline)) void site_recursive(int depth) {
    keep(malloc(40 + depth), "site_recursive");
    if (depth > 1)
        site_recursive(depth - 1);
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void *site_thread(size_t n) {
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

/* Leaks: blocks whose only trace is their address masked (so no word in
 * memory points to them); printed masked, the test unmasks. */
#define LEAK_MASK 0x5a5a5a5a5a5a5a5aul
#define LEAKS 3
static unsigned long leaked[LEAKS];
__attribute__((noinline)) void site_leak(int i) {
    leaked[i] = (unsigned long)malloc(72 + 8 * i) ^ LEAK_MASK;
    __asm__ volatile("" ::: "memory");
}
/* Overwrites the stack below the caller where site_leak's frames were
 * (the recorder's unwinder makes them deep): their stale copies of the
 * leaked pointers would keep the blocks reachable. */
__attribute__((noinline)) void scrub_stack(void) {
    volatile char junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0; /* volatile: each store stays */
}

static void *thread_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 6; i++)
        keep(site_thread(64 + 8 * i), "site_thread");
    return NULL;
}

int main(int argc, char **argv) {
    int wait_live = argc > 1 && strcmp(argv[1], "wait") == 0;
    void *alpha[7];
    for (int i = 0; i < 7; i++)
        alpha[i] = site_alpha(24 + 16 * i);
    for (int i = 0; i < 7; i++) {
        if (i % 2 == 1) {
            printf("FREED %p\n", alpha[i]);
            free(alpha[i]);       /* 3 freed */
            alpha[i] = NULL;      /* a stale copy would hold a later block reusing it */
        }
        else
            keep(alpha[i], "site_alpha");
    }
    for (int i = 0; i < 5; i++)
        keep(site_beta(10 + i), "site_beta");
    void *g = NULL;
    for (int i = 1; i <= 6; i++)
        g = site_gamma(g, (size_t)i * 1000); /* one block, moved around */
    keep(g, "site_gamma");
    for (int k = 0; k < 4; k++)
        keep(site_aligned(k), "site_aligned");
    site_recursive(4);
    for (int i = 0; i < LEAKS; i++)
        site_leak(i);
    scrub_stack();
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, thread_main, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    int sites = 0;
    const char *seen[16];
    for (int i = 0; i < live_count; i++) {
        printf("LIVE %p %s %d\n", live[i].p, live[i].site, live[i].tid);
        int known = 0;
        for (int j = 0; j < sites; j++)
            known |= strcmp(seen[j], live[i].site) == 0;
        if (!known)
            seen[sites++] = live[i].site;
    }
    for (int i = 0; i < LEAKS; i++)
        printf("LEAK %lx site_leak\n", leaked[i]);
    printf("EXPECT sites=%d live=%d\n", sites, live_count);
    if (wait_live) {
        /* For --pid: stay as we are until killed. */
        printf("READY\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    fflush(stdout);
    abort();
}
