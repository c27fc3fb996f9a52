/* leaks_record.h: how the leak scenarios tell the tests what they leaked.
 *
 * A program must not keep any pointer to what it leaks, or the leak would
 * be reachable. So the addresses are printed masked (XOR kLeakMask, which
 * is printed once), and the stack below the caller is wiped afterwards:
 *   LEAK-MASK 0x...
 *   LEAK <class> 0x<data address ^ mask> [type]     class: direct, indirect, possible
 *   CONTAINS <class> 0x<address ^ mask>             the chunk holding this address
 *   HOLD <global|stack> <name> 0x<data address ^ mask>   a reachable object and its root
 *   INTERNAL 0x<address ^ mask>                     the chunk holding this address is glibc's own
 *                                                   (a DTV, a TLS block): reachable, never listed
 * Output goes through write(2) (oracle.h's say): stdio allocates nothing.
 */
#ifndef HEAPSCOPE_EXAMPLES_LEAKS_RECORD_H
#define HEAPSCOPE_EXAMPLES_LEAKS_RECORD_H

#include <stdint.h>
#include <string.h>

#ifdef __GLIBC__
#include "oracle.h"
#else
#include "musl_oracle.h"  /* built with musl-gcc: no glibc figures, the same say() */
#endif

#define LEAK_MASK 0x5a5a5a5a5a5a5a5aull

static void leak_mask_line(void) { say("LEAK-MASK %#llx\n", (unsigned long long)LEAK_MASK); }

static unsigned long long masked(const void *p) { return (unsigned long long)((uintptr_t)p ^ LEAK_MASK); }

__attribute__((noinline, unused)) static void leak_record(const char *cls, const void *p, const char *type) {
  say("LEAK %s %#llx%s%s\n", cls, masked(p), type ? " " : "", type ? type : "");
}

__attribute__((noinline, unused)) static void leak_contains(const char *cls, const void *p) {
  say("CONTAINS %s %#llx\n", cls, masked(p));
}

__attribute__((noinline, unused)) static void leak_hold(const char *root, const char *name, const void *p) {
  say("HOLD %s %s %#llx\n", root, name, masked(p));
}

__attribute__((noinline, unused)) static void leak_internal(const void *p) {
  say("INTERNAL %#llx\n", masked(p));
}

/* The calling thread's DTV as glibc keeps it, one element in, in the TCB:
 * tcbhead_t.dtv is at tp + 8 on x86-64, at tp + 0 on aarch64. */
__attribute__((unused)) static void *thread_dtv(void) {
#if defined(__aarch64__)
  return *(void **)__builtin_thread_pointer();
#else
  return *(void **)((char *)__builtin_thread_pointer() + 8);
#endif
}

/* Overwrites the stack below the caller, where the frames of the functions
 * that made the leaks were, and the scratch registers. */
__attribute__((noinline)) static void wipe_stack(void) {
  volatile char area[64 * 1024];
  memset((char *)area, 0, sizeof area);
#if defined(__x86_64__)
  __asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\txor %%esi, %%esi\n\t"
                   "xor %%edi, %%edi\n\txor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\t"
                   "xor %%r11d, %%r11d\n\tpxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
                   "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
                   ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                       "xmm0", "xmm1", "xmm2", "xmm3", "memory");
#endif
}

#endif
