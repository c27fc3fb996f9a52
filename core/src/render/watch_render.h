// heapscope --watch's output: one JSON line per heap sample (JSON Lines).
#pragma once

#include <string>

#include "heapscope/analysis/heap_sample.h"

namespace heapscope {

// {"sample","time","elapsed","stop_ms","allocator","in_use","free",
//  "system_bytes","owners":[...],"stats":{heap stats --json}} and '\n'.
std::string heap_sample_json(const HeapSample& sample);

}  // namespace heapscope
