// Tiling: the last steps every allocator model's walk shares. Blocks come
// out of a walk mostly in address order (page or extent maps are walked in
// order, metadata is added after); these put them in order, keep the first
// of two that overlap (corrupt descriptors) with a finding, and derive the
// system ranges the blocks tile. (Whether a block is in mapped memory at all:
// util/mapped_range.h.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "heapscope/model/heap_model.h"

namespace heapscope {

// Sorts heap.blocks by address, drops a block that overlaps the one kept
// before it ("overlap" finding; its bytes leave its owner's system_bytes)
// and sets heap.system to the merged ranges of what is left. At most
// `max_findings` findings in all.
void sort_and_tile(HeapModel& heap, size_t max_findings);

}  // namespace heapscope
