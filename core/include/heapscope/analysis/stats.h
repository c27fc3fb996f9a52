// Heap statistics: chunks and bytes per state, per arena and in total.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "heapscope/glibc/heap.h"

namespace heapscope {

struct Tally {
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  void add(uint64_t size) { ++chunks, bytes += size; }
  void add(const Tally& t) { chunks += t.chunks, bytes += t.bytes; }
};

struct StateTallies {
  std::array<Tally, glibc::kChunkStateCount> by_state{};
  Tally& operator[](glibc::ChunkState s) { return by_state[static_cast<size_t>(s)]; }
  const Tally& operator[](glibc::ChunkState s) const { return by_state[static_cast<size_t>(s)]; }
  uint64_t bytes() const;
};

struct ArenaStats {
  int index = 0;
  Address address;
  bool main = false;
  size_t heaps = 0;
  uint64_t system_bytes = 0;
  Address top;
  StateTallies states;
};

struct HeapStats {
  std::string glibc_version;
  std::vector<ArenaStats> arenas;
  Tally mmapped;
  uint64_t system_bytes = 0;   // sum over arenas
  StateTallies total;           // arenas only; mmapped is separate
  size_t findings = 0;         // heap check's problems; set by the caller
};

HeapStats compute_stats(const glibc::Heap& heap);

}  // namespace heapscope
