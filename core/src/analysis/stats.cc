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

ModelStats compute_model_stats(const HeapModel& m) {
  ModelStats s;
  s.allocator = m.allocator;
  s.version = m.version;
  for (const BlockKind& k : m.kinds) s.kind_names.push_back(k.name);
  for (const Owner& o : m.owners) {
    s.owners.push_back({o.label, o.address, o.system_bytes, std::vector<Tally>(m.kinds.size())});
  }
  // Every byte the allocator got, its owners' and the unowned blocks' alike.
  for (const AddressRange& r : m.system) s.system_bytes += r.size();
  s.unowned.label = "no owner";
  s.unowned.by_kind.resize(m.kinds.size());
  s.by_kind.resize(m.kinds.size());
  for (const Block& b : m.blocks) {
    if (b.kind >= m.kinds.size()) continue;
    const int owner = b.owner;
    OwnerStats& o = owner >= 0 && static_cast<size_t>(owner) < s.owners.size() ? s.owners[owner] : s.unowned;
    o.by_kind[b.kind].add(b.size);
    s.by_kind[b.kind].add(b.size);
    s.by_state[static_cast<size_t>(m.kinds[b.kind].state)].add(b.size);
  }
  s.findings = m.findings.size();
  return s;
}

}  // namespace heapscope
