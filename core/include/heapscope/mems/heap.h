// mems::SegmentHeap: the state of the project's own allocators (mems/) in one
// target, walked once from the root `mems_root`: the segment allocator's main
// chain (nodes, each with its sub-chain of HOLE and PROCESS segments), the
// pool allocator (arenas, their pools and per-class lists) and the metadata
// pages, with every anomaly met on the way as a Finding. Every walk is
// bounded (cycle detection plus a step limit), so a corrupt heap yields
// findings, never a hang.
//
// MeMS "virtual" addresses are integers of the allocator's own address space
// (from 1000), not target addresses: they are kept as uint64_t (vstart);
// "physical" addresses are target addresses (pstart).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::mems {

// What the root says about itself and its counters (mirrors struct
// mems_root in mems/include/mems_layout.h; counters as the target holds them).
struct Root {
  Address address;            // where mems_root is in the target
  bool found_by_symbol = true; // false: found by scanning writable memory
  uint32_t layout_version = 0;
  bool initialized = false;
  bool busy = false;          // a thread held the mems lock when the target stopped
  uint64_t page_size = 0;
  uint64_t virt_base = 0, virt_next = 0;
  Address head, tail;
  uint64_t next_seq = 0;
  // segment allocator counters (mems_get_stats)
  uint64_t pages = 0, nodes = 0, segments = 0, process_segments = 0, process_bytes = 0,
           hole_segments = 0, hole_bytes = 0;
  // metadata
  Address meta_head;
  uint64_t meta_pages = 0, meta_page_bytes = 0, meta_slot_size = 0;
  Address meta_free;
  uint64_t meta_slots_used = 0;
  // pool allocator
  uint64_t pool_size = 0, arena_size = 0, pool_header_size = 0, pool_class_count = 0;
  Address arena_head, usable_arenas, pool_map;
  uint64_t pool_map_capacity = 0, pool_map_count = 0;
  // pool allocator counters (mems_pool_get_stats)
  uint64_t arenas = 0, pools = 0, blocks_used = 0, blocks_free = 0, bytes_used = 0;
  std::vector<Address> classes;  // head of each class's list of USED pools
  uint64_t errors = 0;           // bad calls the allocator reported
  // layout version 2
  uint64_t kept_pools = 0;       // bit c: class c keeps one emptied USED pool
  Address tcache_head;           // list of the threads' block caches
  uint64_t tcaches = 0;
  // What the thread caches say they hold (their own counters, summed); the
  // pool counters above include these blocks, mems_pool_get_stats does not.
  uint64_t cached_blocks = 0, cached_bytes = 0;
};

enum class SegmentType : uint8_t { kHole, kProcess, kInvalid };
std::string_view type_name(SegmentType t);  // "HOLE", "PROCESS", "INVALID"

struct Segment {
  Address address;  // the mems_segment descriptor
  SegmentType type = SegmentType::kInvalid;
  uint32_t raw_type = 0;
  uint64_t vstart = 0;
  Address pstart;
  uint64_t size = 0;
  uint64_t requested = 0;
  Address site;     // return address of the allocating call (PROCESS)
  uint64_t seq = 0;
  uint32_t flags = 0;
  Address arena;    // the mems_arena when this segment holds a pool arena

  bool is_arena() const { return flags & 1u; }
  uint64_t vend() const { return vstart + size; }
  bool contains_virtual(uint64_t v) const { return v >= vstart && v - vstart < size; }
};

struct Node {
  Address address;  // the mems_node descriptor
  uint64_t index = 0;  // stored creation index
  uint64_t vstart = 0;
  Address pstart;
  uint64_t length = 0;
  uint64_t pages = 0;  // length / page_size
  uint32_t segment_count = 0;  // as stored (checked against segments.size())
  std::vector<Segment> segments;  // the sub-chain, in order

  bool contains_virtual(uint64_t v) const { return v >= vstart && v - vstart < length; }
};

enum class PoolState : uint8_t { kEmpty, kUsed, kFull, kInvalid };
std::string_view pool_state_name(PoolState s);  // "EMPTY", "USED", "FULL", "INVALID"

struct Pool {
  Address address;          // the pool header (start of the pool)
  size_t arena = 0;         // index into SegmentHeap::arenas
  uint32_t index = 0;       // position in its arena
  PoolState state = PoolState::kInvalid;
  uint32_t class_index = 0;
  uint32_t block_size = 0;
  uint32_t used = 0;        // header's count
  uint32_t capacity = 0;
  uint32_t next_offset = 0;
  uint32_t bitmap_used = 0; // blocks whose in-use bit is set
  std::vector<Address> free_blocks;  // the free list, in order, as walked
  std::array<uint64_t, 4> in_use{};  // the header's bitmap: bit k set = block k in use

  bool block_in_use(uint32_t k) const { return k < 256 && ((in_use[k / 64] >> (k % 64)) & 1); }
  Address block(uint32_t k) const { return address + 96 + uint64_t{k} * block_size; }
  // Blocks of this pool held in a thread cache: their in-use bit is set and
  // `used` counts them, but they are free for the program.
  std::vector<Address> cached_blocks;

  bool counted() const { return state == PoolState::kUsed || state == PoolState::kFull; }
};

struct PoolArena {
  Address address;  // the mems_arena descriptor
  Address segment;  // the PROCESS segment holding its memory
  uint64_t vstart = 0;
  Address pstart;
  uint64_t size = 0;
  uint32_t pool_count = 0, pools_carved = 0, pools_free = 0;
  std::vector<Pool> pools;  // the carved pools, in address order
};

// A thread's block cache (struct mems_tcache): per class, a stack of blocks
// the thread frees into and allocates from without the mems lock.
struct ThreadCache {
  Address address;
  uint64_t thread = 0;  // kernel thread id of its thread
  bool busy = false;    // its thread was changing it when the target stopped
  uint64_t blocks = 0, bytes = 0;  // its own counters
  std::vector<std::vector<Address>> classes;  // [class] -> cached blocks, bottom first, as read
};

class SegmentHeap {
 public:
  // Finds the root (symbol mems_root, else a scan of writable memory for its
  // magic) and walks everything. Throws UserError when there is no mems root
  // or its layout version is not one this build reads.
  static SegmentHeap build(const Target& target, const SymbolResolver& symbols,
                           const CancelToken& cancel = CancelToken());

  Root root;
  std::vector<Node> nodes;    // main chain order
  std::vector<PoolArena> arenas;  // arena list order
  std::vector<ThreadCache> tcaches;  // thread cache list order
  uint64_t meta_pages_walked = 0;
  std::vector<AddressRange> meta_ranges;  // the metadata page mappings walked
  // heapscope::Finding; address: the record concerned (node, segment, pool, block, root field)
  std::vector<Finding> findings;
  std::vector<std::string> notes;  // caveats to show once (busy, not initialized)

  // Node and segment holding MeMS virtual address v (segment may be a HOLE).
  struct Place {
    size_t node = 0, segment = 0;
  };
  std::optional<Place> find_virtual(uint64_t v) const;
  size_t segment_total() const;
  size_t pool_total() const;  // carved pools of every arena
};

}  // namespace heapscope::mems
