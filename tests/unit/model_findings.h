// What a hand-built heap's model found wrong, for the allocator models'
// unit tests (jemalloc_heap_test.cc, musl_heap_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "heapscope/model/heap_model.h"

namespace heapscope::testing {

// The kinds of the model's findings, in the order the walk met them.
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
