// Leak groups: the listed (possible and leaked) blocks of a leak analysis
// gathered by class, type and size, as `heap leaks` shows them by default:
// direct first, then indirect, then possible; biggest first within a class.
// One result for the text and the JSON renderers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "heapscope/analysis/leaks.h"

namespace heapscope {

struct LeakGroup {
  LeakClass cls = LeakClass::kNotNode;
  uint32_t type = 0;  // 0 none, else 1 + index in the type names
  uint64_t size = 0;  // block size, headers included
  Tally tally;
  std::vector<Address> samples;  // user addresses of the first few members, address order
};

inline constexpr size_t kLeakGroupSamples = 3;

// `blocks`: indices into heap.blocks (address order); `types`: one per block;
// `type_names`: what the type ids name (ties are broken by name).
std::vector<LeakGroup> group_leaks(const HeapModel& heap, const LeakAnalysis& a,
                                   std::span<const uint32_t> blocks, std::span<const uint32_t> types,
                                   std::span<const std::string> type_names);

}  // namespace heapscope
