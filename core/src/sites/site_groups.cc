#include "heapscope/sites/site_groups.h"

#include <algorithm>
#include <unordered_map>

namespace heapscope::sites {

SiteGroups group_by_site(const RecordTables& tables,
                         const std::function<std::optional<uint64_t>(Address)>& block_size, SiteOrder order) {
  SiteGroups out;
  std::unordered_map<uint32_t, size_t> position;  // stack -> index in out.groups
  for (const SiteRecord& r : tables.records) {
    auto size = block_size(r.address);
    if (!size) {
      ++out.not_in_heap;
      continue;
    }
    auto [it, fresh] = position.try_emplace(r.stack, out.groups.size());
    if (fresh) out.groups.push_back(SiteGroup{r.stack, 0, 0, r.seq, r.seq});
    SiteGroup& g = out.groups[it->second];
    ++g.count;
    g.bytes += *size;
    g.first_seq = std::min(g.first_seq, r.seq);
    g.last_seq = std::max(g.last_seq, r.seq);
    ++out.count;
    out.bytes += *size;
  }
  auto key = [order](const SiteGroup& g) { return order == SiteOrder::kBytes ? g.bytes : g.count; };
  std::sort(out.groups.begin(), out.groups.end(), [&](const SiteGroup& a, const SiteGroup& b) {
    if (key(a) != key(b)) return key(a) > key(b);
    return a.first_seq < b.first_seq;
  });
  return out;
}

}  // namespace heapscope::sites
