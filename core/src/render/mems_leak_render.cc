#include "render/mems_leak_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

const char* plural(uint64_t n) { return n == 1 ? "" : "s"; }

bool listed(LeakClass c) {
  return c == LeakClass::kDirect || c == LeakClass::kIndirect || c == LeakClass::kPossible;
}

std::string file_line(const SymbolAt& s) {
  if (s.file.empty()) return "";
  auto slash = s.file.rfind('/');
  return fmt::format("{}:{}", slash == std::string::npos ? s.file : s.file.substr(slash + 1), s.line);
}

// "make_records+0x2a at mems_leaks.c:42 (0x401234)", or the bare address.
std::string site_text(const mems::Segment& s, const SiteSymbols& sites) {
  if (s.site.is_null()) return "-";
  auto it = sites.find(s.site.value);
  if (it == sites.end()) return to_hex(s.site);
  std::string where = file_line(it->second);
  return format_symbol(it->second) + (where.empty() ? "" : " at " + where) + " (" + to_hex(s.site) + ")";
}

std::string tally_line(std::string_view name, const MemsTally& t) {
  return fmt::format("  {:<10} {:>6} segment{} {:>12} bytes  {:>6} block{} {:>10} bytes\n", name, t.segments,
                     t.segments == 1 ? " " : "s", t.segment_bytes, t.blocks, t.blocks == 1 ? " " : "s",
                     t.block_bytes);
}

json tally_json(const MemsTally& t) {
  return json{{"segments", t.segments},
              {"segment_bytes", t.segment_bytes},
              {"blocks", t.blocks},
              {"block_bytes", t.block_bytes},
              {"bytes", t.segment_bytes + t.block_bytes}};
}

}  // namespace

void mems_leaks_text(OutputWriter& out, const mems::SegmentHeap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l) {
  MemsTally leaked = a.leaked();
  uint64_t bytes = leaked.segment_bytes + leaked.block_bytes;
  out.print("leaked: {} segment{} and {} block{}, {} bytes{}\n", leaked.segments, plural(leaked.segments),
            leaked.blocks, plural(leaked.blocks), bytes, bytes >= 1024 ? " (" + human_size(bytes) + ")" : "");
  out.write(tally_line("direct", a.direct));
  out.write(tally_line("indirect", a.indirect));
  out.write(tally_line("possible", a.possible));
  out.write(tally_line("reachable", a.reachable));
  if (!a.glibc_scanned) out.write("note: no glibc heap found: malloc'ed memory was scanned as roots\n");
  if (l.summary) return;
  // Segments, then blocks: one pass each, a table's header before its first row.
  bool any = false;
  for (size_t k = 0; k < a.objects.size(); ++k) {
    const MemsObject& o = a.objects[k];
    if (!listed(a.classes[k]) || o.kind != MemsObject::Kind::kSegment) continue;
    if (!any)
      out.print("\nsegments:\n{:<9} {:<10} {:<18} {:>10} {:>10} {:>6}  {}\n", "class", "virtual", "physical",
                "size", "requested", "seq", "site");
    any = true;
    const mems::Segment& s = h.nodes[o.node].segments[o.segment];
    out.print("{:<9} {:<10} {:<18} {:>10} {:>10} {:>6}  {}\n", leak_class_name(a.classes[k]), to_hex(s.vstart),
              to_hex(s.pstart), s.size, s.requested, s.seq, site_text(s, l.sites));
  }
  bool any_block = false;
  for (size_t k = 0; k < a.objects.size(); ++k) {
    const MemsObject& o = a.objects[k];
    if (!listed(a.classes[k]) || o.kind == MemsObject::Kind::kSegment) continue;
    if (!any_block)
      out.print("\nblocks:\n{:<9} {:<18} {:>6} {:>6}  {:<18} {:>5}\n", "class", "address", "size", "class#", "pool",
                "index");
    any_block = true;
    const mems::Pool& p = h.arenas[o.arena].pools[o.pool];
    out.print("{:<9} {:<18} {:>6} {:>6}  {:<18} {:>5}\n", leak_class_name(a.classes[k]), to_hex(o.begin), o.size,
              p.class_index, to_hex(p.address), o.block);
  }
  if (!any && !any_block) out.write("\nno leaks\n");
}

void mems_leaks_json(OutputWriter& out, const mems::SegmentHeap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l) {
  // Written member by member, the same bytes as one dump() of the document.
  json head{{"leaked", tally_json(a.leaked())},
            {"direct", tally_json(a.direct)},
            {"indirect", tally_json(a.indirect)},
            {"possible", tally_json(a.possible)},
            {"reachable", tally_json(a.reachable)},
            {"glibc_scanned", a.glibc_scanned}};
  std::string head_text = head.dump();
  head_text.pop_back();  // the closing brace: more members follow
  out.write(head_text);
  if (!l.summary) {
    out.write(",\"segments\":[");
    bool first = true;
    for (size_t k = 0; k < a.objects.size(); ++k) {
      const MemsObject& o = a.objects[k];
      if (!listed(a.classes[k]) || o.kind != MemsObject::Kind::kSegment) continue;
      const mems::Segment& s = h.nodes[o.node].segments[o.segment];
      json site = nullptr, file = nullptr, line = nullptr;
      if (auto it = l.sites.find(s.site.value); !s.site.is_null() && it != l.sites.end()) {
        site = format_symbol(it->second);
        if (!it->second.file.empty()) file = it->second.file, line = it->second.line;
      }
      json row{{"virtual", to_hex(s.vstart)},
               {"physical", to_hex(s.pstart)},
               {"size", s.size},
               {"requested", s.requested},
               {"sequence", s.seq},
               {"site_address", s.site.is_null() ? json(nullptr) : json(to_hex(s.site))},
               {"site", site},
               {"file", file},
               {"line", line},
               {"class", std::string(leak_class_name(a.classes[k]))}};
      if (!first) out.write(",");
      first = false;
      out.write(row.dump());
    }
    out.write("],\"blocks\":[");
    first = true;
    for (size_t k = 0; k < a.objects.size(); ++k) {
      const MemsObject& o = a.objects[k];
      if (!listed(a.classes[k]) || o.kind == MemsObject::Kind::kSegment) continue;
      const mems::Pool& p = h.arenas[o.arena].pools[o.pool];
      json row{{"address", to_hex(o.begin)},
               {"size", o.size},
               {"size_class", p.class_index},
               {"pool", to_hex(p.address)},
               {"index", o.block},
               {"class", std::string(leak_class_name(a.classes[k]))}};
      if (!first) out.write(",");
      first = false;
      out.write(row.dump());
    }
    out.write("]");
  }
  out.print(",\"findings\":{}}}\n", h.findings.size());
}

}  // namespace heapscope
