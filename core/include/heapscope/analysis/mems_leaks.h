// mems leaks: which PROCESS segments and pool blocks of the mems allocators
// no root reaches, with heap leaks' classes (reachable, possible, direct,
// indirect; see leaks.h).
//
// An object is a PROCESS segment that is not a pool arena, or a used pool
// block (not one held in a thread cache: those are free for the program). A word points into a segment when it holds a MeMS virtual address
// inside [vstart, vstart + size) or a physical one inside [pstart, pstart +
// size); vstart and pstart are start pointers, the rest interior. Blocks are
// handed out as physical pointers only, so only those reach them.
// Roots are heap leaks' (registers, stacks, module data, TLS, anonymous
// writable memory) minus the mems allocators' own memory (node mappings,
// metadata pages, the pool map, thread caches and the root struct mems_root), so the
// allocator's bookkeeping keeps nothing alive. In-use glibc chunks are
// vertices of the same graph: a malloc'ed struct that is reachable keeps the
// MeMS objects it points to alive, and a leaked one makes them indirect.
// The graph is heap leaks' union over every heap (analyze_union_leaks).
// Free blocks, HOLEs and pool headers are neither scanned nor vertices.
#pragma once

#include <cstdint>
#include <vector>

#include "heapscope/analysis/leaks.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/mems/heap.h"
#include "heapscope/mems/model.h"
#include "heapscope/target.h"

namespace heapscope {

struct MemsObject {
  enum class Kind : uint8_t { kSegment, kBlock } kind = Kind::kSegment;
  Address begin;  // physical address
  uint64_t size = 0;
  size_t node = 0, segment = 0;           // kSegment: h.nodes[node].segments[segment]
  size_t arena = 0, pool = 0;             // kBlock: h.arenas[arena].pools[pool]
  uint32_t block = 0;                     // kBlock: index in its pool
};

struct MemsTally {
  uint64_t segments = 0, segment_bytes = 0, blocks = 0, block_bytes = 0;
  void add(const MemsObject& o) {
    if (o.kind == MemsObject::Kind::kSegment) ++segments, segment_bytes += o.size;
    else ++blocks, block_bytes += o.size;
  }
  void add(const MemsTally& t) {
    segments += t.segments, segment_bytes += t.segment_bytes, blocks += t.blocks, block_bytes += t.block_bytes;
  }
};

struct MemsLeakAnalysis {
  std::vector<MemsObject> objects;  // physical address order
  std::vector<LeakClass> classes;   // one per object
  MemsTally reachable, possible, direct, indirect;
  bool glibc_scanned = false;       // false: no glibc heap, its chunks were not part of the graph
  MemsTally leaked() const {
    MemsTally t = direct;
    t.add(indirect);
    return t;
  }
};

// The mems allocators' own memory (node mappings, metadata pages, the pool
// map, thread caches, mems_root): never a root, so their bookkeeping keeps
// nothing alive. Address order.
std::vector<AddressRange> mems_own_memory(const mems::SegmentHeap& heap);

// `mems leaks`' view of the union's analysis (analyze_union_leaks):
// `leaks` is the one for `model`. glibc_scanned: a glibc heap was part of the union.
MemsLeakAnalysis mems_leaks_of(const mems::Model& model, const LeakAnalysis& leaks, bool glibc_scanned);

}  // namespace heapscope
