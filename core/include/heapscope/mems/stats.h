// Analyses over a mems::SegmentHeap, as pure functions: the figures of
// mems_get_stats and mems_pool_get_stats recomputed from the structures,
// per-size-class pool figures, and virtual-to-physical translation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/mems/heap.h"

namespace heapscope::mems {

// Field names as in struct mems_stats.
struct SegmentStats {
  uint64_t pages = 0, nodes = 0, segments = 0, process_segments = 0, process_bytes = 0,
           hole_segments = 0, hole_bytes = 0;
};

struct ClassStats {
  uint32_t class_index = 0;
  uint32_t block_size = 0;
  uint64_t pools = 0, blocks_used = 0, blocks_free = 0;
};

// Field names as in struct mems_pool_stats, plus one entry per size class
// that has at least one counted (USED or FULL) pool. Blocks in thread caches
// count as free, as in mems_pool_get_stats.
struct PoolStats {
  uint64_t arenas = 0, pools = 0, blocks_used = 0, blocks_free = 0, bytes_used = 0;
  uint64_t pools_carved = 0, pools_empty = 0;
  std::vector<ClassStats> classes;
};

SegmentStats segment_stats(const SegmentHeap& h);
PoolStats pool_stats(const SegmentHeap& h);

// The root's counters as the target holds them (for comparison); the block
// counters net of what the thread caches say they hold, as
// mems_pool_get_stats reports them.
SegmentStats root_segment_counters(const Root& r);
PoolStats root_pool_counters(const Root& r);

struct Translation {
  uint64_t vaddr = 0;
  Address physical;
  size_t node = 0, segment = 0;
  const Segment* seg = nullptr;
};
// Translates a MeMS virtual address inside a PROCESS segment; throws
// UserError (one line) for an address in a HOLE or outside every node.
Translation translate(const SegmentHeap& h, uint64_t vaddr);
// The same translation, as mems_get does it, without the error: nullopt
// for an address in no PROCESS segment (what the leak scan asks of every word).
std::optional<Translation> try_translate(const SegmentHeap& h, uint64_t vaddr);

}  // namespace heapscope::mems
