// heapscope_fuzz_tcmalloc_seeds DIR: writes seed inputs for fuzz_tcmalloc,
// patch lists (tcmalloc_input.h) that damage the synthetic gperftools heap
// the ways a real core can be damaged.
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tcmalloc_input.h"

using namespace heapscope::synthetic_tcmalloc;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: heapscope_fuzz_tcmalloc_seeds DIR\n");
    return 2;
  }
  const uint64_t central3 = kCentral + 3 * L.central_size;
  const std::vector<std::pair<const char*, std::string>> seeds = {
      {"clean", ""},
      {"free-list-cycle", patch(object(1), object(1))},
      {"thread-cache-into-transfer", patch(object(4), object(2))},
      {"span-outside-heap", patch(span_at(2) + L.span_start, kPage0 + 100)},
      {"span-huge", patch(span_at(1) + L.span_length, 0x100000)},
      {"transfer-slot-on-free-list", patch(central3 + L.central_tc_slots, object(1)) + patch(object(1), object(3))},
      {"thread-heaps-loop", patch(kThreadHeapsVar, kThreadCache) + patch(kThreadCache + L.threadcache_next, kThreadCache)},
      {"pagemap-root-wild", patch(kPageheap + L.pageheap_pagemap_root, 0xdead0000)},
  };
  for (const auto& [name, bytes] : seeds) {
    std::ofstream f(std::string(argv[1]) + "/" + name, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    if (!f) return 1;
  }
  return 0;
}
