// mimalloc::Heap: mimalloc 2.0's heap as a HeapModel. mimalloc takes
// segments (32 MiB, aligned to their size; a huge allocation gets a segment
// of its own) from the system and cuts them in 64 KiB slices; runs of slices
// are pages, each page holds blocks of one size and belongs to one heap
// (every thread has its own; the main thread's is _mi_heap_main). A page
// keeps three free lists: `free` (malloc takes from it), `local_free` (the
// owner's frees) and `thread_free` (other threads' frees); a heap keeps a
// fourth, `thread_delayed_free`, for other threads' frees into its full
// pages. mimalloc's page counters (`used`) still count the blocks of the
// last two: the model marks them cached. The segment header and the bytes
// past a page's last block are metadata.
#pragma once

#include <memory>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::mimalloc {

// One page and its lists, for `heap bins`.
struct Page {
  Address descriptor;  // its mi_page_t in the segment header
  Address start;       // its first block
  uint64_t block_size = 0;
  uint32_t capacity = 0, reserved = 0, used = 0;  // mimalloc's own fields
  uint32_t free = 0, local_free = 0, thread_free = 0, delayed_free = 0;  // list lengths the walk found
  int owner = kNoOwner;
};

class Heap : public HeapModel {
 public:
  int version_code = 0;             // MI_MALLOC_VERSION (209)
  bool version_known = false;       // a layout row matched it
  bool found_by_structure = false;  // segments found by shape, not from _mi_heap_main
  Address main_heap;                // _mi_heap_main, when a page of it was seen (or its symbol)
  std::vector<Address> segments;
  std::vector<Page> pages;          // address order
};

// The mimalloc heap of this target; nullptr when no mimalloc is in it.
std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel);

}  // namespace heapscope::mimalloc
