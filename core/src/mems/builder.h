// Internal: the state shared by the steps of mems::SegmentHeap::build (root, main
// chain, pools, metadata pages). Records are read whole with the structs of
// mems_layout.h; every list walk is bounded by a step limit and a visited set.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "heapscope/mems/heap.h"
#include "mems_layout.h"

namespace heapscope::mems {

// Locates the root: the symbol first, then a scan of writable memory.
// Returns nullopt when no candidate with the root magic exists.
struct RootLocation {
  Address address;
  bool by_symbol = false;
  std::vector<std::string> notes;
};
std::optional<RootLocation> locate_root(const Target& target, const SymbolResolver& symbols,
                                        const CancelToken& cancel);

// SegmentHeap::build, with nullopt when the target has no mems root (its other
// errors are thrown as SegmentHeap::build throws them).
std::optional<SegmentHeap> build_if_present(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel);

// Bounds a list walk: stops at a revisited record (a cycle) or after `limit`
// steps, whichever comes first.
class Walk {
 public:
  explicit Walk(uint64_t limit) : limit_(limit) {}
  enum class Step { kOk, kCycle, kLimit };
  Step visit(Address a) {
    if (!seen_.insert(a.value).second) return Step::kCycle;
    if (++steps_ > limit_) return Step::kLimit;
    return Step::kOk;
  }
  uint64_t steps() const { return steps_; }

 private:
  uint64_t limit_;
  uint64_t steps_ = 0;
  std::unordered_set<uint64_t> seen_;
};

struct Builder {
  const Target& target;
  const CancelToken& cancel;
  SegmentHeap& heap;
  mems_root raw{};  // the root as read

  // Where each walked segment descriptor is: node index, segment index.
  std::unordered_map<uint64_t, std::pair<size_t, size_t>> segment_index;
  // Carved pool header address -> (arena index, pool index in the arena).
  std::unordered_map<uint64_t, std::pair<size_t, size_t>> pool_index;
  uint64_t arena_segments = 0;  // PROCESS segments flagged ARENA
  // Records as read, for the list checks that follow the walks.
  std::unordered_map<uint64_t, size_t> arena_index;  // descriptor -> index
  std::vector<mems_arena> raw_arenas;                 // parallel to heap.arenas
  std::unordered_map<uint64_t, mems_pool_header> raw_pools;

  void finding(std::string kind, Address at, std::string detail) {
    heap.findings.push_back({.kind = std::move(kind), .address = at, .detail = std::move(detail)});
  }
  // A root field's address, for counter findings.
  Address root_field(size_t offset) const { return heap.root.address + offset; }

  // The step bound for a list whose length a counter claims: counter x 2 plus
  // slack, and never below what the metadata pages could hold.
  uint64_t limit_for(uint64_t counter) const;

  template <typename T>
  std::optional<T> read(Address a) const {
    return target.read_value<T>(a);
  }

  // Steps, in order.
  void read_root();
  void walk_chain();
  void walk_arenas();
  void walk_class_lists();
  void walk_tcaches();
  void check_pool_map();
  void walk_meta();
  void check_counters();

  // Helpers.
  void walk_segments(Node& node, const mems_node& raw_node);
  void read_pool(PoolArena& arena, size_t index, uint32_t i);
};

}  // namespace heapscope::mems
