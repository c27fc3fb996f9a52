// `heap bins` on a mimalloc target: its page lists instead of glibc's bins.
#pragma once

#include "heapscope/command.h"

namespace heapscope {

// Writes mimalloc's page lists and returns true when the target's malloc
// is mimalloc (no glibc heap, a mimalloc model); false otherwise.
bool run_mimalloc_bins(CommandContext& ctx);

}  // namespace heapscope
