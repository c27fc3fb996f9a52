// HeapSample: one look at a live heap while it is watched (heapscope --watch):
// when it was taken, how long the process stood still for it, and the
// figures a growth plot draws (in use, free, system bytes) in total and per
// owner, beside heap stats --json's own document.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapscope/analysis/stats.h"

namespace heapscope {

// What one owner (or the total) held at the sample. Free counts every byte
// the allocator holds for reuse: free lists, thread caches and top.
struct SampleFigures {
  std::string label;  // "arena 0", "no owner", "total"
  Tally in_use;       // handed out to the program, mapped blocks included
  Tally free;
  uint64_t system_bytes = 0;
};

struct HeapSample {
  uint64_t index = 0;
  double unix_time = 0;        // when the stop began
  double elapsed_seconds = 0;  // since the first sample's stop began
  double stop_ms = 0;          // how long the process was stopped for it
  std::string allocator;
  SampleFigures total;
  std::vector<SampleFigures> owners;  // the owners', then "no owner" when it holds blocks
  std::string stats_json;             // heap stats --json's document, one line without '\n'
};

// The plotted figures of `model`, whose heap stats are `stats`.
void set_sample_figures(HeapSample& sample, const HeapModel& model, const ModelStats& stats);

}  // namespace heapscope
