#include "render/tcmalloc_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

namespace {

uint64_t cached(const tcmalloc::SizeClassLists& l) {
  uint64_t n = 0;
  for (uint32_t k : l.thread_caches) n += k;
  return n;
}

bool empty(const tcmalloc::SizeClassLists& l) { return l.central_free + l.transfer + cached(l) == 0; }

}  // namespace

std::string tcmalloc_bins_text(const tcmalloc::Heap& h, size_t limit) {
  std::string out = fmt::format("tcmalloc {}: free objects per size class; {} thread cache{}\n", h.version,
                                h.thread_caches.size(), h.thread_caches.size() == 1 ? "" : "s");
  out += fmt::format("{:>5} {:>8} {:>9} {:>9} {:>14} {:>12}  {}\n", "class", "size", "central", "transfer",
                     "thread caches", "free bytes", "per thread");
  size_t shown = 0, nonempty = 0;
  for (const auto& l : h.lists) {
    if (empty(l)) continue;
    if (++nonempty > limit) continue;
    ++shown;
    std::string per_thread;
    for (uint32_t k : l.thread_caches) per_thread += fmt::format("{}{}", per_thread.empty() ? "" : " ", k);
    uint64_t bytes = (l.central_free + l.transfer + cached(l)) * l.object_size;
    out += fmt::format("{:>5} {:>8} {:>9} {:>9} {:>14} {:>12}  {}\n", l.size_class, l.object_size, l.central_free,
                       l.transfer, cached(l), bytes, per_thread);
  }
  if (nonempty == 0) out += "no non-empty free lists\n";
  if (shown < nonempty) out += fmt::format("... {} more size classes (--limit)\n", nonempty - shown);
  return out;
}

std::string tcmalloc_bins_json(const tcmalloc::Heap& h, size_t limit) {
  nlohmann::json j;
  j["allocator"] = h.allocator;
  j["version"] = h.version;
  j["thread_caches"] = nlohmann::json::array();
  for (Address tc : h.thread_caches) j["thread_caches"].push_back(to_hex(tc));
  j["classes"] = nlohmann::json::array();
  for (const auto& l : h.lists) {
    if (empty(l) || j["classes"].size() >= limit) continue;
    j["classes"].push_back({{"class", l.size_class},
                            {"size", l.object_size},
                            {"central", l.central_free},
                            {"transfer", l.transfer},
                            {"thread_caches", l.thread_caches}});
  }
  j["findings"] = h.findings.size();
  return j.dump() + "\n";
}

}  // namespace heapscope
