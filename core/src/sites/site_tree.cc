#include "heapscope/sites/site_tree.h"

#include <algorithm>
#include <map>
#include <utility>

namespace heapscope::sites {

SiteTree build_site_tree(const RecordTables& tables, const SiteGroups& groups) {
  SiteTree t;
  t.nodes.emplace_back();
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> child;  // (parent, frame) -> node
  for (const SiteGroup& g : groups.groups) {
    uint32_t at = 0;
    t.nodes[0].bytes += g.bytes;
    t.nodes[0].count += g.count;
    if (g.stack != kNoStack && g.stack < tables.stacks.size()) {
      const auto& frames = tables.stacks[g.stack];
      for (auto f = frames.rbegin(); f != frames.rend(); ++f) {  // outermost first
        auto [it, fresh] = child.try_emplace({at, f->value}, static_cast<uint32_t>(t.nodes.size()));
        if (fresh) {
          SiteTreeNode n;
          n.frame = *f;
          n.parent = at;
          n.depth = t.nodes[at].depth + 1;
          t.nodes.push_back(std::move(n));
          t.nodes[at].children.push_back(it->second);
        }
        at = it->second;
        t.nodes[at].bytes += g.bytes;
        t.nodes[at].count += g.count;
      }
    }
    t.nodes[at].self_bytes += g.bytes;
    t.nodes[at].self_count += g.count;
  }
  for (auto& n : t.nodes)
    std::sort(n.children.begin(), n.children.end(), [&t](uint32_t a, uint32_t b) {
      if (t.nodes[a].bytes != t.nodes[b].bytes) return t.nodes[a].bytes > t.nodes[b].bytes;
      return t.nodes[a].frame < t.nodes[b].frame;
    });
  return t;
}

}  // namespace heapscope::sites
