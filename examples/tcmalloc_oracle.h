/* tcmalloc_oracle.h: gperftools tcmalloc's own view of its heap, printed
 * just before a tcmalloc program dumps core, so that tests can hold
 * heapscope's figures against it.
 *
 * Output (on stdout, between two marker lines):
 *   TCMALLOC-ORACLE-BEGIN
 *   tcmalloc version=2.10 current_allocated_bytes=N ... heap_size=N system_taken=N
 *   program live=N foreign_frees=N
 *   TCMALLOC-ORACLE-END
 * The figures are MallocExtension's numeric properties. `live` counts the
 * allocations made since tcmalloc_oracle_start() (tcmalloc's own new and
 * delete hooks see every malloc, calloc, realloc and new of every thread,
 * the C library's included) that were not freed; `foreign_frees` counts the
 * frees of blocks allocated before it (by the C++ runtime at load time).
 * Lines go through oracle.h's say() (a static buffer and write(2)): nothing
 * here allocates.
 */
#ifndef HEAPSCOPE_EXAMPLES_TCMALLOC_ORACLE_H
#define HEAPSCOPE_EXAMPLES_TCMALLOC_ORACLE_H

#include <gperftools/malloc_extension_c.h>
#include <gperftools/malloc_hook_c.h>
#include <gperftools/tcmalloc.h>
#include <stdint.h>

#include "oracle.h" /* say(): formats and writes without malloc */

/* tcmalloc's count of the bytes it took from the system (heap and metadata). */
extern size_t TCMalloc_SystemTaken;

/* The blocks allocated since the start, in an open-addressed table: a hook
 * runs inside malloc and may not allocate. One lock: hooks of all threads. */
enum { kTcOracleSlots = 1 << 16 };
static uintptr_t tc_oracle_table[kTcOracleSlots];
static long tc_oracle_live, tc_oracle_foreign_frees;
static volatile int tc_oracle_lock;

static void tc_oracle_acquire(void) {
  while (__atomic_exchange_n(&tc_oracle_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}
static void tc_oracle_release(void) { __atomic_store_n(&tc_oracle_lock, 0, __ATOMIC_RELEASE); }

static size_t tc_oracle_slot(uintptr_t p) { return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 48); }

static void tc_oracle_new(const void *ptr, size_t size) {
  (void)size;
  if (!ptr) return;
  tc_oracle_acquire();
  size_t i = tc_oracle_slot((uintptr_t)ptr);
  while (tc_oracle_table[i] != 0 && tc_oracle_table[i] != 1) i = (i + 1) % kTcOracleSlots;
  tc_oracle_table[i] = (uintptr_t)ptr;
  tc_oracle_live++;
  tc_oracle_release();
}

static void tc_oracle_delete(const void *ptr) {
  if (!ptr) return;
  tc_oracle_acquire();
  size_t i = tc_oracle_slot((uintptr_t)ptr);
  for (;; i = (i + 1) % kTcOracleSlots) {
    if (tc_oracle_table[i] == 0) {
      tc_oracle_foreign_frees++;
      break;
    }
    if (tc_oracle_table[i] == (uintptr_t)ptr) {
      tc_oracle_table[i] = 1; /* a tombstone keeps the probe chains */
      tc_oracle_live--;
      break;
    }
  }
  tc_oracle_release();
}

/* First thing in main(), after oracle_init(). */
static void tcmalloc_oracle_start(void) {
  MallocHook_AddNewHook(tc_oracle_new);
  MallocHook_AddDeleteHook(tc_oracle_delete);
}

static size_t tc_property(const char *name) {
  size_t v = 0;
  if (!MallocExtension_GetNumericProperty(name, &v)) say("TCMALLOC-ORACLE-ERROR %s\n", name);
  return v;
}

static void tcmalloc_oracle_print(void) {
  int major = 0, minor = 0;
  const char *patch = "";
  tc_version(&major, &minor, &patch);
  say("TCMALLOC-ORACLE-BEGIN\n");
  say("tcmalloc version=%d.%d%s current_allocated_bytes=%zu pageheap_free_bytes=%zu "
      "pageheap_unmapped_bytes=%zu thread_cache_free_bytes=%zu central_cache_free_bytes=%zu "
      "transfer_cache_free_bytes=%zu heap_size=%zu system_taken=%zu\n",
      major, minor, patch, tc_property("generic.current_allocated_bytes"),
      tc_property("tcmalloc.pageheap_free_bytes"), tc_property("tcmalloc.pageheap_unmapped_bytes"),
      tc_property("tcmalloc.thread_cache_free_bytes"), tc_property("tcmalloc.central_cache_free_bytes"),
      tc_property("tcmalloc.transfer_cache_free_bytes"), tc_property("generic.heap_size"),
      TCMalloc_SystemTaken);
  tc_oracle_acquire();
  say("program live=%ld foreign_frees=%ld\n", tc_oracle_live, tc_oracle_foreign_frees);
  tc_oracle_release();
  say("TCMALLOC-ORACLE-END\n");
}

/* The report, then a core. */
static void tcmalloc_oracle_and_abort(void) {
  tcmalloc_oracle_print();
  abort();
}

/* The report, then READY and a wait for a line on stdin (a live stop). */
__attribute__((unused)) static void tcmalloc_oracle_and_wait(void) {
  tcmalloc_oracle_print();
  say("READY\n");
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {
  }
  _exit(0);
}

#endif
