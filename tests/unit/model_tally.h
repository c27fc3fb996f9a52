// For the allocator model tests: a model's blocks tallied by kind and
// state (their findings: model_findings.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "heapscope/model/heap_model.h"

namespace heapscope {

struct ModelTally {
  std::map<std::string, std::pair<uint64_t, uint64_t>> kinds;  // name: blocks, bytes
  uint64_t in_use_blocks = 0, in_use_bytes = 0;
};

inline ModelTally tally(const HeapModel& m) {
  ModelTally t;
  for (const auto& b : m.blocks) {
    auto& k = t.kinds[std::string(m.kind_of(b).name)];
    ++k.first;
    k.second += b.size;
    if (m.state(b) == BlockState::kInUse) ++t.in_use_blocks, t.in_use_bytes += b.size;
  }
  return t;
}

}  // namespace heapscope
