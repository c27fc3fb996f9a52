// Renderers for reports over any allocator's HeapModel (glibc keeps its own
// richer ones in heap_render): text for people, one line of JSON for programs.
#pragma once

#include <string>

#include "heapscope/analysis/stats.h"

namespace heapscope {

std::string model_stats_text(const ModelStats& s);
std::string model_stats_json(const ModelStats& s);

}  // namespace heapscope
