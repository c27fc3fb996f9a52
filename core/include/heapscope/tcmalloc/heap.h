// tcmalloc::Heap: gperftools tcmalloc 2.10's heap as a HeapModel. tcmalloc
// carves memory it got from the system into spans (runs of 8 KiB pages)
// that its page heap tracks in a page map (a radix tree keyed by page). A
// span is in use (one large allocation, or a run of equal-size objects of
// one size class) or free on the page heap's normal or returned (released
// to the system) lists. A freed small object goes to its thread's cache
// first, then in batches to its size class's transfer cache, then back onto
// its span's free list (the central free list): cached for the first,
// free for the others, as tcmalloc's own counters see them. Its own
// bookkeeping (span descriptors, thread caches, the page map's leaves) comes
// from 8 MiB metadata chunks.
#pragma once

#include <memory>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::tcmalloc {

// The free lists of one size class: what `heap bins` would list.
struct SizeClassLists {
  uint32_t size_class = 0;
  uint64_t object_size = 0;
  uint64_t central_free = 0;    // objects on the class's spans' free lists
  uint64_t transfer = 0;        // objects in its transfer cache's slots
  std::vector<uint32_t> thread_caches;  // objects in each thread's list, in thread_heaps_ order
};

class Heap : public HeapModel {
 public:
  Address pageheap;            // tcmalloc::Static::pageheap_
  Address sizemap;             // tcmalloc::Static::sizemap_
  Address central_cache;       // tcmalloc::Static::central_cache_
  bool version_known = false;  // a layout row matched the version read from the target
  bool found_by_structure = false;  // roots found by shape, not by symbol
  uint64_t system_taken = 0;   // TCMalloc_SystemTaken: all tcmalloc got from the system (0: unknown)
  std::vector<Address> thread_caches;  // the ThreadCache objects
  std::vector<SizeClassLists> lists;   // size classes 1..n-1
};

// The tcmalloc heap of this target; nullptr when no tcmalloc is mapped in it.
// Throws UserError when tcmalloc is there but its roots cannot be found.
std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel);

}  // namespace heapscope::tcmalloc
