#include "heapscope/sites/mems_sites.h"

#include <algorithm>
#include <unordered_map>

namespace heapscope::sites {

RecordTables mems_site_tables(const mems::SegmentHeap& heap) {
  RecordTables t;
  t.origin = "MeMS";
  t.unrecorded = "MeMS keeps no site for pool blocks";
  t.root = heap.root.address;
  t.by_symbol = heap.root.found_by_symbol;
  t.busy = heap.root.busy;
  t.allocations = heap.root.next_seq > 0 ? heap.root.next_seq - 1 : 0;
  std::unordered_map<uint64_t, uint32_t> stack_of;  // site -> index into t.stacks
  for (const mems::Node& node : heap.nodes)
    for (const mems::Segment& s : node.segments) {
      if (s.type != mems::SegmentType::kProcess || s.is_arena()) continue;
      SiteRecord r{s.pstart, s.seq, 0, kNoStack};
      if (!s.site.is_null()) {
        auto [it, fresh] = stack_of.try_emplace(s.site.value, static_cast<uint32_t>(t.stacks.size()));
        if (fresh) t.stacks.push_back({s.site});
        r.stack = it->second;
      }
      t.records.push_back(r);
    }
  std::sort(t.records.begin(), t.records.end(),
            [](const SiteRecord& a, const SiteRecord& b) { return a.address < b.address; });
  return t;
}

}  // namespace heapscope::sites
