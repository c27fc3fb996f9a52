#include "render/sites_render.h"

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kTextFrames = 4;  // frames of each stack shown in text

std::string frame_text(Address ra, const std::optional<SymbolAt>& s) {
  if (!s) return to_hex(ra);
  if (s->file.empty()) return format_symbol(*s);
  auto slash = s->file.rfind('/');
  return fmt::format("{} ({}:{})", s->name.empty() ? format_symbol(*s) : s->name,
                     slash == std::string::npos ? s->file : s->file.substr(slash + 1), s->line);
}

}  // namespace

void sites_text(OutputWriter& out, const SitesListing& l) {
  const auto& g = l.groups;
  out.print("{} live allocation{} in {} site{}, {} (recorded by libheapscope-record, root {}, pid {})\n",
            g.count, g.count == 1 ? "" : "s", g.groups.size(), g.groups.size() == 1 ? "" : "s",
            bytes_with_human(g.bytes), to_hex(l.tables.root), l.tables.pid);
  out.print("{:>12}  {:>8}  {}\n", "bytes", "count", "allocated at (innermost first)");
  for (size_t i = 0; i < l.shown; ++i) {
    const auto& grp = g.groups[i];
    const std::vector<Address>* frames =
        grp.stack == sites::kNoStack ? nullptr : &l.tables.stacks[grp.stack];
    std::string first = !frames || frames->empty() ? "(no stack recorded)" : frame_text((*frames)[0], l.symbols[i][0]);
    out.print("{:>12}  {:>8}  {}\n", human_size(grp.bytes), grp.count, first);
    for (size_t f = 1; frames && f < frames->size() && f < kTextFrames; ++f)
      out.print("{:>24}{}\n", "", frame_text((*frames)[f], l.symbols[i][f]));
  }
  if (l.shown < g.groups.size())
    out.print("... {} more site{} (--limit N)\n", g.groups.size() - l.shown,
              g.groups.size() - l.shown == 1 ? "" : "s");
  if (g.not_in_heap)
    out.print("note: {} record{} name no in-use block (freed by a path the recorder did not see)\n",
              g.not_in_heap, g.not_in_heap == 1 ? "" : "s");
  for (const auto& f : l.tables.findings) out.print("warning: {}\n", f);
}

void sites_json(OutputWriter& out, const SitesListing& l) {
  const auto& g = l.groups;
  json sites = json::array();
  for (size_t i = 0; i < l.shown; ++i) {
    const auto& grp = g.groups[i];
    json frames = json::array();
    if (grp.stack != sites::kNoStack) {
      const auto& st = l.tables.stacks[grp.stack];
      for (size_t f = 0; f < st.size(); ++f) {
        const auto& s = l.symbols[i][f];
        json fr{{"address", to_hex(st[f])}};
        fr["function"] = s && !s->name.empty() ? json(s->name) : json(nullptr);
        fr["module"] = s ? json(s->module) : json(nullptr);
        fr["file"] = s && !s->file.empty() ? json(s->file) : json(nullptr);
        fr["line"] = s && s->line ? json(s->line) : json(nullptr);
        frames.push_back(std::move(fr));
      }
    }
    sites.push_back(json{{"bytes", grp.bytes}, {"count", grp.count}, {"first_seq", grp.first_seq},
                         {"last_seq", grp.last_seq}, {"frames", std::move(frames)}});
  }
  json j{{"recorder", {{"root", to_hex(l.tables.root)}, {"by_symbol", l.tables.by_symbol},
                       {"pid", l.tables.pid}, {"allocations", l.tables.allocations},
                       {"dropped", l.tables.dropped}, {"busy", l.tables.busy}}},
         {"total", {{"sites", g.groups.size()}, {"count", g.count}, {"bytes", g.bytes},
                    {"not_in_heap", g.not_in_heap}}},
         {"order", l.by_count ? "count" : "bytes"},
         {"sites", std::move(sites)},
         {"findings", l.tables.findings}};
  out.write(j.dump());
  out.write("\n");
}

}  // namespace heapscope
