#include "render/heap_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "render/check_render.h"
#include "render/format.h"

namespace heapscope {

using glibc::ChunkState;
using json = nlohmann::ordered_json;

namespace {

// The classes that partition an arena's bytes, in the order they print.
constexpr ChunkState kArenaClasses[] = {
    ChunkState::kInUse, ChunkState::kMetadata, ChunkState::kTcache, ChunkState::kFast,
    ChunkState::kUnsorted, ChunkState::kSmall, ChunkState::kLarge, ChunkState::kTop,
};
constexpr ChunkState kAnomalyClasses[] = {ChunkState::kFreeUnlisted, ChunkState::kUnknown};

json tally_json(const Tally& t) { return json{{"chunks", t.chunks}, {"bytes", t.bytes}}; }

json states_json(const StateTallies& st) {
  json j = json::object();
  for (ChunkState s : kArenaClasses) {
    if (s == ChunkState::kTop) continue;
    j[std::string(glibc::state_name(s))] = tally_json(st[s]);
  }
  for (ChunkState s : kAnomalyClasses)
    if (st[s].chunks) j[std::string(glibc::state_name(s))] = tally_json(st[s]);
  return j;
}

std::string tally_row(std::string_view name, const Tally& t, const Style& style) {
  return fmt::format("  {} {:>10} {:>14}  {}\n", style.left(state_hue(name), name, 14), t.chunks, t.bytes,
                     t.bytes >= 1024 ? human_size(t.bytes) : "");
}

}  // namespace

std::string stats_text(const HeapStats& s, const Style& style) {
  std::string out = fmt::format("glibc {}: {} arena{}, system bytes {}\n", s.glibc_version,
                                s.arenas.size(), s.arenas.size() == 1 ? "" : "s",
                                bytes_with_human(s.system_bytes));
  auto block = [&](const StateTallies& st) {
    out += fmt::format("  {:<14} {:>10} {:>14}\n", "class", "chunks", "bytes");
    for (ChunkState c : kArenaClasses) out += tally_row(glibc::state_name(c), st[c], style);
    for (ChunkState c : kAnomalyClasses)
      if (st[c].chunks) out += tally_row(glibc::state_name(c), st[c], style);
  };
  for (const auto& a : s.arenas) {
    out += fmt::format("\narena {}{} at {}: {} heap{}, system bytes {}\n", a.index,
                       a.main ? " (main)" : "", style.address(a.address), a.heaps, a.heaps == 1 ? "" : "s",
                       bytes_with_human(a.system_bytes));
    block(a.states);
  }
  if (s.arenas.size() > 1) {
    out += fmt::format("\nall arenas: system bytes {}\n", bytes_with_human(s.system_bytes));
    block(s.total);
  }
  out += fmt::format("\nmmapped: {} chunk{}, {} bytes{}\n", s.mmapped.chunks,
                     s.mmapped.chunks == 1 ? "" : "s", s.mmapped.bytes,
                     s.mmapped.bytes >= 1024 ? " (" + human_size(s.mmapped.bytes) + ")" : "");
  return out;
}

std::string stats_json(const HeapStats& s) {
  json arenas = json::array();
  for (const auto& a : s.arenas) {
    json j{{"index", a.index}, {"address", to_hex(a.address)}, {"main", a.main}, {"heaps", a.heaps},
           {"system_bytes", a.system_bytes}};
    j.update(states_json(a.states));
    j["top"] = json{{"address", to_hex(a.top)}, {"bytes", a.states[ChunkState::kTop].bytes}};
    arenas.push_back(std::move(j));
  }
  json total{{"system_bytes", s.system_bytes}};
  total.update(states_json(s.total));
  total["top"] = tally_json(s.total[ChunkState::kTop]);
  json doc{{"allocator", "glibc"}, {"glibc_version", s.glibc_version}, {"arenas", std::move(arenas)},
           {"mmapped", tally_json(s.mmapped)}, {"total", std::move(total)},
           {"findings", s.findings}};
  return doc.dump() + "\n";
}

std::string arenas_text(const glibc::Heap& h) {
  std::string out = fmt::format("glibc {}: main_arena {}, mp_ {} (found by {})\n", h.version,
                                to_hex(h.arenas.empty() ? Address() : h.arenas.front().address),
                                to_hex(h.mp.address), h.found_by_symbols ? "symbols" : "structure");
  for (const auto& a : h.arenas) {
    out += fmt::format("arena {}{} at {}: system bytes {}, {} attached thread{}, top {} ({} bytes)\n",
                       a.index, a.main ? " (main)" : "", to_hex(a.address),
                       bytes_with_human(a.system_mem), a.attached_threads,
                       a.attached_threads == 1 ? "" : "s", to_hex(a.top), a.top_size);
    for (const auto& hp : a.heaps)
      out += fmt::format("  heap {}-{} {}{}\n", to_hex(hp.range.begin), to_hex(hp.range.end),
                         bytes_with_human(hp.range.size()),
                         hp.heap_info.is_null() ? " (sbrk)" : " heap_info " + to_hex(hp.heap_info));
    for (const auto& t : h.tcaches)
      if (t.arena == a.index)
        out += fmt::format("  tcache {}{}\n", to_hex(t.address),
                           t.tid ? fmt::format(" (thread {})", t.tid) : std::string(" (thread unknown)"));
  }
  return out;
}

std::string arenas_json(const glibc::Heap& h) {
  json arenas = json::array();
  for (const auto& a : h.arenas) {
    json heaps = json::array();
    for (const auto& hp : a.heaps)
      heaps.push_back({{"begin", to_hex(hp.range.begin)},
                       {"end", to_hex(hp.range.end)},
                       {"heap_info", hp.heap_info.is_null() ? json(nullptr) : json(to_hex(hp.heap_info))}});
    json tcaches = json::array();
    for (const auto& t : h.tcaches)
      if (t.arena == a.index) tcaches.push_back({{"address", to_hex(t.address)}, {"tid", t.tid}});
    arenas.push_back({{"index", a.index},
                      {"address", to_hex(a.address)},
                      {"main", a.main},
                      {"attached_threads", a.attached_threads},
                      {"system_bytes", a.system_mem},
                      {"max_system_bytes", a.max_system_mem},
                      {"top", {{"address", to_hex(a.top)}, {"bytes", a.top_size}}},
                      {"heaps", std::move(heaps)},
                      {"tcaches", std::move(tcaches)}});
  }
  return json{{"glibc_version", h.version},
              {"roots_found_by", h.found_by_symbols ? "symbols" : "structure"},
              {"main_arena", to_hex(h.arenas.empty() ? Address() : h.arenas.front().address)},
              {"mp", to_hex(h.mp.address)},
              {"arenas", std::move(arenas)}}
             .dump() +
         "\n";
}

namespace {

// Row pieces for ChunkListWriter: each writes at p and returns the end.
// Literals are copied with their length known (no call); the rest are a
// few bytes, copied by a loop.
template <size_t N>
char* put(char* p, const char (&literal)[N]) {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}
char* put(char* p, std::string_view text) {
  for (char ch : text) *p++ = ch;
  return p;
}
char* put(char* p, const fmt::format_int& number) { return put(p, std::string_view(number.data(), number.size())); }
// "0x" and v in lower-case hex, as {:#x} writes it.
char* put_hex(char* p, uint64_t v) {
  *p++ = '0', *p++ = 'x';
  const int digits = v ? (67 - __builtin_clzll(v)) / 4 : 1;
  for (int i = digits - 1; i >= 0; --i, v >>= 4) p[i] = "0123456789abcdef"[v & 15];
  return p + digits;
}

}  // namespace

ChunkListWriter::ChunkListWriter(OutputWriter& out, const HeapModel& model, bool json, Style style)
    : out_(out), model_(model), json_(json), json_rows_fit_(chunk_json_rows_fit(model)), style_(style) {
  if (json_) out_.write("{\"chunks\":[");
  else out_.print("{:<18} {:<18} {:>12}  {:<13} {}\n", "address", "data", "size", "state", "arena");
}

bool chunk_json_rows_fit(const HeapModel& model) {
  for (const BlockKind& k : model.kinds)
    if (k.name.size() > kMaxKindNameInRow) return false;
  return true;
}

char* put_chunk_json_row(char* p, const HeapModel& model, const Block& c, bool comma) {
  // A million rows: each is put together by hand (hex digits by shifts,
  // decimals by fmt::format_int); format specs parsed per row were most of
  // the listing's cost.
  if (comma) *p++ = ',';
  p = put(p, "{\"address\":\"");
  p = put_hex(p, c.address.value);
  p = put(p, "\",\"data\":\"");
  p = put_hex(p, model.user_begin(c).value);
  p = put(p, "\",\"size\":");
  p = put(p, fmt::format_int(uint64_t{c.size}));
  p = put(p, ",\"state\":\"");
  p = put(p, model.kind_of(c).name);
  p = put(p, "\",\"arena\":");
  p = put(p, fmt::format_int(int{c.owner}));
  *p++ = '}';
  return p;
}

void ChunkListWriter::add_json_rows(std::string_view rows, size_t count) {
  if (rows.empty()) return;
  // Each row came with its comma: the listing's first has none.
  out_.write_through(shown_ ? rows : rows.substr(1));
  shown_ += count;
}

void ChunkListWriter::add(const Block& c) {
  // Written directly: a million chunks would be slow through a DOM. JSON
  // rows at the end of the output buffer, unless a kind name is too long
  // for the room (then formatted).
  if (json_ && json_rows_fit_) {
    out_.end_append(put_chunk_json_row(out_.begin_append(kMaxChunkJsonRow), model_, c, shown_ != 0));
    ++shown_;
    return;
  }
  const std::string_view state = model_.kind_of(c).name;
  const Address data = model_.user_begin(c);
  if (json_)
    out_.print("{}{{\"address\":\"{:#x}\",\"data\":\"{:#x}\",\"size\":{},\"state\":\"{}\",\"arena\":{}}}",
               shown_ ? "," : "", c.address.value, data.value, uint64_t{c.size}, state, int{c.owner});
  else if (style_.on())
    out_.print("{} {} {:>12}  {} {}\n", style_.left(Hue::kAddress, to_hex(c.address), 18),
               style_.left(Hue::kAddress, to_hex(data), 18), uint64_t{c.size},
               style_.left(kind_hue(model_.kind_of(c)), state, 13),
               c.owner == kNoOwner ? std::string("-") : std::to_string(c.owner));
  else
    out_.print("{:<18} {:<18} {:>12}  {:<13} {}\n", to_hex(c.address), to_hex(data), uint64_t{c.size}, state,
               c.owner == kNoOwner ? std::string("-") : std::to_string(c.owner));
  ++shown_;
}

void ChunkListWriter::finish_text(size_t total_matching) {
  if (shown_ < total_matching)
    out_.print("... {} of {} matching chunks shown (--limit)\n", shown_, total_matching);
  else
    out_.print("{} chunk{}\n", shown_, shown_ == 1 ? "" : "s");
}

void ChunkListWriter::finish_json(size_t total_matching, size_t findings) {
  out_.print("],\"matching\":{},\"findings\":{}}}\n", total_matching, findings);
}

namespace {

std::string list_name(const glibc::FreeList& l) {
  switch (l.kind) {
    case glibc::ListKind::kTcache:
      return fmt::format("tcache bin {} (size {:#x}) of {}", l.bin, l.min_size,
                         l.tid ? fmt::format("thread {}", l.tid) : std::string("an unknown thread"));
    case glibc::ListKind::kFast:
      return fmt::format("fastbin {} (size {:#x}) of arena {}", l.bin, l.min_size, l.arena);
    case glibc::ListKind::kUnsorted:
      return fmt::format("unsorted bin of arena {}", l.arena);
    case glibc::ListKind::kSmall:
      return fmt::format("small bin {} (size {:#x}) of arena {}", l.bin, l.min_size, l.arena);
    case glibc::ListKind::kLarge:
      return l.max_size == UINT64_MAX
                 ? fmt::format("large bin {} (sizes {:#x}+) of arena {}", l.bin, l.min_size, l.arena)
                 : fmt::format("large bin {} (sizes {:#x}-{:#x}) of arena {}", l.bin, l.min_size,
                               l.max_size, l.arena);
  }
  return "?";
}

Hue list_hue(const glibc::FreeList& l) { return state_hue(glibc::list_kind_name(l.kind)); }

json list_json_head(const glibc::FreeList& l) {
  json j{{"kind", std::string(glibc::list_kind_name(l.kind))},
         {"arena", l.arena},
         {"bin", l.bin}};
  if (l.kind == glibc::ListKind::kTcache) {
    j["tid"] = l.tid;
    j["count"] = l.expected_count;
  }
  j["size"] = l.min_size;
  if (l.max_size != l.min_size)
    j["max_size"] = l.max_size == UINT64_MAX ? json(nullptr) : json(l.max_size);
  return j;
}

json list_finding_json(const Finding& f) {
  return {{"kind", f.kind}, {"address", to_hex(f.address)}, {"arena", f.owner}, {"detail", f.detail}};
}

}  // namespace

std::string chunk_text(const std::vector<const CheckFinding*>& findings, const glibc::Chunk& c, Address asked,
                       const std::vector<ListPlace>& places, uint64_t prev_size_field,
                       uint64_t size_field, std::optional<uint64_t> fd, std::optional<uint64_t> bk,
                       const Style& style) {
  const std::string_view state = glibc::state_name(glibc::state_of(c));
  std::string out = fmt::format("chunk {} (data {}), size {}, {}{}\n", style.address(c.address),
                                style.address(glibc::chunk_data(c)), bytes_with_human(c.size),
                                style.paint(state_hue(state), state),
                                // The state already says "mmapped": not twice.
                                c.owner != glibc::kMmappedArena ? fmt::format(", arena {}", c.owner)
                                : c.kind == glibc::ChunkState::kMmapped ? std::string()
                                                                        : std::string(", mmapped"));
  if (asked != c.address && asked != glibc::chunk_data(c))
    out += fmt::format("  {} is {} bytes into the chunk\n", to_hex(asked), asked - c.address);
  out += fmt::format("  prev_size {:#x}\n  size      {:#x} (PREV_INUSE={} IS_MMAPPED={} NON_MAIN_ARENA={})\n",
                     prev_size_field, size_field, size_field & 1, (size_field >> 1) & 1, (size_field >> 2) & 1);
  if (fd) out += fmt::format("  fd        {:#x}\n", *fd);
  if (bk) out += fmt::format("  bk        {:#x}\n", *bk);
  for (const auto& p : places)
    out += fmt::format("  on {}, position {} of {}\n", style.paint(list_hue(*p.list), list_name(*p.list)),
                       p.position + 1, p.list->chunks.size());
  for (const auto* f : findings) out += fmt::format("  problem: {}\n", check_finding_text(*f, style));
  return out;
}

std::string chunk_json(const std::vector<const CheckFinding*>& findings, const glibc::Chunk& c, Address asked,
                       const std::vector<ListPlace>& places, uint64_t prev_size_field,
                       uint64_t size_field, std::optional<uint64_t> fd, std::optional<uint64_t> bk) {
  json lists = json::array();
  for (const auto& p : places) {
    json j = list_json_head(*p.list);
    j["position"] = p.position;
    j["length"] = p.list->chunks.size();
    lists.push_back(std::move(j));
  }
  json problems = json::array();
  for (const auto* f : findings) problems.push_back(check_finding_json(*f));
  json doc{{"address", to_hex(c.address)},
           {"data", to_hex(glibc::chunk_data(c))},
           {"asked", to_hex(asked)},
           {"offset", asked - c.address},
           {"size", c.size},
           {"state", std::string(glibc::state_name(glibc::state_of(c)))},
           {"arena", c.owner},
           {"prev_size_field", prev_size_field},
           {"size_field", size_field},
           {"flags", {{"prev_inuse", bool(size_field & 1)}, {"is_mmapped", bool(size_field & 2)},
                      {"non_main_arena", bool(size_field & 4)}}},
           {"fd", fd ? json(to_hex(*fd)) : json(nullptr)},
           {"bk", bk ? json(to_hex(*bk)) : json(nullptr)},
           {"lists", std::move(lists)},
           {"findings", std::move(problems)}};
  return doc.dump() + "\n";
}

void bins_text(OutputWriter& out, const glibc::Heap& h, const std::vector<const glibc::FreeList*>& lists,
               size_t per_list, const Style& style) {
  if (lists.empty()) out.write("no non-empty free lists\n");
  for (const auto* l : lists) {
    out.print("{}: {} chunk{}\n", style.paint(list_hue(*l), list_name(*l)), l->chunks.size(),
              l->chunks.size() == 1 ? "" : "s");
    // Lines wrap at 100 visible columns: escape codes take none.
    std::string line = " ";
    size_t width = line.size();
    auto add = [&](std::string_view item, size_t item_width) {
      if (width + item_width > 100) {
        out.write(line);
        out.write("\n");
        line = "   ";
        width = line.size();
      }
      line += item;
      width += item_width;
    };
    const size_t shown = std::min(per_list, l->chunks.size());
    for (size_t i = 0; i < shown; ++i) {
      const glibc::Chunk* c = h.chunk_at(l->chunks[i]);
      const std::string address = to_hex(l->chunks[i]);
      std::string item = fmt::format(" {} {}", i ? "->" : "", style.paint(Hue::kAddress, address));
      size_t item_width = (i ? 4 : 2) + address.size();
      if (c && c->size != l->min_size) {
        const std::string size = fmt::format(" ({:#x})", c->size);
        item += size;
        item_width += size.size();
      }
      add(item, item_width);
    }
    if (shown < l->chunks.size()) {
      std::string more = fmt::format(" -> ... {} more (--limit)", l->chunks.size() - shown);
      add(more, more.size());
    }
    if (!l->chunks.empty()) {
      out.write(line);
      out.write("\n");
    }
    for (const auto& f : l->findings) out.print("  {} {}\n", style.paint(Hue::kFinding, "!"), f.detail);
  }
}

void bins_json(OutputWriter& out, const std::vector<const glibc::FreeList*>& lists, size_t per_list,
               size_t findings) {
  // Written list by list, chunk by chunk: a free list can hold millions.
  out.write("{\"lists\":[");
  for (size_t k = 0; k < lists.size(); ++k) {
    const glibc::FreeList& l = *lists[k];
    std::string head = list_json_head(l).dump();
    head.pop_back();  // the closing brace: more members follow
    out.print("{}{},\"length\":{},\"chunks\":[", k ? "," : "", head, l.chunks.size());
    for (size_t i = 0; i < std::min(per_list, l.chunks.size()); ++i)
      out.print("{}\"{}\"", i ? "," : "", to_hex(l.chunks[i]));
    json fs = json::array();
    for (const auto& f : l.findings) fs.push_back(list_finding_json(f));
    out.print("],\"findings\":{}}}", fs.dump());
  }
  out.print("],\"findings\":{}}}\n", findings);
}

}  // namespace heapscope
