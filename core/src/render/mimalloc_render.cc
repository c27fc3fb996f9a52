#include "render/mimalloc_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace heapscope {

namespace {

// The pages of each owner, in the model's (address) order.
std::vector<std::vector<const mimalloc::Page*>> pages_by_owner(const mimalloc::Heap& heap, int only) {
  std::vector<std::vector<const mimalloc::Page*>> out(heap.owners.size());
  for (const auto& p : heap.pages)
    if (p.owner >= 0 && size_t(p.owner) < out.size() && (only < 0 || p.owner == only)) out[p.owner].push_back(&p);
  return out;
}

}  // namespace

std::string mimalloc_pages_text(const mimalloc::Heap& heap, int only, size_t per_heap) {
  std::string out = fmt::format("mimalloc {}: {} pages with blocks\n", heap.version, heap.pages.size());
  auto by_owner = pages_by_owner(heap, only);
  for (size_t o = 0; o < by_owner.size(); ++o) {
    const auto& pages = by_owner[o];
    if (pages.empty()) continue;
    out += fmt::format("\n{} (owner {}): {} pages\n", heap.owners[o].label, o, pages.size());
    out += fmt::format("  {:<18} {:<18} {:>9} {:>8} {:>8} {:>6} {:>6} {:>6} {:>7} {:>8}\n", "page", "blocks at",
                       "block", "capacity", "reserved", "used", "free", "local", "thread", "delayed");
    for (size_t i = 0; i < pages.size() && i < per_heap; ++i) {
      const auto& p = *pages[i];
      out += fmt::format("  {:<18} {:<18} {:>9} {:>8} {:>8} {:>6} {:>6} {:>6} {:>7} {:>8}\n", to_hex(p.descriptor),
                         to_hex(p.start), p.block_size, p.capacity, p.reserved, p.used, p.free, p.local_free,
                         p.thread_free, p.delayed_free);
    }
    if (pages.size() > per_heap) out += fmt::format("  ... {} of {} pages shown (--limit)\n", per_heap, pages.size());
  }
  return out;
}

std::string mimalloc_pages_json(const mimalloc::Heap& heap, int only, size_t per_heap) {
  nlohmann::json heaps = nlohmann::json::array();
  auto by_owner = pages_by_owner(heap, only);
  for (size_t o = 0; o < by_owner.size(); ++o) {
    if (by_owner[o].empty()) continue;
    nlohmann::json pages = nlohmann::json::array();
    for (size_t i = 0; i < by_owner[o].size() && i < per_heap; ++i) {
      const auto& p = *by_owner[o][i];
      pages.push_back({{"page", to_hex(p.descriptor)}, {"start", to_hex(p.start)}, {"block_size", p.block_size},
                       {"capacity", p.capacity}, {"reserved", p.reserved}, {"used", p.used}, {"free", p.free},
                       {"local_free", p.local_free}, {"thread_free", p.thread_free},
                       {"delayed_free", p.delayed_free}});
    }
    heaps.push_back({{"owner", o}, {"label", heap.owners[o].label}, {"address", to_hex(heap.owners[o].address)},
                     {"page_count", by_owner[o].size()}, {"pages", std::move(pages)}});
  }
  nlohmann::json j = {{"allocator", heap.allocator}, {"version", heap.version}, {"heaps", std::move(heaps)},
                      {"findings", heap.findings.size()}};
  return j.dump() + "\n";
}

}  // namespace heapscope
