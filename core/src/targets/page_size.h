// The target process's page size: the one rule every analysis and renderer
// uses (frag's trim model, page residency, physical addresses).
#pragma once

#include <cstdint>

#include "heapscope/target.h"

namespace heapscope::targets {

// AT_PAGESZ from the process's auxiliary vector when it is a power of two
// from 4 KiB to 1 MiB; else, for a live process on this machine, this
// machine's; else 4 KiB (x86-64's, and the unit its kernel dumps cores in).
uint64_t page_size(const Target& target);

}  // namespace heapscope::targets
