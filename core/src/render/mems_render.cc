#include "render/mems_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;
using mems::SegmentType;

namespace {

const char* plural(uint64_t n) { return n == 1 ? "" : "s"; }

json site_json(const mems::Segment& s, const SiteNames& sites) {
  if (s.type != SegmentType::kProcess || s.site.is_null()) return nullptr;
  auto it = sites.find(s.site.value);
  return it == sites.end() ? json(nullptr) : json(it->second);
}

std::string site_text(const mems::Segment& s, const SiteNames& sites) {
  if (s.site.is_null()) return "-";
  auto it = sites.find(s.site.value);
  return it == sites.end() ? to_hex(s.site) : it->second + " (" + to_hex(s.site) + ")";
}

std::string range(uint64_t begin, uint64_t size) {
  return fmt::format("[{}, {})", to_hex(begin), to_hex(begin + size));
}

std::string segment_line(const mems::Segment& s, size_t j, const SiteNames& sites) {
  std::string out = fmt::format("  {:>3} {:<7} virtual {:<24} physical {:<16} size {}", j,
                                mems::type_name(s.type), range(s.vstart, s.size), to_hex(s.pstart), s.size);
  if (s.type == SegmentType::kProcess) {
    out += fmt::format(" requested {} seq {} site {}", s.requested, s.seq, site_text(s, sites));
    if (s.is_arena()) out += " (pool arena)";
  }
  return out + "\n";
}

}  // namespace

std::string mems_footer(const mems::SegmentHeap& h) {
  std::string out;
  for (const auto& n : h.notes) out += "note: " + n + "\n";
  if (!h.findings.empty()) {
    const auto& f = h.findings.front();
    out += fmt::format("warning: {} anomal{} found in the mems structures; first at {}: {} (see 'mems check')\n",
                       h.findings.size(), h.findings.size() == 1 ? "y" : "ies", to_hex(f.address), f.detail);
  }
  return out;
}

std::string mems_stats_text(const mems::SegmentHeap& h, const mems::SegmentStats& s, const mems::PoolStats& p) {
  std::string out = fmt::format("mems root at {}{}, layout version {}\n", to_hex(h.root.address),
                                h.root.found_by_symbol ? "" : " (found by scanning memory)",
                                h.root.layout_version);
  out += "segment allocator:\n";
  out += fmt::format("  {:<17} {}\n", "pages", s.pages);
  out += fmt::format("  {:<17} {}\n", "nodes", s.nodes);
  out += fmt::format("  {:<17} {}\n", "segments", s.segments);
  out += fmt::format("  {:<17} {}\n", "process_segments", s.process_segments);
  out += fmt::format("  {:<17} {}\n", "process_bytes", bytes_with_human(s.process_bytes));
  out += fmt::format("  {:<17} {}\n", "hole_segments", s.hole_segments);
  out += fmt::format("  {:<17} {}\n", "hole_bytes", bytes_with_human(s.hole_bytes));
  out += "pool allocator:\n";
  out += fmt::format("  {:<17} {}\n", "arenas", p.arenas);
  out += fmt::format("  {:<17} {}\n", "pools", p.pools);
  out += fmt::format("  {:<17} {}\n", "blocks_used", p.blocks_used);
  out += fmt::format("  {:<17} {}\n", "blocks_free", p.blocks_free);
  out += fmt::format("  {:<17} {}\n", "bytes_used", bytes_with_human(p.bytes_used));
  return out;
}

std::string mems_stats_json(const mems::SegmentStats& s, const mems::PoolStats& p) {
  json doc{{"pages", s.pages},
           {"nodes", s.nodes},
           {"segments", s.segments},
           {"process_segments", s.process_segments},
           {"process_bytes", s.process_bytes},
           {"hole_segments", s.hole_segments},
           {"hole_bytes", s.hole_bytes},
           {"pool",
            {{"arenas", p.arenas},
             {"pools", p.pools},
             {"blocks_used", p.blocks_used},
             {"blocks_free", p.blocks_free},
             {"bytes_used", p.bytes_used}}}};
  return doc.dump() + "\n";
}

void mems_chain_text(OutputWriter& out, const mems::SegmentHeap& h, const std::vector<size_t>& nodes,
                     const SiteNames& sites) {
  out.print("main chain: {} node{}, {} segment{}\n", h.nodes.size(), plural(h.nodes.size()), h.segment_total(),
            plural(h.segment_total()));
  for (size_t i : nodes) {
    const auto& n = h.nodes[i];
    out.print("node {}: virtual {} physical {} length {} ({} page{}), {} segment{}\n", i, range(n.vstart, n.length),
              to_hex(n.pstart), n.length, n.pages, plural(n.pages), n.segments.size(), plural(n.segments.size()));
    for (size_t j = 0; j < n.segments.size(); ++j) out.write(segment_line(n.segments[j], j, sites));
  }
}

void mems_chain_json(OutputWriter& out, const mems::SegmentHeap& h, const std::vector<size_t>& nodes,
                     const SiteNames& sites) {
  // Node by node: a chain can hold millions of segments.
  out.write("{\"nodes\":[");
  for (size_t k = 0; k < nodes.size(); ++k) {
    const auto& n = h.nodes[nodes[k]];
    json head{{"index", nodes[k]},
              {"virtual", to_hex(n.vstart)},
              {"physical", to_hex(n.pstart)},
              {"length", n.length},
              {"pages", n.pages}};
    std::string head_text = head.dump();
    head_text.pop_back();  // the closing brace: the segments follow
    out.print("{}{},\"segments\":[", k ? "," : "", head_text);
    for (size_t j = 0; j < n.segments.size(); ++j) {
      const auto& s = n.segments[j];
      json seg{{"type", std::string(mems::type_name(s.type))},
               {"virtual", to_hex(s.vstart)},
               {"physical", to_hex(s.pstart)},
               {"size", s.size},
               {"requested", s.requested},
               {"sequence", s.seq},
               {"site", site_json(s, sites)},
               {"arena", s.is_arena()}};
      out.print("{}{}", j ? "," : "", seg.dump());
    }
    out.write("]}");
  }
  out.write("]}\n");
}

std::string mems_get_text(const mems::Translation& t, const SiteNames& sites) {
  const auto& s = *t.seg;
  return fmt::format("{} -> {}  (node {}, segment {}, PROCESS {} of {} bytes at offset {}, seq {}, site {})\n",
                     to_hex(t.vaddr), to_hex(t.physical), t.node, t.segment, range(s.vstart, s.size), s.size,
                     t.vaddr - s.vstart, s.seq, site_text(s, sites));
}

std::string mems_get_json(const mems::Translation& t) {
  json doc{{"virtual", to_hex(t.vaddr)},
           {"physical", to_hex(t.physical)},
           {"node", t.node},
           {"segment", t.segment},
           {"type", std::string(mems::type_name(t.seg->type))},
           {"offset", t.vaddr - t.seg->vstart},
           {"size", t.seg->size}};
  return doc.dump() + "\n";
}

void mems_map_text(OutputWriter& out, const mems::SegmentHeap& h) {
  out.print("{:>4} {:>4}  {:<7}  {:<26} {:<34} {:>10}\n", "node", "seg", "type", "virtual", "physical", "size");
  for (size_t i = 0; i < h.nodes.size(); ++i) {
    const auto& n = h.nodes[i];
    out.print("{:>4} {:>4}  {:<7}  {:<26} {:<34} {:>10}\n", i, "-", "NODE", range(n.vstart, n.length),
              range(n.pstart.value, n.length), n.length);
    for (size_t j = 0; j < n.segments.size(); ++j) {
      const auto& s = n.segments[j];
      out.print("{:>4} {:>4}  {:<7}  {:<26} {:<34} {:>10}\n", i, j, mems::type_name(s.type),
                range(s.vstart, s.size), range(s.pstart.value, s.size), s.size);
    }
  }
}

void mems_map_json(OutputWriter& out, const mems::SegmentHeap& h) {
  // Row by row: one per node and per segment.
  out.write("{\"rows\":[");
  bool first = true;
  auto row = [&](size_t node, json segment, std::string type, uint64_t v, Address p, uint64_t size) {
    json j{{"node", node},
           {"segment", std::move(segment)},
           {"type", std::move(type)},
           {"virtual", to_hex(v)},
           {"virtual_end", to_hex(v + size)},
           {"physical", to_hex(p)},
           {"physical_end", to_hex(p + size)},
           {"size", size}};
    out.print("{}{}", first ? "" : ",", j.dump());
    first = false;
  };
  for (size_t i = 0; i < h.nodes.size(); ++i) {
    const auto& n = h.nodes[i];
    row(i, nullptr, "NODE", n.vstart, n.pstart, n.length);
    for (size_t j = 0; j < n.segments.size(); ++j) {
      const auto& s = n.segments[j];
      row(i, j, std::string(mems::type_name(s.type)), s.vstart, s.pstart, s.size);
    }
  }
  out.write("]}\n");
}

std::string mems_pools_text(const mems::SegmentHeap& h, const mems::PoolStats& p) {
  uint64_t arena_bytes = 0;
  for (const auto& a : h.arenas) arena_bytes += a.size;
  std::string out;
  out += fmt::format("Type: Arena, Count: {}, Bytes: {}\n", p.arenas, bytes_with_human(arena_bytes));
  out += fmt::format("Type: Pool, Count: {} (carved {}, empty {})\n", p.pools, p.pools_carved, p.pools_empty);
  out += fmt::format("Type: Block, Count: {}, Free: {}, Bytes used: {}\n", p.blocks_used, p.blocks_free,
                     bytes_with_human(p.bytes_used));
  for (const auto& a : h.arenas)
    out += fmt::format("arena {}: virtual {} physical {}, {} of {} pools carved, {} free\n", to_hex(a.address),
                       range(a.vstart, a.size), to_hex(a.pstart), a.pools_carved, a.pool_count, a.pools_free);
  // Thread caches: their blocks count as free above (as in mems_pool_get_stats).
  for (const auto& t : h.tcaches)
    out += fmt::format("thread cache {} (thread {}): {} free block{} cached{}\n", to_hex(t.address), t.thread,
                       t.blocks, plural(t.blocks), t.busy ? " (busy)" : "");
  if (!p.classes.empty()) {
    out += fmt::format("\n{:>5} {:>10} {:>6} {:>11} {:>11}\n", "class", "block_size", "pools", "blocks_used",
                       "blocks_free");
    for (const auto& c : p.classes)
      out += fmt::format("{:>5} {:>10} {:>6} {:>11} {:>11}\n", c.class_index, c.block_size, c.pools,
                         c.blocks_used, c.blocks_free);
  }
  return out;
}

std::string mems_pools_json(const mems::SegmentHeap& h, const mems::PoolStats& p) {
  json classes = json::array();
  for (const auto& c : p.classes)
    classes.push_back({{"class", c.class_index},
                       {"block_size", c.block_size},
                       {"pools", c.pools},
                       {"blocks_used", c.blocks_used},
                       {"blocks_free", c.blocks_free}});
  json arenas = json::array();
  for (const auto& a : h.arenas)
    arenas.push_back({{"address", to_hex(a.address)},
                      {"virtual", to_hex(a.vstart)},
                      {"physical", to_hex(a.pstart)},
                      {"pools_carved", a.pools_carved},
                      {"pools_free", a.pools_free}});
  json tcaches = json::array();
  for (const auto& t : h.tcaches)
    tcaches.push_back({{"address", to_hex(t.address)},
                       {"thread", t.thread},
                       {"blocks", t.blocks},
                       {"bytes", t.bytes},
                       {"busy", t.busy}});
  json doc{{"arenas", p.arenas},           {"pools", p.pools},
           {"blocks_used", p.blocks_used}, {"blocks_free", p.blocks_free},
           {"bytes_used", p.bytes_used},   {"classes", std::move(classes)},
           {"arena_list", std::move(arenas)}, {"thread_caches", std::move(tcaches)}};
  return doc.dump() + "\n";
}

std::string mems_check_text(const mems::SegmentHeap& h) {
  std::string out;
  for (const auto& n : h.notes) out += "note: " + n + "\n";
  std::string checked = fmt::format("{} node{}, {} segment{}, {} pool{}", h.nodes.size(), plural(h.nodes.size()),
                                    h.segment_total(), plural(h.segment_total()), h.pool_total(),
                                    plural(h.pool_total()));
  if (h.findings.empty()) return out + "mems check: " + checked + " checked; no problems found\n";
  out += fmt::format("mems check: {} problem{} in {}\n", h.findings.size(), plural(h.findings.size()), checked);
  for (const auto& f : h.findings) out += fmt::format("  {:<22} {:<18} {}\n", f.kind, to_hex(f.address), f.detail);
  return out;
}

std::string mems_check_json(const mems::SegmentHeap& h) {
  json findings = json::array();
  for (const auto& f : h.findings)
    findings.push_back({{"kind", f.kind}, {"address", to_hex(f.address)}, {"detail", f.detail}});
  json doc{{"findings", std::move(findings)},
           {"checked", {{"nodes", h.nodes.size()}, {"segments", h.segment_total()}, {"pools", h.pool_total()}}},
           {"notes", h.notes}};
  return doc.dump() + "\n";
}

}  // namespace heapscope
