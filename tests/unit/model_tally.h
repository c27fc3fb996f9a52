// Helpers for the allocator model tests: a model's blocks tallied by kind
// and state, and its findings by kind.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
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

inline std::vector<std::string> finding_kinds(const HeapModel& m) {
  std::vector<std::string> out;
  for (const auto& f : m.findings) out.push_back(f.kind);
  return out;
}

inline bool has_finding(const HeapModel& m, std::string_view kind) {
  for (const auto& f : m.findings)
    if (f.kind == kind) return true;
  return false;
}

}  // namespace heapscope
