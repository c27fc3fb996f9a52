#include "render/frag_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "render/format.h"

namespace heapscope {

using glibc::ChunkState;
using json = nlohmann::ordered_json;

namespace {

constexpr ChunkState kFreeClasses[] = {ChunkState::kTcache, ChunkState::kFast, ChunkState::kUnsorted,
                                       ChunkState::kSmall, ChunkState::kLarge, ChunkState::kTop};

std::string bucket_label(int b) {
  auto edge = [](uint64_t v) {
    if (v >= (1ull << 30) && v % (1ull << 30) == 0) return fmt::format("{}G", v >> 30);
    if (v >= (1ull << 20) && v % (1ull << 20) == 0) return fmt::format("{}M", v >> 20);
    if (v >= (1ull << 10) && v % (1ull << 10) == 0) return fmt::format("{}K", v >> 10);
    return fmt::format("{}", v);
  };
  uint64_t lo = 1ull << b;
  std::string hi = b >= 63 ? "max" : edge(1ull << (b + 1));
  return fmt::format("[{}, {})", edge(lo), hi);
}

std::string percent(double f) { return fmt::format("{:.1f}%", f * 100.0); }

json histogram_json(const SizeHistogram& h) {
  json a = json::array();
  for (size_t b = 0; b < h.buckets.size(); ++b) {
    const Tally& t = h.buckets[b];
    if (!t.chunks) continue;
    a.push_back(json{{"from", 1ull << b}, {"to", b >= 63 ? UINT64_MAX : (1ull << (b + 1))},
                     {"chunks", t.chunks}, {"bytes", t.bytes}});
  }
  return a;
}

json figures_json(const FragFigures& f) {
  json free = json::object();
  for (ChunkState s : kFreeClasses)
    free[std::string(glibc::state_name(s))] = json{{"chunks", f.free[s].chunks}, {"bytes", f.free[s].bytes}};
  json j = json::object();
  if (f.arena >= 0) j["index"] = f.arena;
  j["free"] = std::move(free);
  j["free_bytes"] = f.free_bytes;
  j["largest_free"] = f.largest_free
                          ? json{{"address", to_hex(f.largest_free_at)}, {"bytes", f.largest_free},
                                 {"state", std::string(glibc::state_name(f.largest_free_state))}}
                          : json{{"address", nullptr}, {"bytes", 0}, {"state", nullptr}};
  j["external_fragmentation"] = f.external_fragmentation;
  j["histograms"] = json{{"free", histogram_json(f.free_sizes)}, {"in_use", histogram_json(f.in_use_sizes)}};
  j["trim"] = json{{"bytes", f.trim_bytes()}, {"bin_interiors", f.trim_bins}, {"top", f.trim_top},
                   {"fast_chunks_consolidated", f.fast_consolidated},
                   {"fast_bytes_into_top", f.fast_into_top}};
  return j;
}

std::string figures_text(const FragFigures& f, bool main_arena, const Style& style) {
  std::string out;
  out += fmt::format("  {:<10} {:>8} {:>14}\n", "free class", "chunks", "bytes");
  for (ChunkState s : kFreeClasses) {
    const Tally& t = f.free[s];
    out += fmt::format("  {} {:>8} {:>14}  {}\n", style.left(state_hue(glibc::state_name(s)), glibc::state_name(s), 10),
                       t.chunks, t.bytes,
                       t.bytes >= 1024 ? human_size(t.bytes) : "");
  }
  out += fmt::format("  {:<10} {:>8} {:>14}  {}\n", "total", "", f.free_bytes,
                     f.free_bytes >= 1024 ? human_size(f.free_bytes) : "");
  if (f.largest_free)
    out += fmt::format("  largest free chunk: {} at {} ({})\n", bytes_with_human(f.largest_free),
                       style.address(f.largest_free_at),
                       style.paint(state_hue(glibc::state_name(f.largest_free_state)), glibc::state_name(f.largest_free_state)));
  else
    out += "  largest free chunk: none\n";
  out += fmt::format("  external fragmentation: {}  (1 - largest free / total free)\n",
                     percent(f.external_fragmentation));
  out += fmt::format("  malloc_trim(0) would release: {}\n", bytes_with_human(f.trim_bytes()));
  out += fmt::format("    free chunk interiors (madvise): {}\n", bytes_with_human(f.trim_bins));
  if (f.arena < 0 || main_arena)
    out += fmt::format("    top (sbrk, main arena only):    {}\n", bytes_with_human(f.trim_top));
  else
    out += "    top: kept (malloc_trim trims only the main arena's top)\n";
  if (f.fast_consolidated)
    out += fmt::format("    consolidation first merges {} fast chunk{}{}\n", f.fast_consolidated,
                       f.fast_consolidated == 1 ? "" : "s",
                       f.fast_into_top ? fmt::format("; {} bytes join top", f.fast_into_top) : "");
  out += "  free chunk sizes (tcache, fast, bins; top not counted):\n";
  out += f.free_sizes.chunks() ? histogram_text(f.free_sizes, 40, "    ") : "    none\n";
  out += "  in-use chunk sizes:\n";
  out += f.in_use_sizes.chunks() ? histogram_text(f.in_use_sizes, 40, "    ") : "    none\n";
  return out;
}

const char* state_word(PageState s, bool live) {
  switch (s) {
    case PageState::kPresent: return live ? "present (in memory)" : "in the dump";
    case PageState::kSwapped: return "swapped out";
    case PageState::kAbsent: return live ? "absent (never touched, or released)" : "not in the dump";
    case PageState::kZero: return "zero page (read, never written: no memory)";
    case PageState::kUnknown: return "unknown";
  }
  return "unknown";
}

json counts_json(const PageCounts& c, bool live) {
  json j{{live ? "present" : "in_dump", c.present}};
  if (live) j["swapped"] = c.swapped;
  j[live ? "absent" : "not_in_dump"] = c.absent;
  if (live) j["zero"] = c.zero;
  j["unknown"] = c.unknown;
  return j;
}

// The page table's header and rows (heap pages, glibc and any model).
std::string page_table_head(bool live) {
  if (live)
    return fmt::format("  {:<22} {:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "region", "range", "present",
                       "swapped", "zero", "absent", "unknown");
  return fmt::format("  {:<22} {:<33} {:>8} {:>8} {:>8}\n", "region", "range", "in dump", "not in", "unknown");
}

std::string page_row(bool live, const std::string& name, const std::string& range, const PageCounts& c) {
  if (live)
    return fmt::format("  {:<22} {:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n", name, range, c.present, c.swapped,
                       c.zero, c.absent, c.unknown);
  return fmt::format("  {:<22} {:<33} {:>8} {:>8} {:>8}\n", name, range, c.present, c.absent, c.unknown);
}

std::string pages_source_line(bool live, uint64_t ps) {
  return fmt::format("{} pages of {} bytes, from {}\n", live ? "memory" : "core file", ps,
                     live ? "/proc/PID/pagemap" : "the core's sparse holes");
}

std::string owner_name(const HeapModel& h, int owner) {
  return owner >= 0 && static_cast<size_t>(owner) < h.owners.size() ? h.owners[static_cast<size_t>(owner)].label
                                                                     : std::string("no owner");
}

std::string region_name(const glibc::Heap& h, const RegionPages& r) {
  if (r.arena == glibc::kMmappedArena) return "mmapped chunk";
  if (r.arena >= 0 && static_cast<size_t>(r.arena) < h.arenas.size() && h.arenas[r.arena].main)
    return fmt::format("arena {} heap (sbrk)", r.arena);
  return fmt::format("arena {} heap", r.arena);
}

}  // namespace

std::string histogram_text(const SizeHistogram& hist, size_t bar_width, std::string_view indent) {
  size_t lo = hist.buckets.size(), hi = 0;
  uint64_t max = 0;
  for (size_t b = 0; b < hist.buckets.size(); ++b)
    if (hist.buckets[b].chunks) {
      lo = std::min(lo, b), hi = b;
      max = std::max(max, hist.buckets[b].chunks);
    }
  std::string out;
  if (lo > hi) return out;
  for (size_t b = lo; b <= hi; ++b) {
    const Tally& t = hist.buckets[b];
    size_t bar = max ? static_cast<size_t>((t.chunks * bar_width + max - 1) / max) : 0;
    out += fmt::format("{}{:<15} {:>8} {:<{}} {}\n", indent, bucket_label(static_cast<int>(b)), t.chunks,
                       std::string(bar, '#'), bar_width, t.chunks ? bytes_with_human(t.bytes) : "");
  }
  return out;
}

std::string frag_text(const glibc::Heap& h, const FragReport& r, std::optional<int> only_arena, const Style& style) {
  std::string out;
  for (const auto& f : r.arenas) {
    if (only_arena && f.arena != *only_arena) continue;
    const auto& a = h.arenas[static_cast<size_t>(f.arena)];
    out += fmt::format("{}arena {}{} at {}: system bytes {}, free {}\n", out.empty() ? "" : "\n", f.arena,
                       a.main ? " (main)" : "", style.address(a.address), bytes_with_human(a.system_mem),
                       bytes_with_human(f.free_bytes));
    out += figures_text(f, a.main, style);
  }
  if (!only_arena && r.arenas.size() > 1) {
    out += fmt::format("\nall arenas: free {}\n", bytes_with_human(r.total.free_bytes));
    out += figures_text(r.total, false, style);
  }
  if (!only_arena && r.mmapped.chunks)
    out += fmt::format("\nmmapped chunks: {} ({}); malloc_trim leaves them alone\n", r.mmapped.chunks,
                       bytes_with_human(r.mmapped.bytes));
  return out;
}

std::string frag_json(const glibc::Heap& h, const FragReport& r, std::optional<int> only_arena, size_t findings) {
  json arenas = json::array();
  for (const auto& f : r.arenas) {
    if (only_arena && f.arena != *only_arena) continue;
    json j = figures_json(f);
    j["main"] = h.arenas[static_cast<size_t>(f.arena)].main;
    j["system_bytes"] = h.arenas[static_cast<size_t>(f.arena)].system_mem;
    arenas.push_back(std::move(j));
  }
  json doc{{"glibc_version", h.version}, {"page_size", r.page_size}, {"arenas", std::move(arenas)}};
  if (!only_arena) {
    doc["total"] = figures_json(r.total);
    doc["mmapped"] = json{{"chunks", r.mmapped.chunks}, {"bytes", r.mmapped.bytes}};
  }
  doc["findings"] = findings;
  return doc.dump() + "\n";
}

std::string pages_text(const glibc::Heap& h, const PagesReport& r) {
  std::string out;
  const uint64_t ps = r.page_size;
  if (r.address) {
    const AddressPage& a = *r.address;
    out += fmt::format("address {}: page {} ({} bytes)\n", to_hex(a.address), to_hex(a.page), ps);
    out += fmt::format("  state: {}\n", state_word(a.state, r.live));
    if (a.entry) {
      const PagemapEntry& e = *a.entry;
      out += fmt::format("  pagemap entry: {:#018x}\n", e.raw);
      if (e.present) {
        if (a.pfn_hidden)
          out += "  frame number: hidden (reads as 0: reading frame numbers needs CAP_SYS_ADMIN)\n";
        else
          out += fmt::format("  frame number: {:#x} (physical address {:#x})\n", e.pfn,
                             e.pfn * ps + (a.address.value & (ps - 1)));
      } else if (e.swapped) {
        out += fmt::format("  swap: type {}, offset {:#x}\n", e.swap_type, e.swap_offset);
      }
      std::string flags;
      if (e.exclusive) flags += " exclusive";
      if (e.soft_dirty) flags += " soft-dirty";
      if (e.file_or_shared) flags += " file-or-shared";
      out += fmt::format("  pagemap flags:{}\n", flags.empty() ? " none" : flags);
      if (a.kpageflags) {
        std::string names;
        for (const auto& n : a.kpageflag_names) names += " " + n;
        out += fmt::format("  kpageflags: {:#x}{}\n", *a.kpageflags, names);
      }
    }
    if (a.chunk)
      out += fmt::format("  chunk: {} size {} ({})\n", to_hex(a.chunk->address), a.chunk->size,
                         glibc::state_name(glibc::state_of(*a.chunk)));
    else
      out += "  chunk: none (not inside a heap chunk)\n";
    out += fmt::format("  malloc_trim(0) would release this page: {}\n", a.in_trim_range ? "yes" : "no");
  } else {
    out += pages_source_line(r.live, ps);
    auto row = [&](const std::string& name, const std::string& range, const PageCounts& c) {
      return page_row(r.live, name, range, c);
    };
    out += page_table_head(r.live);
    for (const auto& g : r.regions)
      out += row(region_name(h, g), to_hex(g.range.begin) + "-" + to_hex(g.range.end), g.pages);
    out += row("total", "", r.total);
    uint64_t trim_pages = r.trim_total.total();
    out += fmt::format("free pages malloc_trim(0) would release: {} ({})\n", trim_pages,
                       bytes_with_human(trim_pages * ps));
    if (r.live) {
      out += fmt::format("  free but resident:          {}{}\n", bytes_with_human(r.trim_resident_bytes()),
                         r.trim_total.swapped ? fmt::format(" (of which swapped: {})",
                                                            bytes_with_human(r.trim_total.swapped * ps))
                                              : "");
      out += fmt::format("  free and already released:  {}\n", bytes_with_human(r.trim_released_bytes()));
    } else {
      out += fmt::format("  free and in the dump (resident when dumped): {}\n",
                         bytes_with_human(r.trim_total.present * ps));
      out += fmt::format("  free and not in the dump:                    {}\n",
                         bytes_with_human(r.trim_total.absent * ps));
      if (r.trim_total.unknown)
        out += fmt::format("  free, cannot tell:                           {}\n",
                           bytes_with_human(r.trim_total.unknown * ps));
    }
  }
  for (const auto& n : r.notes) out += "note: " + n + "\n";
  return out;
}

std::string pages_json(const glibc::Heap& h, const PagesReport& r) {
  json doc{{"source", r.live ? "pagemap" : "core"}, {"page_size", r.page_size}};
  if (r.address) {
    const AddressPage& a = *r.address;
    json j{{"address", to_hex(a.address)}, {"page", to_hex(a.page)},
           {"state", a.state == PageState::kPresent ? (r.live ? "present" : "in_dump")
                     : a.state == PageState::kSwapped ? "swapped"
                     : a.state == PageState::kAbsent ? (r.live ? "absent" : "not_in_dump")
                     : a.state == PageState::kZero ? "zero"
                                                      : "unknown"}};
    if (a.entry) {
      const PagemapEntry& e = *a.entry;
      j["pagemap"] = json{{"raw", e.raw}, {"present", e.present}, {"swapped", e.swapped},
                          {"exclusive", e.exclusive}, {"soft_dirty", e.soft_dirty},
                          {"file_or_shared", e.file_or_shared}};
      j["pfn"] = e.present && !a.pfn_hidden ? json(e.pfn) : json(nullptr);
      j["pfn_hidden"] = a.pfn_hidden;
      if (a.kpageflags) j["kpageflags"] = json{{"raw", *a.kpageflags}, {"names", a.kpageflag_names}};
    }
    j["chunk"] = a.chunk ? json{{"address", to_hex(a.chunk->address)}, {"size", a.chunk->size},
                                {"state", std::string(glibc::state_name(glibc::state_of(*a.chunk)))}}
                         : json(nullptr);
    j["in_trim_range"] = a.in_trim_range;
    doc["address"] = std::move(j);
  } else {
    json regions = json::array();
    for (const auto& g : r.regions)
      regions.push_back(json{{"arena", g.arena}, {"kind", region_name(h, g)},
                             {"begin", to_hex(g.range.begin)}, {"end", to_hex(g.range.end)},
                             {"pages", counts_json(g.pages, r.live)},
                             {"trim_pages", counts_json(g.trim_pages, r.live)}});
    doc["regions"] = std::move(regions);
    doc["total"] = counts_json(r.total, r.live);
    doc["trim"] = json{{"pages", counts_json(r.trim_total, r.live)},
                       {"bytes", r.trim_total.total() * r.page_size},
                       {"free_resident_bytes", r.live ? r.trim_resident_bytes() : r.trim_total.present * r.page_size},
                       {"free_released_bytes", r.trim_released_bytes()},
                       {"unknown_bytes", r.trim_total.unknown * r.page_size}};
  }
  doc["notes"] = r.notes;
  return doc.dump() + "\n";
}

namespace {

std::string model_figures_text(const HeapModel& h, const ModelFragFigures& f, const Style& style) {
  std::string out = fmt::format("  {:<14} {:>8} {:>14}\n", "free kind", "chunks", "bytes");
  for (size_t k = 0; k < h.kinds.size(); ++k) {
    if (!is_free_state(h.kinds[k].state)) continue;
    const Tally& t = f.free_by_kind[k];
    out += fmt::format("  {} {:>8} {:>14}  {}\n", style.left(kind_hue(h.kinds[k]), h.kinds[k].name, 14), t.chunks,
                       t.bytes,
                       t.bytes >= 1024 ? human_size(t.bytes) : "");
  }
  out += fmt::format("  free bytes: {}\n", bytes_with_human(f.free_bytes));
  if (f.free_bytes)
    out += fmt::format("  largest free: {} at {} ({})\n", bytes_with_human(f.largest_free),
                       style.address(f.largest_free_at),
                       style.paint(kind_hue(h.kinds[f.largest_free_kind]), h.kinds[f.largest_free_kind].name));
  out += fmt::format("  external fragmentation: {}  (1 - largest free / free bytes)\n",
                     percent(f.external_fragmentation));
  return out;
}

json model_figures_json(const HeapModel& h, const ModelFragFigures& f) {
  json free = json::object();
  for (size_t k = 0; k < h.kinds.size(); ++k)
    if (is_free_state(h.kinds[k].state))
      free[std::string(h.kinds[k].name)] = json{{"chunks", f.free_by_kind[k].chunks}, {"bytes", f.free_by_kind[k].bytes}};
  json j{{"free", std::move(free)}, {"free_bytes", f.free_bytes}, {"largest_free", f.largest_free}};
  j["largest_free_at"] = f.free_bytes ? json(to_hex(f.largest_free_at)) : json(nullptr);
  j["largest_free_kind"] = f.free_bytes ? json(std::string(h.kinds[f.largest_free_kind].name)) : json(nullptr);
  j["external_fragmentation"] = f.external_fragmentation;
  return j;
}

}  // namespace

std::string model_frag_text(const HeapModel& h, const ModelFragReport& r, const Style& style) {
  std::string out = fmt::format("{} {}: free space of {} owner{}\n", h.allocator, h.version, r.owners.size(),
                                r.owners.size() == 1 ? "" : "s");
  for (size_t i = 0; i < r.owners.size(); ++i) {
    out += fmt::format("{}:\n", h.owners[i].label);
    out += model_figures_text(h, r.owners[i], style);
  }
  out += "total:\n" + model_figures_text(h, r.total, style);
  out += "  free block sizes (top excluded):\n";
  out += r.total.free_sizes.chunks() ? histogram_text(r.total.free_sizes, 40, "    ") : "    none\n";
  out += "  in-use block sizes:\n";
  out += r.total.in_use_sizes.chunks() ? histogram_text(r.total.in_use_sizes, 40, "    ") : "    none\n";
  return out;
}

std::string model_frag_json(const HeapModel& h, const ModelFragReport& r, size_t findings) {
  json owners = json::array();
  for (size_t i = 0; i < r.owners.size(); ++i) {
    json o = model_figures_json(h, r.owners[i]);
    o["owner"] = h.owners[i].label;
    owners.push_back(std::move(o));
  }
  json total = model_figures_json(h, r.total);
  total["histograms"] = json{{"free", histogram_json(r.total.free_sizes)}, {"in_use", histogram_json(r.total.in_use_sizes)}};
  json doc{{"allocator", h.allocator}, {"version", h.version}, {"owners", std::move(owners)},
           {"total", std::move(total)}, {"findings", findings}};
  return doc.dump() + "\n";
}

std::string model_pages_text(const HeapModel& h, const ModelPagesReport& r) {
  std::string out = fmt::format("{} {}: ", h.allocator, h.version) + pages_source_line(r.live, r.page_size);
  out += page_table_head(r.live);
  for (const auto& g : r.regions)
    out += page_row(r.live, owner_name(h, g.owner), to_hex(g.range.begin) + "-" + to_hex(g.range.end), g.pages);
  out += page_row(r.live, "total", "", r.total);
  out += fmt::format("  {:<22} {:>14} {:>14}\n", "block state", "bytes", r.live ? "resident" : "in dump");
  for (int s = 0; s < kBlockStateCount; ++s) {
    const StatePages& sp = r.states[static_cast<size_t>(s)];
    if (sp.bytes)
      out += fmt::format("  {:<22} {:>14} {:>14}\n", block_state_name(static_cast<BlockState>(s)), sp.bytes,
                         sp.resident_bytes);
  }
  for (const auto& n : r.notes) out += "note: " + n + "\n";
  return out;
}

std::string model_pages_json(const HeapModel& h, const ModelPagesReport& r) {
  json regions = json::array();
  for (const auto& g : r.regions)
    regions.push_back(json{{"owner", g.owner >= 0 ? json(owner_name(h, g.owner)) : json(nullptr)},
                           {"begin", to_hex(g.range.begin)}, {"end", to_hex(g.range.end)},
                           {"pages", counts_json(g.pages, r.live)}});
  json states = json::object();
  for (int s = 0; s < kBlockStateCount; ++s) {
    const StatePages& sp = r.states[static_cast<size_t>(s)];
    states[std::string(block_state_name(static_cast<BlockState>(s)))] =
        json{{"bytes", sp.bytes}, {"resident_bytes", sp.resident_bytes}};
  }
  json doc{{"allocator", h.allocator}, {"source", r.live ? "pagemap" : "core"}, {"page_size", r.page_size},
           {"regions", std::move(regions)}, {"total", counts_json(r.total, r.live)},
           {"states", std::move(states)}, {"notes", r.notes}};
  return doc.dump() + "\n";
}

std::string mems_frag_text(const MemsFrag& f) {
  std::string out = fmt::format("segment allocator: {} node{}, {} hole{}, hole bytes {}\n", f.nodes.size(),
                                f.nodes.size() == 1 ? "" : "s", f.holes, f.holes == 1 ? "" : "s",
                                bytes_with_human(f.hole_bytes));
  out += fmt::format("  {:>5} {:<18} {:>10} {:>6} {:>12} {:>12} {:>10} {:>10}\n", "node", "physical", "length",
                     "holes", "hole bytes", "largest", "tail hole", "slack");
  for (const auto& n : f.nodes)
    out += fmt::format("  {:>5} {:<18} {:>10} {:>6} {:>12} {:>12} {:>10} {:>10}\n", n.index, to_hex(n.pstart),
                       n.length, n.holes, n.hole_bytes, n.largest_hole, n.tail_hole, n.process_slack);
  out += fmt::format("  largest hole: {}\n", bytes_with_human(f.largest_hole));
  out += fmt::format("  external fragmentation: {}  (1 - largest hole / hole bytes)\n",
                     percent(f.external_fragmentation));
  out += fmt::format("  wasted tail bytes (holes ending a node): {}\n", bytes_with_human(f.tail_bytes));
  out += fmt::format("  PROCESS bytes beyond the request: {}\n", bytes_with_human(f.process_slack));
  out += fmt::format("pool allocator: free bytes {} in used pools, {} empty pool{}, {} not carved yet\n",
                     bytes_with_human(f.pool_free_bytes), f.empty_pools, f.empty_pools == 1 ? "" : "s",
                     f.uncarved_pools);
  if (!f.classes.empty()) {
    out += fmt::format("  {:>5} {:>6} {:>6} {:>12} {:>12}\n", "class", "block", "pools", "free blocks",
                       "free bytes");
    for (const auto& c : f.classes)
      out += fmt::format("  {:>5} {:>6} {:>6} {:>12} {:>12}\n", c.class_index, c.block_size, c.pools,
                         c.free_blocks, c.free_bytes);
  }
  return out;
}

std::string mems_frag_json(const MemsFrag& f) {
  json nodes = json::array();
  for (const auto& n : f.nodes)
    nodes.push_back(json{{"index", n.index}, {"pstart", to_hex(n.pstart)}, {"length", n.length},
                         {"holes", n.holes}, {"hole_bytes", n.hole_bytes}, {"largest_hole", n.largest_hole},
                         {"tail_hole", n.tail_hole}, {"process_slack", n.process_slack}});
  json classes = json::array();
  for (const auto& c : f.classes)
    classes.push_back(json{{"class", c.class_index}, {"block_size", c.block_size}, {"pools", c.pools},
                           {"free_blocks", c.free_blocks}, {"free_bytes", c.free_bytes}});
  json doc{{"segments", json{{"nodes", std::move(nodes)}, {"holes", f.holes}, {"hole_bytes", f.hole_bytes},
                             {"largest_hole", f.largest_hole}, {"tail_bytes", f.tail_bytes},
                             {"process_slack", f.process_slack},
                             {"external_fragmentation", f.external_fragmentation}}},
           {"pools", json{{"classes", std::move(classes)}, {"free_bytes", f.pool_free_bytes},
                          {"empty_pools", f.empty_pools}, {"uncarved_pools", f.uncarved_pools}}}};
  return doc.dump() + "\n";
}

std::string os_page_text(const std::optional<OsPage>& page, Address a) {
  if (!page) return "";
  const PagemapEntry* e = &page->entry;
  if (e->present && e->pfn)
    return fmt::format("OS page: frame {:#x}, physical memory address {:#x}\n", e->pfn,
                       e->pfn * page->page_size + (a.value & (page->page_size - 1)));
  if (e->present)
    return "OS page: present; frame number hidden (reads as 0: reading it needs CAP_SYS_ADMIN)\n";
  if (e->swapped) return fmt::format("OS page: swapped out (swap type {}, offset {:#x})\n", e->swap_type, e->swap_offset);
  return "OS page: not in memory (never touched, or released)\n";
}

std::string with_os_page_json(std::string json_line, const std::optional<OsPage>& page) {
  if (!page) return json_line;
  const PagemapEntry* e = &page->entry;
  json doc = json::parse(json_line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return json_line;
  doc["os_page"] = json{{"present", e->present}, {"swapped", e->swapped},
                        {"pfn", e->present && e->pfn ? json(e->pfn) : json(nullptr)},
                        {"pfn_hidden", e->present && !e->pfn}};
  return doc.dump() + "\n";
}

}  // namespace heapscope
