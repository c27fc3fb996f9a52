#include "heapscope/analysis/stats.h"

namespace heapscope {

uint64_t StateTallies::bytes() const {
  uint64_t b = 0;
  for (const auto& t : by_state) b += t.bytes;
  return b;
}

HeapStats compute_stats(const glibc::Heap& heap) {
  HeapStats s;
  s.glibc_version = heap.version;
  for (const auto& a : heap.arenas) {
    ArenaStats as;
    as.index = a.index;
    as.address = a.address;
    as.main = a.main;
    as.heaps = a.heaps.size();
    as.system_bytes = a.system_mem;
    as.top = a.top;
    s.system_bytes += a.system_mem;
    s.arenas.push_back(as);
  }
  for (const auto& c : heap.blocks) {
    if (c.owner == glibc::kMmappedArena) {
      s.mmapped.add(c.size);
      continue;
    }
    if (c.owner < 0 || static_cast<size_t>(c.owner) >= s.arenas.size()) continue;
    s.arenas[c.owner].states[glibc::state_of(c)].add(c.size);
    s.total[glibc::state_of(c)].add(c.size);
  }
  return s;
}

}  // namespace heapscope
