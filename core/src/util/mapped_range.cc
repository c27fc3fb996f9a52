#include "util/mapped_range.h"

namespace heapscope::util {

bool mapped_without_gap(const Target& target, Address at, uint64_t size) {
  const Region* r = target.find_region(at);
  if (!r) return false;
  const auto& regions = target.regions();
  const size_t first = size_t(r - regions.data());
  for (size_t i = first; i < regions.size(); ++i) {
    if (i > first && regions[i].range.begin != regions[i - 1].range.end) return false;
    if (regions[i].range.end - at >= size) return true;
  }
  return false;
}

}  // namespace heapscope::util
