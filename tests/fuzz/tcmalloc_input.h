// The input of fuzz_tcmalloc: 12-byte patches to the synthetic gperftools
// heap of tests/unit/synthetic_tcmalloc.h, each a 32-bit place and the
// 64-bit value written there. A place picks one of the windows below (place
// % count) and an 8-aligned offset in it ((place / count) % size). Shared by
// the target and its seed maker, so seeds name what they damage.
#pragma once

#include <cstdint>
#include <string>

#include "synthetic_tcmalloc.h"

namespace heapscope::synthetic_tcmalloc {

struct Window {
  uint64_t base;
  uint64_t size;
};

inline const Window* patch_windows(size_t* count) {
  static const Window kWindows[] = {
      {kPageheap + L.pageheap_pagemap_root, 64},                       // the page map's root
      {kPageheap + L.pageheap_stats, 32},                              // the page heap's stats
      {kSizemap, L.sizemap_num_size_classes + 8},                      // the size map
      {kCentral, 5 * L.central_size},                                  // the central lists
      {kSpans, 4 * L.span_size},                                       // spans 0 to 3
      {kLeaf + 8 * (kPage0 & ((1u << L.pagemap_leaf_bits) - 1)), 64},  // the heap's page-map slots
      {kThreadCache, L.threadcache_prev + 8},                          // the thread cache
      {kHeap, kHeapSize},                                              // the objects
      {kThreadHeapsVar, 0x18},                                         // thread_heaps_, SystemTaken, inited_
  };
  *count = sizeof(kWindows) / sizeof(kWindows[0]);
  return kWindows;
}

// The place that writes at `address` (inside a window), and one patch's bytes.
inline uint32_t place_of(uint64_t address) {
  size_t n = 0;
  const Window* w = patch_windows(&n);
  for (size_t i = 0; i < n; ++i)
    if (address >= w[i].base && address < w[i].base + w[i].size)
      return static_cast<uint32_t>((address - w[i].base) / 8 * 8 * n + i);
  throw std::logic_error("no patch window holds the address");
}

inline std::string patch(uint64_t address, uint64_t value) {
  uint32_t place = place_of(address);
  std::string bytes(12, '\0');
  std::memcpy(bytes.data(), &place, 4);
  std::memcpy(bytes.data() + 4, &value, 8);
  return bytes;
}

}  // namespace heapscope::synthetic_tcmalloc
