#include "heapscope/analysis/leak_groups.h"

#include <algorithm>

namespace heapscope {

std::vector<LeakGroup> group_leaks(const HeapModel& heap, const LeakAnalysis& a,
                                   std::span<const uint32_t> blocks, std::span<const uint32_t> types,
                                   std::span<const std::string> type_names) {
  // (size, type, class) -> row, by open addressing: a million listed blocks
  // fall into a few hundred groups, and a node-based map costs more than
  // the whole leak analysis.
  std::vector<LeakGroup> rows;
  std::vector<uint32_t> slots(1024, UINT32_MAX);
  auto same = [](const LeakGroup& g, uint64_t size, uint32_t type, LeakClass cls) {
    return g.size == size && g.type == type && g.cls == cls;
  };
  auto slot_of = [&](uint64_t size, uint32_t type, LeakClass cls) -> uint32_t& {
    uint64_t hash = (size * 0x9E3779B97F4A7C15ull) ^ (uint64_t{type} * 0xC2B2AE3D27D4EB4Full) ^ static_cast<uint64_t>(cls);
    hash ^= hash >> 29;
    size_t mask = slots.size() - 1;
    for (size_t k = hash & mask;; k = (k + 1) & mask)
      if (slots[k] == UINT32_MAX || same(rows[slots[k]], size, type, cls)) return slots[k];
  };
  for (size_t i = 0; i < blocks.size() && i < types.size(); ++i) {
    const auto& c = heap.blocks[blocks[i]];
    LeakClass cls = a.classes[blocks[i]];
    uint32_t& slot = slot_of(c.size, types[i], cls);
    uint32_t row = slot;
    if (row == UINT32_MAX) {
      row = slot = static_cast<uint32_t>(rows.size());
      rows.push_back({cls, types[i], c.size, {}, {}});
      if (rows.size() * 2 > slots.size()) {  // grow: rehash every row
        slots.assign(slots.size() * 2, UINT32_MAX);
        for (uint32_t r = 0; r < rows.size(); ++r) slot_of(rows[r].size, rows[r].type, rows[r].cls) = r;
      }
    }
    LeakGroup& g = rows[row];
    g.tally.add(c.size);
    if (g.samples.size() < kLeakGroupSamples) g.samples.push_back(heap.user_begin(c));
  }
  auto rank_of = [](LeakClass c) { return c == LeakClass::kDirect ? 0 : c == LeakClass::kIndirect ? 1 : 2; };
  static const std::string kNone = "-";
  auto name_of = [&](uint32_t id) -> const std::string& {
    return id && id <= type_names.size() ? type_names[id - 1] : kNone;
  };
  std::sort(rows.begin(), rows.end(), [&](const LeakGroup& x, const LeakGroup& y) {
    if (rank_of(x.cls) != rank_of(y.cls)) return rank_of(x.cls) < rank_of(y.cls);
    if (x.tally.bytes != y.tally.bytes) return x.tally.bytes > y.tally.bytes;
    if (x.size != y.size) return x.size < y.size;
    return name_of(x.type) < name_of(y.type);
  });
  return rows;
}

}  // namespace heapscope
