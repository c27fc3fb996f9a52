#include "render/leak_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using json = nlohmann::ordered_json;

namespace {

json tally_json(const Tally& t) { return json{{"chunks", t.chunks}, {"bytes", t.bytes}}; }

std::string tally_line(std::string_view name, const Tally& t) {
  return fmt::format("  {:<10} {:>10} chunk{} {:>14} bytes{}\n", name, t.chunks, t.chunks == 1 ? " " : "s",
                     t.bytes, t.bytes >= 1024 ? " (" + human_size(t.bytes) + ")" : "");
}

const std::string& type_or_dash(const LeakListing& l, uint32_t id) {
  static const std::string kDash = "-";
  return id ? l.type_names[id - 1] : kDash;
}

std::string chunk_brief(const HeapModel& h, int64_t i) {
  const auto& c = h.blocks[static_cast<size_t>(i)];
  return fmt::format("chunk {} (data {}, {} bytes, {})", to_hex(c.address), to_hex(h.user_begin(c)), c.size,
                     h.kind_of(c).name);
}

std::string offset_text(uint64_t off) { return off ? fmt::format("data+{:#x}", off) : "data"; }

// Where a reference is held, for people.
std::string holder_text(const HeapModel& h, const Reference& r) {
  switch (r.from) {
    case Reference::From::kRegister:
      return fmt::format("register {} of thread {}", r.name, r.tid);
    case Reference::From::kStack:
      // Below sp is the red zone (x86-64: 128 bytes): sp-0x58, not a wrapped sp+0xff...a8.
      return r.where >= r.thread_sp
                 ? fmt::format("stack of thread {} at {} (sp+{:#x})", r.tid, to_hex(r.where), r.where - r.thread_sp)
                 : fmt::format("stack of thread {} at {} (sp-{:#x})", r.tid, to_hex(r.where), r.thread_sp - r.where);
    case Reference::From::kModule:
      return fmt::format("global {} at {}", r.name.empty() ? "?" : r.name, to_hex(r.where));
    case Reference::From::kAnonymous:
      return fmt::format("anonymous memory at {}", to_hex(r.where));
    case Reference::From::kChunk: {
      const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
      return fmt::format("{} at {}", chunk_brief(h, r.chunk), offset_text(r.where - h.user_begin(c)));
    }
  }
  return "?";
}

json reference_json(const HeapModel& h, const Reference& r, Address target_data) {
  json j{{"from", std::string(reference_from_name(r.from))}};
  if (r.from != Reference::From::kRegister) j["where"] = to_hex(r.where);
  j["value"] = to_hex(r.value);
  j["offset"] = r.value - target_data.value;
  j["start"] = r.start;
  if (r.from == Reference::From::kRegister || r.from == Reference::From::kStack) j["tid"] = r.tid;
  if (r.from == Reference::From::kRegister) j["register"] = r.name;
  if (r.from == Reference::From::kStack) j["sp_offset"] = r.where.value - r.thread_sp.value;
  if (r.from == Reference::From::kModule) j["symbol"] = r.name.empty() ? json(nullptr) : json(r.name);
  if (r.from == Reference::From::kChunk) {
    const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
    j["chunk"] = to_hex(c.address);
    j["chunk_data"] = to_hex(h.user_begin(c));
    j["chunk_offset"] = r.where - h.user_begin(c);
  }
  return j;
}

}  // namespace

void leaks_text(OutputWriter& out, const HeapModel& h, const LeakAnalysis& a, const LeakListing& l) {
  Tally leaked = a.leaked();
  out.print("leaked: {} chunk{}, {} bytes{}\n", leaked.chunks, leaked.chunks == 1 ? "" : "s", leaked.bytes,
            leaked.bytes >= 1024 ? " (" + human_size(leaked.bytes) + ")" : "");
  out.write(tally_line("direct", a.direct));
  out.write(tally_line("indirect", a.indirect));
  out.write(tally_line("possible", a.possible));
  out.write(tally_line("reachable", a.reachable));
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
      out.print("{:<18} {:<18} {:>10}  {:<9} {}\n", to_hex(c.address), to_hex(h.user_begin(c)), c.size, leak_class_name(a.classes[l.chunks[i]]), type_or_dash(l, l.types[i]));
    }
    if (n < l.chunks.size())
      out.print("... {} of {} chunks shown (--limit)\n", n, l.chunks.size());
    return;
  }
  // Groups by class, type and size: direct first, then indirect, possible;
  // biggest first within a class.
  struct Group {
    int rank = 0;
    uint32_t type = 0;
    uint64_t size = 0;
    LeakClass cls = LeakClass::kNotNode;
    Tally tally;
    std::vector<Address> samples;
  };
  auto rank_of = [](LeakClass c) { return c == LeakClass::kDirect ? 0 : c == LeakClass::kIndirect ? 1 : 2; };
  // (size, type, class) -> row, by open addressing: a million listed chunks
  // fall into a few hundred groups, and a node-based map costs more than
  // the whole leak analysis.
  std::vector<Group> rows;
  std::vector<uint32_t> slots(1024, UINT32_MAX);
  auto same = [](const Group& g, uint64_t size, uint32_t type, LeakClass cls) {
    return g.size == size && g.type == type && g.cls == cls;
  };
  auto slot_of = [&](uint64_t size, uint32_t type, LeakClass cls) -> uint32_t& {
    uint64_t hash = (size * 0x9E3779B97F4A7C15ull) ^ (uint64_t{type} * 0xC2B2AE3D27D4EB4Full) ^ static_cast<uint64_t>(cls);
    hash ^= hash >> 29;
    size_t mask = slots.size() - 1;
    for (size_t k = hash & mask;; k = (k + 1) & mask)
      if (slots[k] == UINT32_MAX || same(rows[slots[k]], size, type, cls)) return slots[k];
  };
  for (size_t i = 0; i < l.chunks.size(); ++i) {
    const auto& c = h.blocks[l.chunks[i]];
    LeakClass cls = a.classes[l.chunks[i]];
    uint32_t& slot = slot_of(c.size, l.types[i], cls);
    uint32_t row = slot;
    if (row == UINT32_MAX) {
      row = slot = static_cast<uint32_t>(rows.size());
      rows.push_back({rank_of(cls), l.types[i], c.size, cls, {}, {}});
      if (rows.size() * 2 > slots.size()) {  // grow: rehash every row
        slots.assign(slots.size() * 2, UINT32_MAX);
        for (uint32_t r = 0; r < rows.size(); ++r) slot_of(rows[r].size, rows[r].type, rows[r].cls) = r;
      }
    }
    Group& g = rows[row];
    g.tally.add(c.size);
    if (g.samples.size() < 3) g.samples.push_back(h.user_begin(c));
  }
  std::sort(rows.begin(), rows.end(), [&](const Group& x, const Group& y) {
    if (x.rank != y.rank) return x.rank < y.rank;
    if (x.tally.bytes != y.tally.bytes) return x.tally.bytes > y.tally.bytes;
    if (x.size != y.size) return x.size < y.size;
    return type_or_dash(l, x.type) < type_or_dash(l, y.type);
  });
  size_t width = 4;
  for (const auto& g : rows) width = std::max(width, type_or_dash(l, g.type).size());
  width = std::min<size_t>(width, 40);
  out.print("\n{:<9} {:<{}} {:>10} {:>8} {:>12}  {}\n", "class", "type", width, "size", "count",
                     "bytes", "samples (data)");
  size_t n = std::min(l.limit, rows.size());
  for (size_t i = 0; i < n; ++i) {
    const Group& g = rows[i];
    std::string samples;
    for (auto s : g.samples) samples += (samples.empty() ? "" : " ") + to_hex(s);
    if (g.tally.chunks > g.samples.size()) samples += " ...";
    out.print("{:<9} {:<{}} {:>10} {:>8} {:>12}  {}\n",
              leak_class_name(g.cls), type_or_dash(l, g.type), width, g.size, g.tally.chunks,
              g.tally.bytes, samples);
  }
  if (n < rows.size()) out.print("... {} of {} groups shown (--limit)\n", n, rows.size());
  for (const auto& d : l.dumps) {
    const auto& c = h.blocks[d.chunk];
    out.print("\ndirect leak {} ({} bytes{}):\n", to_hex(h.user_begin(c)), c.size,
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
  }
  out.print(",\"findings\":{}}}\n", findings);
}

void refs_text(OutputWriter& out, const HeapModel& h, const RefsReport& r) {
  const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
  out.print("{}: {} reference{}\n", chunk_brief(h, r.chunk), r.refs.size(), r.refs.size() == 1 ? "" : "s");
  for (const auto& ref : r.refs)
    out.print("  {} -> {}\n", holder_text(h, ref), offset_text(ref.value - h.user_begin(c).value));
  if (!r.path_asked) return;
  if (!h.is_live(c)) {
    out.write("\nno path: the chunk is not in use\n");
  } else if (r.path.empty()) {
    out.write("\nno path from any root: the chunk is leaked\n");
  } else {
    out.write("\nshortest path from a root:\n");
    for (size_t i = 0; i < r.path.size(); ++i) {
      const auto& s = r.path[i];
      const auto& to = h.blocks[static_cast<size_t>(s.chunk)];
      out.print("  {}{}\n", i ? "-> " : "", holder_text(h, s.via));
      out.print("     holds {} -> {}{}\n", to_hex(s.via.value), chunk_brief(h, s.chunk),
                s.via.start ? "" : fmt::format(" at {}", offset_text(s.via.value - h.user_begin(to).value)));
    }
  }
}

void refs_json(OutputWriter& out, const HeapModel& h, const RefsReport& r) {
  // Written member by member, the same bytes as one dump(): a chunk can have
  // as many holders as the heap has words.
  const auto& c = h.blocks[static_cast<size_t>(r.chunk)];
  json chunk{{"address", to_hex(c.address)},
             {"data", to_hex(h.user_begin(c))},
             {"size", c.size},
             {"state", std::string(h.kind_of(c).name)}};
  out.print("{{\"chunk\":{},\"asked\":{},\"refs\":[", chunk.dump(), json(to_hex(r.asked)).dump());
  for (size_t i = 0; i < r.refs.size(); ++i) {
    if (i) out.write(",");
    out.write(reference_json(h, r.refs[i], h.user_begin(c)).dump());
  }
  out.write("]");
  if (r.path_asked) {
    out.write(",\"path\":");
    if (r.path.empty()) out.write("null");
    for (size_t i = 0; i < r.path.size(); ++i) {
      const auto& s = r.path[i];
      const auto& to = h.blocks[static_cast<size_t>(s.chunk)];
      json j = reference_json(h, s.via, h.user_begin(to));
      j["to"] = to_hex(to.address);
      j["to_data"] = to_hex(h.user_begin(to));
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
