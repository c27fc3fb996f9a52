#include "render/sites_render.h"

#include "render/format.h"

namespace heapscope {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kTextFrames = 4;  // frames of each stack shown in the table

const char* plural(uint64_t n) { return n == 1 ? "" : "s"; }

json recorder_json(const sites::RecordTables& t) {
  return json{{"origin", t.origin}, {"root", to_hex(t.root)}, {"by_symbol", t.by_symbol},
              {"pid", t.pid ? json(t.pid) : json(nullptr)},
              {"allocations", t.allocations}, {"dropped", t.dropped}, {"busy", t.busy}};
}

std::string what(bool leaked) { return leaked ? "leaked" : "live"; }

}  // namespace

std::string recorded_by(const sites::RecordTables& t, bool with_root) {
  std::string s = t.origin;
  if (with_root) s += ", root " + to_hex(t.root);
  if (t.pid) s += fmt::format(", pid {}", t.pid);
  return s;
}

std::string frame_text(const NamedFrame& f) {
  const auto& s = f.symbol;
  if (!s) return to_hex(f.ra);
  if (s->file.empty()) return format_symbol(*s);
  auto slash = s->file.rfind('/');
  return fmt::format("{} ({}:{})", s->name.empty() ? format_symbol(*s) : s->name,
                     slash == std::string::npos ? s->file : s->file.substr(slash + 1), s->line);
}

json frame_json(const NamedFrame& f) {
  const auto& s = f.symbol;
  json fr{{"address", to_hex(f.ra)}};
  fr["function"] = s && !s->name.empty() ? json(s->name) : json(nullptr);
  fr["module"] = s ? json(s->module) : json(nullptr);
  fr["file"] = s && !s->file.empty() ? json(s->file) : json(nullptr);
  fr["line"] = s && s->line ? json(s->line) : json(nullptr);
  return fr;
}

void sites_text(OutputWriter& out, const SitesListing& l) {
  const auto& g = l.groups;
  out.print("{} {} allocation{} in {} site{}, {} (recorded by {})\n", g.count, what(l.leaked), plural(g.count),
            g.groups.size(), plural(g.groups.size()), bytes_with_human(g.bytes), recorded_by(l.tables, true));
  out.print("{:>12}  {:>8}  {}\n", "bytes", "count", "allocated at (innermost first)");
  for (size_t i = 0; i < l.shown; ++i) {
    const auto& grp = g.groups[i];
    const auto& frames = l.frames[i];
    std::string first = frames.empty() ? "(no stack recorded)" : frame_text(frames[0]);
    out.print("{:>12}  {:>8}  {}\n", human_size(grp.bytes), grp.count, first);
    for (size_t f = 1; f < frames.size() && f < kTextFrames; ++f) out.print("{:>24}{}\n", "", frame_text(frames[f]));
  }
  if (l.shown < g.groups.size())
    out.print("... {} more site{} (--limit N)\n", g.groups.size() - l.shown, plural(g.groups.size() - l.shown));
  if (g.not_in_heap && !l.leaked)
    out.print("note: {} record{} name no in-use block (freed by a path the recorder did not see)\n",
              g.not_in_heap, plural(g.not_in_heap));
  for (const auto& f : l.tables.findings) out.print("warning: {}\n", f);
}

void sites_json(OutputWriter& out, const SitesListing& l) {
  const auto& g = l.groups;
  json sites = json::array();
  for (size_t i = 0; i < l.shown; ++i) {
    const auto& grp = g.groups[i];
    json frames = json::array();
    for (const auto& f : l.frames[i]) frames.push_back(frame_json(f));
    sites.push_back(json{{"bytes", grp.bytes}, {"count", grp.count}, {"first_seq", grp.first_seq},
                         {"last_seq", grp.last_seq}, {"frames", std::move(frames)}});
  }
  json j{{"recorder", recorder_json(l.tables)},
         {"state", l.leaked ? "leaked" : "in_use"},
         {"total", {{"sites", g.groups.size()}, {"count", g.count}, {"bytes", g.bytes},
                    {"not_in_heap", l.leaked ? 0 : g.not_in_heap}}},
         {"order", l.by_count ? "count" : "bytes"},
         {"sites", std::move(sites)},
         {"findings", l.tables.findings}};
  out.write(j.dump());
  out.write("\n");
}

namespace {

std::string node_text(const SiteTreeListing& l, uint32_t i) {
  return i == 0 ? std::string("(all recorded allocations)") : frame_text(l.frames[i]);
}

void tree_rows(OutputWriter& out, const SiteTreeListing& l, uint32_t i, const std::string& indent) {
  const auto& n = l.tree.nodes[i];
  const uint64_t total = l.tree.nodes[0].bytes;
  out.print("{:>6.1f}%  {:>10}  {:>7}  {}{}\n", total ? 100.0 * n.bytes / total : 0.0, human_size(n.bytes),
            n.count, indent, node_text(l, i));
  size_t shown = std::min(n.children.size(), l.children_shown);
  // One column per call level: deep stacks stay on the screen.
  std::string next = indent + " ";
  for (size_t c = 0; c < shown; ++c) tree_rows(out, l, n.children[c], next);
  if (shown < n.children.size()) {
    uint64_t bytes = 0;
    for (size_t c = shown; c < n.children.size(); ++c) bytes += l.tree.nodes[n.children[c]].bytes;
    out.print("{:>8}{:>10}  {:>7}  {}... {} more caller{} (--limit N)\n", "", human_size(bytes), "", next,
              n.children.size() - shown, plural(n.children.size() - shown));
  }
}

json tree_node_json(const SiteTreeListing& l, uint32_t i) {
  const auto& n = l.tree.nodes[i];
  json children = json::array();
  for (uint32_t c : n.children) children.push_back(tree_node_json(l, c));
  return json{{"frame", i == 0 ? json(nullptr) : frame_json(l.frames[i])},
              {"bytes", n.bytes}, {"count", n.count}, {"self_bytes", n.self_bytes},
              {"self_count", n.self_count}, {"children", std::move(children)}};
}

}  // namespace

void site_tree_text(OutputWriter& out, const SiteTreeListing& l) {
  const auto& root = l.tree.nodes[0];
  out.print("{} {} allocation{}, {}, by call path, outermost first (recorded by {})\n", root.count,
            what(l.leaked), plural(root.count), bytes_with_human(root.bytes), recorded_by(l.tables, false));
  out.print("{:>7}  {:>10}  {:>7}  {}\n", "share", "bytes", "count", "frame");
  tree_rows(out, l, 0, "");
  for (const auto& f : l.tables.findings) out.print("warning: {}\n", f);
}

void site_tree_json(OutputWriter& out, const SiteTreeListing& l) {
  json j{{"recorder", recorder_json(l.tables)},
         {"state", l.leaked ? "leaked" : "in_use"},
         {"tree", tree_node_json(l, 0)},
         {"findings", l.tables.findings}};
  out.write(j.dump());
  out.write("\n");
}

std::string chunk_allocation_text(const ChunkAllocation& a) {
  if (!a.record) return fmt::format("  allocated at: not recorded ({})\n", a.unrecorded);
  std::string s = a.record->thread
                      ? fmt::format("  allocated by thread {}, allocation #{}, at:\n", a.record->thread, a.record->seq)
                      : fmt::format("  allocation #{}, at:\n", a.record->seq);
  if (a.frames.empty()) s += "    (no stack recorded)\n";
  for (size_t i = 0; i < a.frames.size(); ++i)
    s += fmt::format("    #{:<2} {}  {}\n", i, to_hex(a.frames[i].ra), frame_text(a.frames[i]));
  return s;
}

json chunk_allocation_json(const ChunkAllocation& a) {
  if (!a.record) return json(nullptr);
  json frames = json::array();
  for (const auto& f : a.frames) frames.push_back(frame_json(f));
  return json{{"seq", a.record->seq}, {"thread", a.record->thread ? json(a.record->thread) : json(nullptr)},
              {"frames", std::move(frames)}};
}

}  // namespace heapscope
