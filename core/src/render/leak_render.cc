#include "render/leak_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

json tally_json(const Tally& t) { return json{{"chunks", t.chunks}, {"bytes", t.bytes}}; }

// Leaks are findings; what is only possibly leaked a lesser one; what is
// reachable is in order.
Hue leak_hue(LeakClass c) {
  switch (c) {
    case LeakClass::kDirect: return Hue::kFinding;
    case LeakClass::kIndirect: return Hue::kAnomaly;
    case LeakClass::kPossible: return Hue::kUnsorted;
    case LeakClass::kReachable: return Hue::kGood;
    case LeakClass::kNotNode: return Hue::kPlain;
  }
  return Hue::kPlain;
}

std::string tally_line(LeakClass c, const Tally& t, const Style& style) {
  const std::string_view name = leak_class_name(c);
  return fmt::format("  {} {:>10} chunk{} {:>14} bytes{}\n", style.left(t.chunks ? leak_hue(c) : Hue::kPlain, name, 10), t.chunks, t.chunks == 1 ? " " : "s",
                     t.bytes, t.bytes >= 1024 ? " (" + human_size(t.bytes) + ")" : "");
}

const std::string& type_or_dash(const LeakListing& l, uint32_t id) {
  static const std::string kDash = "-";
  return id ? l.type_names[id - 1] : kDash;
}

// The heaps a refs report names blocks in: the caller's one heap, or the
// union's (find_union_refs), where every block is named with its allocator.
class RefHeaps {
 public:
  RefHeaps(const HeapModel& h, const RefsReport& r) : one_(h), many_(r.heaps.empty() ? nullptr : &r.heaps) {}
  const HeapModel& operator[](uint32_t i) const { return many_ ? *(*many_)[i] : one_; }
  bool named() const { return many_ != nullptr; }

 private:
  const HeapModel& one_;
  const std::vector<const HeapModel*>* many_;
};

std::string chunk_brief(const HeapModel& h, int64_t i, const Style& style, bool named = false) {
  const auto& c = h.blocks[static_cast<size_t>(i)];
  return fmt::format("{}chunk {} (data {}, {} bytes, {})", named ? h.allocator + " " : "", style.address(c.address),
                     style.address(h.user_begin(c)), c.size, style.paint(kind_hue(h.kind_of(c)), h.kind_of(c).name));
}

std::string offset_text(uint64_t off) { return off ? fmt::format("data+{:#x}", off) : "data"; }

// The target address a reference's value stands for.
uint64_t pointed_to(const Reference& r) { return r.mems_virtual ? r.resolved : r.value; }

// Where a reference is held, for people.
std::string holder_text(const RefHeaps& hs, const Reference& r, const Style& style) {
  switch (r.from) {
    case Reference::From::kRegister:
      return fmt::format("register {} of thread {}", r.name, r.tid);
    case Reference::From::kStack:
      // Below sp is the red zone (x86-64: 128 bytes): sp-0x58, not a wrapped sp+0xff...a8.
      return r.where >= r.thread_sp
                 ? fmt::format("stack of thread {} at {} (sp+{:#x})", r.tid, style.address(r.where), r.where - r.thread_sp)
                 : fmt::format("stack of thread {} at {} (sp-{:#x})", r.tid, style.address(r.where), r.thread_sp - r.where);
    case Reference::From::kModule:
      return fmt::format("global {} at {}", r.name.empty() ? "?" : r.name, style.address(r.where));
    case Reference::From::kAnonymous:
      return fmt::format("anonymous memory at {}", style.address(r.where));
    case Reference::From::kChunk: {
      const HeapModel& h = hs[r.heap];
      const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
      return fmt::format("{} at {}", chunk_brief(h, r.chunk, style, hs.named()), offset_text(r.where - h.user_begin(c)));
    }
  }
  return "?";
}

json reference_json(const RefHeaps& hs, const Reference& r, Address target_data) {
  json j{{"from", std::string(reference_from_name(r.from))}};
  if (r.from != Reference::From::kRegister) j["where"] = to_hex(r.where);
  j["value"] = to_hex(r.value);
  if (r.mems_virtual) j["virtual"] = true;
  j["offset"] = pointed_to(r) - target_data.value;
  j["start"] = r.start;
  if (r.from == Reference::From::kRegister || r.from == Reference::From::kStack) j["tid"] = r.tid;
  if (r.from == Reference::From::kRegister) j["register"] = r.name;
  if (r.from == Reference::From::kStack) j["sp_offset"] = r.where.value - r.thread_sp.value;
  if (r.from == Reference::From::kModule) j["symbol"] = r.name.empty() ? json(nullptr) : json(r.name);
  if (r.from == Reference::From::kChunk) {
    const HeapModel& h = hs[r.heap];
    const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
    if (hs.named()) j["allocator"] = h.allocator;
    j["chunk"] = to_hex(c.address);
    j["chunk_data"] = to_hex(h.user_begin(c));
    j["chunk_offset"] = r.where - h.user_begin(c);
  }
  return j;
}

}  // namespace

void leaks_text(OutputWriter& out, const HeapModel& h, const LeakAnalysis& a, const LeakListing& l,
                const Style& style) {
  Tally leaked = a.leaked();
  out.print("leaked: {} chunk{}, {} bytes{}\n", leaked.chunks, leaked.chunks == 1 ? "" : "s", leaked.bytes,
            leaked.bytes >= 1024 ? " (" + human_size(leaked.bytes) + ")" : "");
  out.write(tally_line(LeakClass::kDirect, a.direct, style));
  out.write(tally_line(LeakClass::kIndirect, a.indirect, style));
  out.write(tally_line(LeakClass::kPossible, a.possible, style));
  out.write(tally_line(LeakClass::kReachable, a.reachable, style));
  if (l.mode == LeakListing::Mode::kSummary) return;
  bool filtered = l.filtered;
  if (l.chunks.empty()) {
    out.write(filtered ? "\nno leaked or possible chunk matches\n" : "\nno leaks\n");
    return;
  }
  if (l.mode == LeakListing::Mode::kList) {
    out.print("\n{:<18} {:<18} {:>10}  {:<9} {}\n", "address", "data", "size", "class", "type");
    size_t n = std::min(l.limit, l.chunks.size());
    for (size_t i = 0; i < n; ++i) {
      const auto& c = h.blocks[l.chunks[i]];
      const LeakClass cls = a.classes[l.chunks[i]];
      out.print("{} {} {:>10}  {} {}\n", style.left(Hue::kAddress, to_hex(c.address), 18),
                style.left(Hue::kAddress, to_hex(h.user_begin(c)), 18), c.size,
                style.left(leak_hue(cls), leak_class_name(cls), 9), type_or_dash(l, l.types[i]));
    }
    if (n < l.chunks.size())
      out.print("... {} of {} chunks shown (--limit)\n", n, l.chunks.size());
    return;
  }
  const auto& rows = l.groups;
  size_t width = 4;
  for (const auto& g : rows) width = std::max(width, type_or_dash(l, g.type).size());
  width = std::min<size_t>(width, 40);
  out.print("\n{:<9} {:<{}} {:>10} {:>8} {:>12}  {}\n", "class", "type", width, "size", "count",
                     "bytes", "samples (data)");
  size_t n = std::min(l.limit, rows.size());
  for (size_t i = 0; i < n; ++i) {
    const LeakGroup& g = rows[i];
    std::string samples;
    for (auto s : g.samples) samples += (samples.empty() ? "" : " ") + style.address(s);
    if (g.tally.chunks > g.samples.size()) samples += " ...";
    out.print("{} {:<{}} {:>10} {:>8} {:>12}  {}\n",
              style.left(leak_hue(g.cls), leak_class_name(g.cls), 9), type_or_dash(l, g.type), width, g.size, g.tally.chunks,
              g.tally.bytes, samples);
  }
  if (n < rows.size()) out.print("... {} of {} groups shown (--limit)\n", n, rows.size());
  for (const auto& d : l.dumps) {
    const auto& c = h.blocks[d.chunk];
    out.print("\n{} {} ({} bytes{}):\n", style.paint(Hue::kFinding, "direct leak"), style.address(h.user_begin(c)), c.size,
              d.type ? ", " + l.type_names[d.type - 1] : std::string());
    out.write(hex_dump(h.user_begin(c), d.bytes));
  }
}

void leaks_json(OutputWriter& out, const HeapModel& h, const LeakAnalysis& a, const LeakListing& l,
                size_t findings) {
  // Written directly: the list can hold a million chunks.
  json head{{"leaked", tally_json(a.leaked())},
            {"direct", tally_json(a.direct)},
            {"indirect", tally_json(a.indirect)},
            {"possible", tally_json(a.possible)},
            {"reachable", tally_json(a.reachable)}};
  std::string head_text = head.dump();
  head_text.pop_back();  // the closing brace: more members follow
  out.write(head_text);
  if (l.mode != LeakListing::Mode::kSummary) {
    out.write(",\"chunks\":[");
    size_t n = std::min(l.limit, l.chunks.size());
    for (size_t i = 0; i < n; ++i) {
      const auto& c = h.blocks[l.chunks[i]];
      out.print("{}{{\"address\":\"{:#x}\",\"data\":\"{:#x}\",\"size\":{},\"class\":\"{}\",\"type\":{}}}",
              i ? "," : "", c.address.value, h.user_begin(c).value, c.size, leak_class_name(a.classes[l.chunks[i]]),
              l.types[i] ? json(l.type_names[l.types[i] - 1]).dump() : std::string("null"));
    }
    out.print("],\"matching\":{}", l.chunks.size());
    // Every group (--limit bounds the chunks): what the text table shows.
    out.write(",\"groups\":[");
    for (size_t i = 0; i < l.groups.size(); ++i) {
      const LeakGroup& g = l.groups[i];
      json samples = json::array();
      for (Address s : g.samples) samples.push_back(to_hex(s));
      json row{{"class", std::string(leak_class_name(g.cls))},
               {"type", g.type ? json(l.type_names[g.type - 1]) : json(nullptr)},
               {"size", g.size},
               {"count", g.tally.chunks},
               {"bytes", g.tally.bytes},
               {"samples", std::move(samples)}};
      if (i) out.write(",");
      out.write(row.dump());
    }
    out.write("]");
  }
  out.print(",\"findings\":{}}}\n", findings);
}

void refs_text(OutputWriter& out, const HeapModel& heap, const RefsReport& r, const Style& style) {
  const RefHeaps hs(heap, r);
  const HeapModel& h = hs[r.heap];
  const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
  // A MeMS virtual address names its segment: said in the header.
  out.print("{}{}: {} reference{}\n", chunk_brief(h, r.chunk, style, hs.named()),
            r.asked_virtual ? fmt::format(" (MeMS virtual address {})", to_hex(r.asked)) : "", r.refs.size(),
            r.refs.size() == 1 ? "" : "s");
  for (const auto& ref : r.refs)
    out.print("  {} -> {}{}\n", holder_text(hs, ref, style), offset_text(pointed_to(ref) - h.user_begin(c).value),
              ref.mems_virtual ? " (by MeMS virtual address)" : "");
  if (!r.path_asked) return;
  if (!h.is_live(c)) {
    out.write("\nno path: the chunk is not in use\n");
  } else if (r.path.empty()) {
    out.print("\nno path from any root: {}\n", style.paint(Hue::kFinding, "the chunk is leaked"));
  } else {
    out.write("\nshortest path from a root:\n");
    for (size_t i = 0; i < r.path.size(); ++i) {
      const auto& s = r.path[i];
      const HeapModel& th = hs[s.heap];
      const auto& to = th.blocks[static_cast<size_t>(s.chunk)];
      out.print("  {}{}\n", i ? "-> " : "", holder_text(hs, s.via, style));
      out.print("     holds {}{} -> {}{}\n", style.address(Address(s.via.value)),
                s.via.mems_virtual ? " (MeMS virtual address)" : "", chunk_brief(th, s.chunk, style, hs.named()),
                s.via.start ? "" : fmt::format(" at {}", offset_text(pointed_to(s.via) - th.user_begin(to).value)));
    }
  }
}

void refs_json(OutputWriter& out, const HeapModel& heap, const RefsReport& r) {
  // Written member by member, the same bytes as one dump(): a chunk can have
  // as many holders as the heap has words.
  const RefHeaps hs(heap, r);
  const HeapModel& h = hs[r.heap];
  const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
  json chunk;
  if (hs.named()) chunk["allocator"] = h.allocator;
  chunk["address"] = to_hex(c.address);
  chunk["data"] = to_hex(h.user_begin(c));
  chunk["size"] = c.size;
  chunk["state"] = std::string(h.kind_of(c).name);
  out.print("{{\"chunk\":{},\"asked\":{}{},\"refs\":[", chunk.dump(), json(to_hex(r.asked)).dump(),
            r.asked_virtual ? ",\"virtual\":true" : "");
  for (size_t i = 0; i < r.refs.size(); ++i) {
    if (i) out.write(",");
    out.write(reference_json(hs, r.refs[i], h.user_begin(c)).dump());
  }
  out.write("]");
  if (r.path_asked) {
    out.write(",\"path\":");
    if (r.path.empty()) out.write("null");
    for (size_t i = 0; i < r.path.size(); ++i) {
      const auto& s = r.path[i];
      const HeapModel& th = hs[s.heap];
      const auto& to = th.blocks[static_cast<size_t>(s.chunk)];
      json j = reference_json(hs, s.via, th.user_begin(to));
      if (hs.named()) j["to_allocator"] = th.allocator;
      j["to"] = to_hex(to.address);
      j["to_data"] = to_hex(th.user_begin(to));
      out.write(i ? "," : "[");
      out.write(j.dump());
    }
    if (!r.path.empty()) out.write("]");
  }
  out.write("}\n");
}

void type_stats_text(OutputWriter& out, const std::vector<TypeRow>& rows) {
  size_t width = 9;  // "(unknown)"
  for (const auto& r : rows) width = std::max(width, r.type.size());
  width = std::min<size_t>(width, 60);
  out.print("{:<{}} {:>10} {:>14}\n", "type", width, "chunks", "bytes");
  Tally total;
  for (const auto& r : rows) {
    out.print("{:<{}} {:>10} {:>14}{}\n", r.type.empty() ? "(unknown)" : r.type, width, r.tally.chunks,
              r.tally.bytes, r.tally.bytes >= 1024 ? "  " + human_size(r.tally.bytes) : "");
    total.add(r.tally);
  }
  out.print("{:<{}} {:>10} {:>14}\n", "in use", width, total.chunks, total.bytes);
}

void type_stats_json(OutputWriter& out, const std::vector<TypeRow>& rows) {
  out.write("{\"types\":[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    json row{{"type", r.type.empty() ? json(nullptr) : json(r.type)},
             {"chunks", r.tally.chunks},
             {"bytes", r.tally.bytes}};
    if (i) out.write(",");
    out.write(row.dump());
  }
  out.write("]}\n");
}

}  // namespace heapscope
