#include "util/memory_hints.h"

#include <sys/mman.h>

#include <cstdint>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

namespace heapscope::util {

namespace {

constexpr uintptr_t kPage = 4096;
// Below this a hint saves nothing worth a system call.
constexpr size_t kMinHintBytes = size_t{2} << 20;

// The whole pages inside [p, p + bytes), or false when there are none.
bool inner_pages(const void* p, size_t bytes, uintptr_t& begin, uintptr_t& end) {
  auto b = reinterpret_cast<uintptr_t>(p);
  begin = (b + kPage - 1) & ~(kPage - 1);
  end = (b + bytes) & ~(kPage - 1);
  return end > begin;
}

}  // namespace

void advise_huge_pages(const void* p, size_t bytes) {
  uintptr_t b, e;
  if (bytes < kMinHintBytes || !inner_pages(p, bytes, b, e)) return;
  madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
}

void populate_for_read(const void* p, size_t bytes) {
  if (bytes < kMinHintBytes) return;
  // Whole pages around the range: the first and last partial pages are read too.
  auto b = reinterpret_cast<uintptr_t>(p) & ~(kPage - 1);
  auto e = (reinterpret_cast<uintptr_t>(p) + bytes + kPage - 1) & ~(kPage - 1);
  madvise(reinterpret_cast<void*>(b), e - b, MADV_POPULATE_READ);
}

void release_file_pages(const void* p, size_t bytes) {
  uintptr_t b, e;
  if (bytes < kMinHintBytes || !inner_pages(p, bytes, b, e)) return;
  madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

}  // namespace heapscope::util
