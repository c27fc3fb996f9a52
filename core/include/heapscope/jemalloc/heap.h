// jemalloc::Heap: jemalloc 5.3's heap as a HeapModel. jemalloc hands out
// extents (page runs) from per-arena caches; an extent is a slab of
// equal-size regions (small size classes), one large allocation, or free
// (dirty: freed lately, muzzy: purged lazily, retained: address space kept
// for reuse). Every extent is registered in the emap, a radix tree keyed by
// page: walking it finds them all, full slabs included (an auto arena keeps
// those on no list). Thread caches (tcache) hold freed regions and large
// extents that jemalloc's own counters still count as allocated. Base blocks
// hold jemalloc's metadata (arenas, extent descriptors, the emap's leaves).
#pragma once

#include <memory>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::jemalloc {

class Heap : public HeapModel {
 public:
  Address emap;             // je_arena_emap_global (an rtree_t)
  Address arenas;           // je_arenas, or null when it was not found
  bool version_known = false;  // a layout row matched the version read from the target
  bool found_by_structure = false;  // roots found by shape, not by symbol
};

// The jemalloc heap of this target; nullptr when no jemalloc is mapped in it.
// Throws UserError when jemalloc is there but its roots cannot be found.
std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel);

}  // namespace heapscope::jemalloc
