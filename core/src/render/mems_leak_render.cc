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

std::string mems_leaks_text(const mems::Heap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l) {
  MemsTally leaked = a.leaked();
  uint64_t bytes = leaked.segment_bytes + leaked.block_bytes;
  std::string out = fmt::format("leaked: {} segment{} and {} block{}, {} bytes{}\n", leaked.segments,
                                plural(leaked.segments), leaked.blocks, plural(leaked.blocks), bytes,
                                bytes >= 1024 ? " (" + human_size(bytes) + ")" : "");
  out += tally_line("direct", a.direct);
  out += tally_line("indirect", a.indirect);
  out += tally_line("possible", a.possible);
  out += tally_line("reachable", a.reachable);
  if (!a.glibc_scanned) out += "note: no glibc heap found: malloc'ed memory was scanned as roots\n";
  if (l.summary) return out;
  std::string segs, blocks;
  for (size_t k = 0; k < a.objects.size(); ++k) {
    if (!listed(a.classes[k])) continue;
    const MemsObject& o = a.objects[k];
    if (o.kind == MemsObject::Kind::kSegment) {
      const mems::Segment& s = h.nodes[o.node].segments[o.segment];
      segs += fmt::format("{:<9} {:<10} {:<18} {:>10} {:>10} {:>6}  {}\n", leak_class_name(a.classes[k]),
                          to_hex(s.vstart), to_hex(s.pstart), s.size, s.requested, s.seq, site_text(s, l.sites));
    } else {
      const mems::Pool& p = h.arenas[o.arena].pools[o.pool];
      blocks += fmt::format("{:<9} {:<18} {:>6} {:>6}  {:<18} {:>5}\n", leak_class_name(a.classes[k]),
                            to_hex(o.begin), o.size, p.class_index, to_hex(p.address), o.block);
    }
  }
  if (segs.empty() && blocks.empty()) return out + "\nno leaks\n";
  if (!segs.empty())
    out += fmt::format("\nsegments:\n{:<9} {:<10} {:<18} {:>10} {:>10} {:>6}  {}\n", "class", "virtual", "physical",
                       "size", "requested", "seq", "site") + segs;
  if (!blocks.empty())
    out += fmt::format("\nblocks:\n{:<9} {:<18} {:>6} {:>6}  {:<18} {:>5}\n", "class", "address", "size", "class#",
                       "pool", "index") + blocks;
  return out;
}

std::string mems_leaks_json(const mems::Heap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l) {
  json doc{{"leaked", tally_json(a.leaked())},
           {"direct", tally_json(a.direct)},
           {"indirect", tally_json(a.indirect)},
           {"possible", tally_json(a.possible)},
           {"reachable", tally_json(a.reachable)},
           {"glibc_scanned", a.glibc_scanned}};
  if (!l.summary) {
    json segs = json::array(), blocks = json::array();
    for (size_t k = 0; k < a.objects.size(); ++k) {
      if (!listed(a.classes[k])) continue;
      const MemsObject& o = a.objects[k];
      std::string cls(leak_class_name(a.classes[k]));
      if (o.kind == MemsObject::Kind::kSegment) {
        const mems::Segment& s = h.nodes[o.node].segments[o.segment];
        json site = nullptr, file = nullptr, line = nullptr;
        if (auto it = l.sites.find(s.site.value); !s.site.is_null() && it != l.sites.end()) {
          site = format_symbol(it->second);
          if (!it->second.file.empty()) file = it->second.file, line = it->second.line;
        }
        segs.push_back({{"virtual", to_hex(s.vstart)},
                        {"physical", to_hex(s.pstart)},
                        {"size", s.size},
                        {"requested", s.requested},
                        {"sequence", s.seq},
                        {"site_address", s.site.is_null() ? json(nullptr) : json(to_hex(s.site))},
                        {"site", site},
                        {"file", file},
                        {"line", line},
                        {"class", cls}});
      } else {
        const mems::Pool& p = h.arenas[o.arena].pools[o.pool];
        blocks.push_back({{"address", to_hex(o.begin)},
                          {"size", o.size},
                          {"size_class", p.class_index},
                          {"pool", to_hex(p.address)},
                          {"index", o.block},
                          {"class", cls}});
      }
    }
    doc["segments"] = std::move(segs);
    doc["blocks"] = std::move(blocks);
  }
  doc["findings"] = h.findings.size();
  return doc.dump() + "\n";
}

}  // namespace heapscope
