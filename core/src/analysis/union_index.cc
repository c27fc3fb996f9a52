// allocators_memory: what the union's roots leave out.
#include "analysis/union_index.h"

#include "heapscope/analysis/mems_leaks.h"

namespace heapscope::analysis {

std::vector<AddressRange> allocators_memory(const std::vector<const HeapModel*>& models) {
  std::vector<AddressRange> all;
  for (const HeapModel* m : models) {
    all.insert(all.end(), m->system.begin(), m->system.end());
    if (auto* mm = dynamic_cast<const mems::Model*>(m)) {
      auto own = mems_own_memory(mm->walk);
      all.insert(all.end(), own.begin(), own.end());
    }
  }
  std::sort(all.begin(), all.end(), [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  std::vector<AddressRange> merged;
  for (const auto& r : all) {
    if (r.end <= r.begin) continue;
    if (!merged.empty() && r.begin <= merged.back().end) merged.back().end = std::max(merged.back().end, r.end);
    else merged.push_back(r);
  }
  return merged;
}

}  // namespace heapscope::analysis
