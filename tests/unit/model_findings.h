// Helpers for tests of allocator models: a model's findings by kind.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "heapscope/model/heap_model.h"

namespace heapscope::testing {

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

}  // namespace heapscope::testing
