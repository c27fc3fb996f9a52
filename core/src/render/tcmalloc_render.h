// Rendering of tcmalloc's free lists (`heap bins` on a tcmalloc target): per
// size class, the objects on its spans' free lists (the central free list),
// in its transfer cache and in each thread's cache. Text and JSON.
#pragma once

#include <string>

#include "heapscope/tcmalloc/heap.h"

namespace heapscope {

// Non-empty size classes only, at most `limit` of them.
std::string tcmalloc_bins_text(const tcmalloc::Heap& h, size_t limit);
std::string tcmalloc_bins_json(const tcmalloc::Heap& h, size_t limit);

}  // namespace heapscope
