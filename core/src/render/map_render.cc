#include "render/map_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using glibc::ChunkState;
using json = nlohmann::ordered_json;

namespace {

const char* map_color(uint8_t state) {
  if (state == kMixedState) return "#bab0ac";
  switch (static_cast<ChunkState>(state)) {
    case ChunkState::kInUse: return "#4e79a7";
    case ChunkState::kTcache: return "#f28e2b";
    case ChunkState::kFast: return "#e15759";
    case ChunkState::kUnsorted: return "#b07aa1";
    case ChunkState::kSmall: return "#59a14f";
    case ChunkState::kLarge: return "#17becf";
    case ChunkState::kTop: return "#dcdcdc";
    case ChunkState::kMmapped: return "#edc948";
    case ChunkState::kMetadata: return "#9c755f";
    case ChunkState::kFreeUnlisted: return "#ff00ff";
    case ChunkState::kUnknown: return "#000000";
  }
  return "#000000";
}

const char* model_map_color(uint8_t state) {
  if (state == kModelMixedState) return "#bab0ac";
  switch (static_cast<BlockState>(state)) {
    case BlockState::kInUse: return "#4e79a7";
    case BlockState::kFree: return "#59a14f";
    case BlockState::kCached: return "#f28e2b";
    case BlockState::kTop: return "#dcdcdc";
    case BlockState::kMapped: return "#edc948";
    case BlockState::kMetadata: return "#9c755f";
    case BlockState::kUnknown: return "#000000";
  }
  return "#000000";
}

// A strip (or legend) with each run of one state's character in that state's
// colour; the characters themselves are the same with colour on and off.
class StripPainter {
 public:
  StripPainter(const std::vector<uint8_t>& states, char (*to_char)(uint8_t), std::string (*to_name)(uint8_t),
               const Style& style)
      : style_(style) {
    hues_.fill(Hue::kPlain);
    for (uint8_t st : states) hues_[static_cast<unsigned char>(to_char(st))] = state_hue(to_name(st));
  }
  std::string operator()(std::string_view strip) const {
    if (!style_.on()) return std::string(strip);
    std::string out;
    for (size_t i = 0; i < strip.size();) {
      size_t j = i;
      while (j < strip.size() && strip[j] == strip[i]) ++j;
      out += style_.paint(hues_[static_cast<unsigned char>(strip[i])], strip.substr(i, j - i));
      i = j;
    }
    return out;
  }

 private:
  std::array<Hue, 256> hues_{};
  const Style& style_;
};

std::string legend_text(const std::vector<uint8_t>& states, char (*to_char)(uint8_t),
                        std::string (*to_name)(uint8_t), const StripPainter& paint) {
  std::string s = "legend:";
  for (uint8_t st : states) s += fmt::format(" {} {}", paint(std::string(1, to_char(st))), to_name(st));
  return s;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += k[v >> 6 & 63], out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8;
    out += k[v >> 18 & 63], out += k[v >> 12 & 63], out += k[v >> 6 & 63], out += '=';
  }
  return out;
}

std::string map_text(const glibc::Heap& h, const HeapMap& m, const Style& style) {
  const StripPainter paint(map_legend_states(), map_char, map_state_name, style);
  std::string out;
  int last_arena = -1;
  for (const auto& mh : m.heaps) {
    if (mh.arena != last_arena) {
      const auto& a = h.arenas[static_cast<size_t>(mh.arena)];
      out += fmt::format("arena {}{} at {}: {} heap{}, system bytes {}\n", a.index, a.main ? " (main)" : "",
                         style.address(a.address), a.heaps.size(), a.heaps.size() == 1 ? "" : "s",
                         bytes_with_human(a.system_mem));
      last_arena = mh.arena;
    }
    uint64_t cell = (mh.range.size() + m.strip_width - 1) / std::max<size_t>(1, m.strip_width);
    out += fmt::format("  heap {} {}-{} {}, {} chunks, 1 char = {}\n", mh.index, style.address(mh.range.begin),
                       style.address(mh.range.end), human_size(mh.range.size()), mh.chunks,
                       cell >= 1024 ? human_size(cell) : fmt::format("{} B", cell));
    out += "  |" + paint(mh.strip) + "|\n";
  }
  if (!m.mmapped.empty()) {
    uint64_t bytes = 0;
    for (const auto* c : m.mmapped) bytes += c->size;
    out += fmt::format("mmapped: {} chunk{}, {} (each its own mapping, outside the arenas)\n",
                       m.mmapped.size(), m.mmapped.size() == 1 ? "" : "s", bytes_with_human(bytes));
  }
  out += legend_text(map_legend_states(), map_char, map_state_name, paint) + "\n";
  out += "  each character is the state covering at least 60% of its bytes; % when none does\n";
  return out;
}

std::string map_json(const glibc::Heap& h, const HeapMap& m) {
  json heaps = json::array();
  for (const auto& mh : m.heaps)
    heaps.push_back(json{{"arena", mh.arena}, {"index", mh.index}, {"begin", to_hex(mh.range.begin)},
                         {"end", to_hex(mh.range.end)}, {"chunks", mh.chunks}, {"strip", mh.strip}});
  json legend = json::object();
  for (uint8_t st : map_legend_states()) legend[std::string(1, map_char(st))] = map_state_name(st);
  uint64_t mm_bytes = 0;
  for (const auto* c : m.mmapped) mm_bytes += c->size;
  json doc{{"glibc_version", h.version}, {"width", m.strip_width}, {"arenas", m.arenas},
           {"heaps", std::move(heaps)}, {"mmapped", json{{"chunks", m.mmapped.size()}, {"bytes", mm_bytes}}},
           {"legend", std::move(legend)}};
  return doc.dump() + "\n";
}

namespace {

// Past this many chunks the page carries no chunk boundaries (4 bytes each):
// the map then stops at spans.
constexpr size_t kMaxBoundaries = 2'000'000;
// Marks listed at most (the side panel stays usable; the count is whole).
constexpr size_t kMaxMarks = 20'000;
// mmapped chunks drawn at most, one row each.
constexpr size_t kMaxMmappedRows = 200;

// Each heap's chunk starts as steps from the one before (the first from the
// heap's begin) in units of 16 bytes (chunks are 16-aligned): little-endian
// uint16, a step of 0xffff or more written as 0xffff then its high and low
// halves; base64. Two bytes a chunk keep a million chunks' page small.
std::string chunk_bounds(const std::vector<Block>& blocks, const MapHeap& mh) {
  std::string blob;
  auto put = [&](uint16_t v) { blob.append(reinterpret_cast<const char*>(&v), 2); };
  auto it = std::lower_bound(blocks.begin(), blocks.end(), mh.range.begin,
                             [](const Block& b, Address a) { return b.address < a; });
  Address prev = mh.range.begin;
  for (; it != blocks.end() && it->address < mh.range.end; ++it) {
    const uint64_t step = (it->address - prev) / 16;
    prev = it->address;
    if (step < 0xffff) {
      put(static_cast<uint16_t>(step));
    } else {
      put(0xffff);
      put(static_cast<uint16_t>(step >> 16));
      put(static_cast<uint16_t>(step));
    }
  }
  return base64_encode(blob);
}

// The first 8 data bytes of each chunk of a heap, in chunk_bounds' order; base64.
std::string chunk_first_words(const std::vector<Block>& blocks, const MapHeap& mh,
                              const std::vector<uint64_t>& words) {
  std::string blob;
  auto it = std::lower_bound(blocks.begin(), blocks.end(), mh.range.begin,
                             [](const Block& b, Address a) { return b.address < a; });
  for (; it != blocks.end() && it->address < mh.range.end; ++it)
    blob.append(reinterpret_cast<const char*>(&words[static_cast<size_t>(it - blocks.begin())]), 8);
  return base64_encode(blob);
}

// Each row's spans, structure of arrays, little-endian: offsets, sizes,
// chunk counts (uint32, in `unit` bytes), then states (uint8); base64.
json rows_json(const HeapMap& m) {
  json heaps = json::array();
  for (const auto& mh : m.heaps) {
    uint64_t bits = 0;
    for (const auto& s : mh.spans) bits |= s.offset | s.size;
    uint64_t unit = 1;
    while (unit < (1u << 20) && !(bits & unit)) unit <<= 1;
    while (mh.range.size() / unit >= (1ull << 32)) unit <<= 1;  // never for real heaps
    const size_t n = mh.spans.size();
    std::string blob(n * 13, '\0');
    for (size_t i = 0; i < n; ++i) {
      const MapSpan& s = mh.spans[i];
      uint32_t off = static_cast<uint32_t>(s.offset / unit);
      uint32_t len = static_cast<uint32_t>(std::max<uint64_t>(1, s.size / unit));
      std::memcpy(&blob[4 * i], &off, 4);
      std::memcpy(&blob[4 * n + 4 * i], &len, 4);
      std::memcpy(&blob[8 * n + 4 * i], &s.chunks, 4);
      blob[12 * n + i] = static_cast<char>(s.state);
    }
    heaps.push_back(json{{"arena", mh.arena}, {"index", mh.index}, {"begin", to_hex(mh.range.begin)},
                         {"size", mh.range.size()}, {"chunks", mh.chunks}, {"unit", unit},
                         {"nspans", n}, {"spans", base64_encode(blob)}});
  }
  return heaps;
}

// Block boundaries (and first words) per row, when the page can carry them.
void add_bounds(json& heaps, const HeapMap& m, const std::vector<Block>& blocks,
                const std::vector<uint64_t>& first_words) {
  size_t all_chunks = 0;
  for (const auto& mh : m.heaps) all_chunks += mh.chunks;
  if (all_chunks > kMaxBoundaries) return;
  for (size_t i = 0; i < m.heaps.size(); ++i) {
    heaps[i]["bounds"] = chunk_bounds(blocks, m.heaps[i]);
    if (first_words.size() == blocks.size()) heaps[i]["first"] = chunk_first_words(blocks, m.heaps[i], first_words);
  }
}

json histogram_json(const SizeHistogram& h) {
  json hist = json::array();
  for (size_t b = 0; b < h.buckets.size(); ++b)
    if (h.buckets[b].chunks)
      hist.push_back(json{{"from", 1ull << b}, {"chunks", h.buckets[b].chunks}, {"bytes", h.buckets[b].bytes}});
  return hist;
}

json marks_json(const std::vector<MapMark>& marks) {
  json mark_list = json::array();
  for (size_t i = 0; i < marks.size() && i < kMaxMarks; ++i)
    mark_list.push_back(json{{"address", to_hex(marks[i].address)}, {"size", marks[i].size},
                             {"kind", marks[i].kind}, {"label", marks[i].label}});
  return mark_list;
}

// The template with the data in it. Inside <script>, "</" could end the
// element early: JSON allows "<\/".
std::string page_with(const json& data) {
  std::string payload = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string safe;
  safe.reserve(payload.size());
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] == '<' && i + 1 < payload.size() && payload[i + 1] == '/') {
      safe += "<\\/";
      ++i;
    } else {
      safe += payload[i];
    }
  }
  std::string page(map_html_template());
  constexpr std::string_view kMark = "/*HEAPSCOPE_DATA*/";
  auto at = page.find(kMark);
  if (at != std::string::npos) page.replace(at, kMark.size(), safe);
  return page;
}

}  // namespace

std::string map_html(const glibc::Heap& h, const HeapMap& m, const FragReport& frag, std::string_view title,
                     size_t findings, const std::vector<MapMark>& marks,
                     const std::vector<uint64_t>& first_words) {
  json legend = json::array();
  for (uint8_t st : map_legend_states())
    legend.push_back(json{{"state", st}, {"name", map_state_name(st)}, {"color", map_color(st)}});

  json heaps = rows_json(m);
  add_bounds(heaps, m, h.blocks, first_words);
  json mmapped_list = json::array();
  for (size_t i = 0; i < m.mmapped.size() && i < kMaxMmappedRows; ++i)
    mmapped_list.push_back(json{{"address", to_hex(m.mmapped[i]->address)}, {"size", m.mmapped[i]->size}});

  auto figures = [&](const FragFigures& f) {
    json free = json::object();
    for (ChunkState s : {ChunkState::kTcache, ChunkState::kFast, ChunkState::kUnsorted, ChunkState::kSmall,
                         ChunkState::kLarge, ChunkState::kTop})
      free[std::string(glibc::state_name(s))] = json{{"chunks", f.free[s].chunks}, {"bytes", f.free[s].bytes}};
    return json{{"free", free}, {"free_bytes", f.free_bytes}, {"largest_free", f.largest_free},
                {"largest_free_at", f.largest_free ? to_hex(f.largest_free_at) : ""},
                {"external_fragmentation", f.external_fragmentation}, {"trim_bytes", f.trim_bytes()},
                {"trim_bins", f.trim_bins}, {"trim_top", f.trim_top}, {"free_hist", histogram_json(f.free_sizes)},
                {"in_use_hist", histogram_json(f.in_use_sizes)}};
  };
  json arenas = json::array();
  for (const auto& a : h.arenas) {
    bool drawn = false;
    for (const auto& mh : m.heaps) drawn = drawn || mh.arena == a.index;
    if (!drawn) continue;
    json j{{"index", a.index}, {"main", a.main}, {"address", to_hex(a.address)},
           {"system_bytes", a.system_mem}, {"heaps", a.heaps.size()}};
    if (static_cast<size_t>(a.index) < frag.arenas.size()) j["frag"] = figures(frag.arenas[a.index]);
    arenas.push_back(std::move(j));
  }
  uint64_t mm_bytes = 0;
  for (const auto* c : m.mmapped) mm_bytes += c->size;
  json data{{"title", std::string(title)}, {"glibc_version", h.version}, {"granularity", m.granularity},
            {"legend", std::move(legend)}, {"arenas", std::move(arenas)}, {"heaps", std::move(heaps)},
            {"total", figures(frag.total)},
            {"mmapped", json{{"chunks", m.mmapped.size()}, {"bytes", mm_bytes}, {"list", std::move(mmapped_list)}}},
            {"findings", findings}, {"marks", marks_json(marks)}, {"marks_total", marks.size()}};
  return page_with(data);
}

namespace {

std::string owner_label(const HeapModel& h, int owner) {
  return owner >= 0 && static_cast<size_t>(owner) < h.owners.size() ? h.owners[static_cast<size_t>(owner)].label
                                                                     : "unowned";
}

size_t rows_of(const HeapMap& m, int owner) {
  size_t n = 0;
  for (const auto& mh : m.heaps) n += mh.arena == owner;
  return n;
}

uint64_t block_count(const HeapMap& m) {
  uint64_t n = 0;
  for (const auto& mh : m.heaps) n += mh.chunks;
  return n;
}

// Blocks and bytes per BlockState over all of the model's blocks.
std::array<Tally, kBlockStateCount> model_state_totals(const HeapModel& h) {
  std::array<Tally, kBlockStateCount> t{};
  for (const Block& b : h.blocks) t[static_cast<size_t>(h.state(b))].add(b.size);
  return t;
}

}  // namespace

std::string model_map_text(const HeapModel& h, const HeapMap& m, const Style& style) {
  const StripPainter paint(model_map_legend_states(), model_map_char, model_map_state_name, style);
  uint64_t system_bytes = 0;
  for (const auto& mh : m.heaps) system_bytes += mh.range.size();
  std::string out = fmt::format("{} {}: {} system range{}, {} blocks, system bytes {}\n", h.allocator, h.version,
                                m.heaps.size(), m.heaps.size() == 1 ? "" : "s", block_count(m),
                                bytes_with_human(system_bytes));
  for (size_t i = 0; i < m.heaps.size(); ++i) {
    const MapHeap& mh = m.heaps[i];
    if (i == 0 || m.heaps[i - 1].arena != mh.arena) {
      const size_t n = rows_of(m, mh.arena);
      if (mh.arena >= 0 && static_cast<size_t>(mh.arena) < h.owners.size()) {
        const Owner& o = h.owners[static_cast<size_t>(mh.arena)];
        out += fmt::format("{} at {}: {} range{}, system bytes {}\n", o.label, style.address(o.address), n,
                           n == 1 ? "" : "s", bytes_with_human(o.system_bytes));
      } else {
        out += fmt::format("unowned: {} range{}\n", n, n == 1 ? "" : "s");
      }
    }
    uint64_t cell = (mh.range.size() + m.strip_width - 1) / std::max<size_t>(1, m.strip_width);
    out += fmt::format("  range {} {}-{} {}, {} blocks, 1 char = {}\n", mh.index, style.address(mh.range.begin),
                       style.address(mh.range.end), human_size(mh.range.size()), mh.chunks,
                       cell >= 1024 ? human_size(cell) : fmt::format("{} B", cell));
    out += "  |" + paint(mh.strip) + "|\n";
  }
  out += legend_text(model_map_legend_states(), model_map_char, model_map_state_name, paint);
  out += "\n  each character is the state covering at least 60% of its bytes; % when none does\n";
  if (!h.findings.empty())
    out += fmt::format("{} problem{} met in the heap walk (see heap check)\n", h.findings.size(),
                       h.findings.size() == 1 ? "" : "s");
  return out;
}

std::string model_map_json(const HeapModel& h, const HeapMap& m) {
  json rows = json::array();
  for (const auto& mh : m.heaps)
    rows.push_back(json{{"owner", mh.arena >= 0 ? json(owner_label(h, mh.arena)) : json(nullptr)},
                        {"index", mh.index}, {"begin", to_hex(mh.range.begin)}, {"end", to_hex(mh.range.end)},
                        {"blocks", mh.chunks}, {"strip", mh.strip}});
  json legend = json::object();
  for (uint8_t st : model_map_legend_states()) legend[std::string(1, model_map_char(st))] = model_map_state_name(st);
  json states = json::object();
  const auto totals = model_state_totals(h);
  for (int s = 0; s < kBlockStateCount; ++s)
    states[std::string(block_state_name(static_cast<BlockState>(s)))] =
        json{{"blocks", totals[static_cast<size_t>(s)].chunks}, {"bytes", totals[static_cast<size_t>(s)].bytes}};
  json doc{{"allocator", h.allocator}, {"version", h.version}, {"width", m.strip_width},
           {"owners", m.arenas}, {"rows", std::move(rows)}, {"blocks", block_count(m)},
           {"states", std::move(states)}, {"legend", std::move(legend)}, {"findings", h.findings.size()}};
  return doc.dump() + "\n";
}

std::string model_map_html(const HeapModel& h, const HeapMap& m, const ModelFragReport& frag, std::string_view title,
                           const std::vector<MapMark>& marks, const std::vector<uint64_t>& first_words) {
  json legend = json::array();
  for (uint8_t st : model_map_legend_states())
    legend.push_back(json{{"state", st}, {"name", model_map_state_name(st)}, {"color", model_map_color(st)}});
  json heaps = rows_json(m);
  for (size_t i = 0; i < m.heaps.size(); ++i)
    heaps[i]["label"] = fmt::format("{} range {}", owner_label(h, m.heaps[i].arena), m.heaps[i].index);
  // Block boundaries go in 16-byte steps: only when every block start is 16-aligned.
  bool aligned = true;
  for (const auto& mh : m.heaps) aligned = aligned && mh.range.begin.value % 16 == 0;
  for (const Block& b : h.blocks) aligned = aligned && b.address.value % 16 == 0;
  if (aligned) add_bounds(heaps, m, h.blocks, first_words);

  json free_classes = json::array();
  for (const BlockKind& k : h.kinds)
    if (is_free_state(k.state)) free_classes.push_back(std::string(k.name));
  auto figures = [&](const ModelFragFigures& f) {
    json free = json::object();
    for (size_t k = 0; k < h.kinds.size(); ++k)
      if (is_free_state(h.kinds[k].state))
        free[std::string(h.kinds[k].name)] = json{{"chunks", f.free_by_kind[k].chunks}, {"bytes", f.free_by_kind[k].bytes}};
    return json{{"free", std::move(free)}, {"free_bytes", f.free_bytes}, {"largest_free", f.largest_free},
                {"external_fragmentation", f.external_fragmentation},
                {"free_hist", histogram_json(f.free_sizes)}, {"in_use_hist", histogram_json(f.in_use_sizes)}};
  };
  json owners = json::array();
  for (size_t i = 0; i < m.heaps.size(); ++i) {
    const int owner = m.heaps[i].arena;
    if (i > 0 && m.heaps[i - 1].arena == owner) continue;
    json j{{"index", owner}, {"label", owner_label(h, owner)}, {"heaps", rows_of(m, owner)}};
    if (owner >= 0 && static_cast<size_t>(owner) < h.owners.size()) {
      j["address"] = to_hex(h.owners[static_cast<size_t>(owner)].address);
      j["system_bytes"] = h.owners[static_cast<size_t>(owner)].system_bytes;
      if (static_cast<size_t>(owner) < frag.owners.size()) j["frag"] = figures(frag.owners[static_cast<size_t>(owner)]);
    }
    owners.push_back(std::move(j));
  }
  json data{{"title", std::string(title)}, {"allocator", h.allocator}, {"version", h.version},
            {"granularity", m.granularity}, {"legend", std::move(legend)}, {"free_classes", std::move(free_classes)},
            {"arenas", std::move(owners)}, {"heaps", std::move(heaps)}, {"blocks", block_count(m)},
            {"total", figures(frag.total)},
            {"mmapped", json{{"chunks", 0}, {"bytes", 0}, {"list", json::array()}}},
            {"findings", h.findings.size()}, {"marks", marks_json(marks)}, {"marks_total", marks.size()}};
  return page_with(data);
}

}  // namespace heapscope
