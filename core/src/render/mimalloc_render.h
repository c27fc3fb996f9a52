// Renderers for mimalloc's page lists (`heap bins` on a mimalloc target):
// per heap, each page with its block size and the lengths of its four
// lists. Pure formatting over the model's Page summaries.
#pragma once

#include <cstddef>
#include <string>

#include "heapscope/mimalloc/heap.h"

namespace heapscope {

// Pages of owner `only` (all owners when negative), at most `per_heap` of
// each heap, in address order.
std::string mimalloc_pages_text(const mimalloc::Heap& heap, int only, size_t per_heap);
std::string mimalloc_pages_json(const mimalloc::Heap& heap, int only, size_t per_heap);

}  // namespace heapscope
