// heapscope --watch --html: a self-contained page plotting a watched heap's
// in-use, free and system bytes over time, per owner and in total, in the
// manner of memory_profiler's `mprof plot`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "heapscope/analysis/heap_sample.h"

namespace heapscope {

// `title`: what was watched ("process 4242 (growth_heap)").
std::string growth_plot_html(const std::vector<HeapSample>& samples, std::string_view title);

}  // namespace heapscope
