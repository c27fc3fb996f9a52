/* A multi-threaded workload for the recorder's overhead benchmark: each
 * thread keeps a ring of blocks of varied sizes and replaces one per step
 * (malloc and free from every thread at once, as a server does). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 1024

static long steps;

static void *make(size_t n) {
    void *p = malloc(n);
    memset(p, 1, n < 64 ? n : 64);
    return p;
}

static void *churn(void *arg) {
    unsigned seed = (unsigned)(size_t)arg;
    void *ring[RING] = {0};
    for (long i = 0; i < steps; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t slot = (seed >> 8) % RING;
        free(ring[slot]);
        ring[slot] = (seed & 1) ? make(16 + (seed >> 20) % 512) : calloc(1, 32 + (seed >> 22) % 64);
    }
    for (int i = 0; i < RING; i++) free(ring[i]);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    steps = argc > 2 ? atol(argv[2]) : 500000;
    pthread_t t[64];
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, churn, (void *)(size_t)(i + 1));
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("threads_churn: threads=%d steps=%ld\n", threads, steps);
    return 0;
}
