/* leaks_tls: glibc's own allocations that only glibc points to, beside the
 * program's own leaks.
 *   - four threads, each with a DTV (dynamic TLS vector) that glibc
 *     calloc'ed and keeps only through tcbhead_t.dtv, 16 bytes into it;
 *   - a library with thread-local storage dlopen'ed (lib/tls_module.c):
 *     each thread that touches its TLS gets a block glibc malloc'ed, held
 *     only by that thread's DTV; the main thread too;
 *   - in each thread one direct leak and one reachable object.
 * It records the leaks and glibc's chunks (INTERNAL: reachable, never
 * listed), then aborts (core), or with --exit exits 0.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>

#include "leaks_record.h"

#define NTHREADS 4

typedef char *(*touch_fn)(char);
static touch_fn touch;
static void *g_kept[NTHREADS];
static pthread_barrier_t g_ready;

__attribute__((noinline)) static void thread_work(long i) {
  char *leak = malloc(72 + 16 * (size_t)i);
  memset(leak, 'L', 16);
  leak_record("direct", leak, NULL);
  g_kept[i] = malloc(40);
  leak_hold("global", "g_kept", g_kept[i]);
  leak_internal(thread_dtv());
  leak_internal(touch((char)i));
}

static void *worker(void *arg) {
  thread_work((long)arg);
  wipe_stack();
  pthread_barrier_wait(&g_ready);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  leak_mask_line();
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
  if (n <= 0) return 1;
  path[n] = 0;
  strcpy(strrchr(path, '/') + 1, "libtls_module.so");
  void *lib = dlopen(path, RTLD_NOW);
  if (!lib) {
    say("dlopen %s failed\n", path);
    return 1;
  }
  touch = (touch_fn)dlsym(lib, "tls_module_touch");
  leak_internal(touch('m'));
  pthread_barrier_init(&g_ready, NULL, NTHREADS + 1);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i)
    if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) return 1;
  pthread_barrier_wait(&g_ready);
  wipe_stack();
  say("LEAKS-END\n");
  if (exit_normally) _exit(0);
  abort();
}
