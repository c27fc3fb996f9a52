// Whether a range an allocator's descriptor claims lies in the target's
// memory: a block outside it is corrupt and would make the block index huge.
#pragma once

#include <cstdint>

#include "heapscope/target.h"

namespace heapscope::util {

// [at, at + size) lies in mappings that follow each other without a gap
// (a kernel splits one mapping where its pages' flags differ).
bool mapped_without_gap(const Target& target, Address at, uint64_t size);

}  // namespace heapscope::util
