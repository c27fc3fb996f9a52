// Fragmentation of the glibc heap: free bytes per class, the largest free
// chunk, external fragmentation (1 - largest free / total free), histograms
// of free and in-use chunk sizes, and what malloc_trim(0) would give back to
// the system right now, modelled on glibc 2.36's mtrim():
//
//   1. malloc_consolidate(): every fast chunk merges with its free neighbours
//      (fast or in a bin; tcache chunks count as in use); a merged run that
//      touches top becomes part of top.
//   2. every chunk then in the unsorted or a large bin releases, with
//      madvise(MADV_DONTNEED), the whole pages of its interior that lie past
//      its header and fd/bk/fd_nextsize/bk_nextsize (sizeof(malloc_chunk)).
//   3. the main arena only: systrim(0) gives top back with sbrk down to
//      ALIGN_DOWN(top size - MINSIZE - 1, page). mtrim() does not call
//      heap_trim() on other arenas, so their tops keep every page.
//   tcache chunks are untouched: mtrim() does not look at tcache.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "heapscope/analysis/stats.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

// Power-of-two buckets: bucket i holds sizes in [2^i, 2^(i+1)).
struct SizeHistogram {
  std::array<Tally, 64> buckets{};
  void add(uint64_t size);
  void add(const SizeHistogram& h);
  uint64_t chunks() const;
};
int size_bucket(uint64_t size);  // floor(log2(size)); 0 for size 0

// One range malloc_trim(0) would release.
struct TrimRange {
  AddressRange range;
  int arena = 0;
  bool top = false;  // systrim of the main arena's top (sbrk), else madvise of a bin chunk
};

struct FragFigures {
  int arena = -1;  // -1: all arenas
  // tcache, fast, unsorted, small, large and top; other states stay zero.
  StateTallies free;
  uint64_t free_bytes = 0;  // sum of the six classes
  uint64_t largest_free = 0;
  Address largest_free_at;
  glibc::ChunkState largest_free_state = glibc::ChunkState::kTop;
  double external_fragmentation = 0;  // 1 - largest_free / free_bytes; 0 when nothing is free
  SizeHistogram free_sizes;    // tcache, fast and bin chunks (top excluded)
  SizeHistogram in_use_sizes;  // in_use chunks
  // malloc_trim(0)
  uint64_t trim_bins = 0;      // madvise'd interiors of bin chunks after consolidation
  uint64_t trim_top = 0;       // sbrk'd top of the main arena
  uint64_t fast_consolidated = 0;      // fast chunks that consolidation would merge
  uint64_t fast_into_top = 0;          // bytes of fast runs that would join top
  uint64_t trim_bytes() const { return trim_bins + trim_top; }
};

struct FragReport {
  uint64_t page_size = 4096;
  std::vector<FragFigures> arenas;  // ring order
  FragFigures total;
  std::vector<TrimRange> trim_ranges;  // address order within each arena
  Tally mmapped;                        // not part of any arena; mtrim leaves them alone
};

// True for the free classes counted in FragFigures::free.
bool is_free_class(glibc::ChunkState s);

FragReport compute_frag(const glibc::Heap& heap, uint64_t page_size = 4096,
                        const CancelToken& cancel = CancelToken());

}  // namespace heapscope

// ---- the project's own allocators (mems)

namespace heapscope::mems {
class SegmentHeap;
}

namespace heapscope {

// Free space of the MeMS segment allocator and of the pool allocator.
struct MemsNodeFrag {
  uint64_t index = 0;
  Address pstart;
  uint64_t length = 0;
  uint64_t holes = 0, hole_bytes = 0, largest_hole = 0;
  uint64_t tail_hole = 0;     // bytes of the HOLE that ends the node (page rounding left over)
  uint64_t process_slack = 0; // PROCESS bytes beyond what was requested
};
struct MemsClassFrag {
  uint32_t class_index = 0, block_size = 0;
  uint64_t pools = 0;        // USED and FULL pools of this class
  uint64_t free_blocks = 0;  // capacity - used, over those pools
  uint64_t free_bytes = 0;
};
struct MemsFrag {
  std::vector<MemsNodeFrag> nodes;
  uint64_t holes = 0, hole_bytes = 0, largest_hole = 0, tail_bytes = 0, process_slack = 0;
  double external_fragmentation = 0;  // 1 - largest hole / hole bytes
  std::vector<MemsClassFrag> classes;
  uint64_t empty_pools = 0;     // carved pools in state EMPTY
  uint64_t uncarved_pools = 0;  // room for pools not carved yet
  uint64_t pool_free_bytes = 0;
};
MemsFrag compute_mems_frag(const mems::SegmentHeap& heap);

}  // namespace heapscope
