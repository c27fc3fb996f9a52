// Heap statistics: chunks and bytes per state, per arena and in total.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "heapscope/glibc/heap.h"
#include "heapscope/model/heap_model.h"

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

// The same for any allocator's model: per owner and in total, by the
// allocator's kinds and by the generic states.
struct OwnerStats {
  std::string label;
  Address address;
  uint64_t system_bytes = 0;
  std::vector<Tally> by_kind;  // indexed like HeapModel::kinds
};

struct ModelStats {
  std::string allocator, version;
  std::vector<std::string_view> kind_names;
  std::vector<OwnerStats> owners;
  OwnerStats unowned;            // blocks of no owner (glibc: mmapped chunks)
  std::vector<Tally> by_kind;    // every block
  std::array<Tally, kBlockStateCount> by_state{};
  uint64_t system_bytes = 0;     // the model's system ranges: owners' and unowned blocks'
  size_t findings = 0;           // the model's findings; set by the caller for glibc
  const Tally& state(BlockState s) const { return by_state[static_cast<size_t>(s)]; }
};

ModelStats compute_model_stats(const HeapModel& model);

}  // namespace heapscope
