#include "render/musl_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "musl/layout.h"
#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

int bits_set(uint32_t x) { return __builtin_popcount(x); }
uint32_t all_slots(const musl::Group& g) { return g.slots >= 32 ? ~0u : (1u << g.slots) - 1; }
int in_use(const musl::Group& g) { return bits_set(all_slots(g) & ~(g.avail_mask | g.freed_mask)); }

// Where the group's memory came from: mapped for it, a slot of another
// group, or data the dynamic linker gave malloc.
std::string where(const musl::Group& g) {
  if (g.maplen) return fmt::format("mapped {} page{}", g.maplen, g.maplen == 1 ? "" : "s");
  return g.nested ? "nested" : "donated";
}

// Size classes in order, 63 (malloc's own mappings) last.
std::map<unsigned, std::vector<const musl::Group*>> by_class(const musl::Heap& heap) {
  std::map<unsigned, std::vector<const musl::Group*>> out;
  for (const auto& g : heap.groups) out[g.sizeclass].push_back(&g);
  for (auto& [sc, groups] : out)
    std::sort(groups.begin(), groups.end(), [](auto* a, auto* b) { return a->mem < b->mem; });
  return out;
}

std::string class_title(unsigned sc) {
  if (sc == musl::kMmappedClass) return "mmapped (one slot each, 128 KiB and more)";
  return fmt::format("class {} ({} bytes)", sc, musl::kUnit * musl::class_units(sc));
}

}  // namespace

std::string musl_groups_text(const musl::Heap& heap, size_t per_class) {
  std::string out = fmt::format("musl mallocng at {}: {} groups (masks: bit i is slot i)\n", to_hex(heap.context),
                                heap.groups.size());
  for (const auto& [sc, groups] : by_class(heap)) {
    int slots = 0, used = 0, avail = 0, freed = 0;
    for (const auto* g : groups) {
      slots += int(g->slots), used += in_use(*g);
      avail += bits_set(g->avail_mask), freed += bits_set(g->freed_mask);
    }
    out += fmt::format("\n{}: {} group{}, {} slots: {} in use, {} avail, {} freed\n", class_title(sc),
                       groups.size(), groups.size() == 1 ? "" : "s", slots, used, avail, freed);
    size_t shown = 0;
    for (const auto* g : groups) {
      if (shown++ == per_class) {
        out += fmt::format("  ... {} more (--limit)\n", groups.size() - per_class);
        break;
      }
      out += fmt::format("  group {}  meta {}  {:>2} slots of {:>6}  avail {:#010x}  freed {:#010x}  {}{}\n",
                         to_hex(g->mem), to_hex(g->meta), g->slots, g->stride, g->avail_mask, g->freed_mask,
                         where(*g), g->active ? ", active" : "");
    }
  }
  return out;
}

std::string musl_groups_json(const musl::Heap& heap) {
  json classes = json::array();
  for (const auto& [sc, groups] : by_class(heap)) {
    json list = json::array();
    for (const auto* g : groups)
      list.push_back({{"group", to_hex(g->mem)},
                      {"meta", to_hex(g->meta)},
                      {"slots", g->slots},
                      {"stride", g->stride},
                      {"avail_mask", g->avail_mask},
                      {"freed_mask", g->freed_mask},
                      {"in_use", in_use(*g)},
                      {"pages", g->maplen},
                      {"where", g->maplen ? "mapped" : g->nested ? "nested" : "donated"},
                      {"active", g->active}});
    classes.push_back({{"class", sc}, {"groups", std::move(list)}});
  }
  json doc{{"allocator", heap.allocator}, {"context", to_hex(heap.context)}, {"classes", std::move(classes)},
           {"findings", heap.findings.size()}};
  return doc.dump() + "\n";
}

}  // namespace heapscope
