// The fragmentation commands: `heap frag`, `heap pages`, `heap map`.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "commands/registry.h"
#include "heapscope/analysis/frag.h"
#include "heapscope/analysis/check.h"
#include "heapscope/analysis/heapmap.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/pages.h"
#include "heapscope/glibc/heap.h"
#include "render/frag_render.h"
#include "render/heap_render.h"
#include "render/map_render.h"
#include "targets/page_size.h"

namespace heapscope {

namespace {

std::string run_frag(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  if (!dynamic_cast<const glibc::Heap*>(&model)) {
    if (ctx.args.has("--arena"))
      throw UserError{fmt::format("heap frag --arena needs glibc's heap; malloc in this process is {}", model.allocator)};
    ModelFragReport r = compute_model_frag(model, ctx.cancel);
    return ctx.args.json() ? model_frag_json(model, r, model.findings.size()) : model_frag_text(model, r, Style(ctx.color));
  }
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  auto arena = arena_option(ctx, h);
  FragReport r = compute_frag(h, targets::page_size(ctx.session.target()), ctx.cancel);
  return ctx.args.json() ? frag_json(h, r, arena, heap_problems(ctx)) : with_findings_footer(ctx, frag_text(h, r, arena, Style(ctx.color)));
}

// heap pages on a model other than glibc's: its system ranges and block
// states, without glibc's trim model; ADDR and --arena are glibc's.
std::string run_model_pages(CommandContext& ctx, const HeapModel& h) {
  if (!ctx.args.positional.empty() || ctx.args.has("--arena"))
    throw UserError{fmt::format("heap pages ADDR and --arena need glibc's heap; malloc in this process is {}",
                                h.allocator)};
  auto res = open_residency(ctx.session.target());
  if (!res) throw UserError{res.error().message};
  ModelPagesReport r = compute_model_pages(**res, h, ctx.cancel);
  return ctx.args.json() ? model_pages_json(h, r) : model_pages_text(h, r);
}

std::string run_pages(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  if (!dynamic_cast<const glibc::Heap*>(&model)) return run_model_pages(ctx, model);
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  const Target& t = ctx.session.target();
  auto arena = arena_option(ctx, h);
  std::optional<Address> addr;
  if (!ctx.args.positional.empty()) {  // not with --arena: the table
    addr = parse_address(ctx.args.positional[0]);
    if (!t.is_mapped(*addr)) throw UserError{fmt::format("{} is not mapped in the target", to_hex(*addr))};
  }
  auto res = open_residency(t);
  if (!res) throw UserError{res.error().message};
  FragReport frag = compute_frag(h, (*res)->page_size(), ctx.cancel);
  PagesReport r = addr ? page_of_address(**res, h, frag, *addr)
                       : compute_pages(**res, h, frag, arena, ctx.cancel);
  return ctx.args.json() ? pages_json(h, r) : with_findings_footer(ctx, pages_text(h, r));
}

constexpr size_t kMaxHtmlSpans = 200000;

std::vector<MapMark> map_marks(CommandContext& ctx, const glibc::Heap& h, std::optional<int> arena);
void add_leak_marks(CommandContext& ctx, const HeapModel& h, std::optional<int> owner, std::vector<MapMark>& marks);

// Each block's first 8 bytes of the program's for the HTML map, when the
// rows drawn have few enough blocks for the page to carry them (else none).
std::vector<uint64_t> first_words(CommandContext& ctx, const HeapModel& h, const HeapMap& m) {
  constexpr uint64_t kMaxChunks = 100'000;
  uint64_t chunks = 0;
  for (const auto& mh : m.heaps) chunks += mh.chunks;
  if (chunks > kMaxChunks) return {};
  std::vector<uint64_t> words(h.blocks.size());
  for (size_t i = 0; i < h.blocks.size(); ++i) {
    if (i % 4096 == 0) check_cancel(ctx.cancel);
    words[i] = ctx.session.target().read_u64(h.user_begin(h.blocks[i])).value_or(0);
  }
  return words;
}

void write_page(const std::string& file, const std::string& page) {
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw UserError{fmt::format("cannot write {}: {}", file, std::strerror(errno))};
  bool ok = std::fwrite(page.data(), 1, page.size(), f) == page.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) throw UserError{fmt::format("cannot write {}: {}", file, std::strerror(errno))};
}

uint64_t width_option(CommandContext& ctx) {
  uint64_t width = ctx.args.get_uint("--width").value_or(64);
  if (width < 8 || width > 4096) throw UserError{"--width must be between 8 and 4096"};
  return width;
}

uint64_t max_spans_option(CommandContext& ctx) {
  uint64_t max_spans = ctx.args.get_uint("--max-spans").value_or(kMaxHtmlSpans);
  if (max_spans < 1) throw UserError{"--max-spans must be at least 1"};
  return max_spans;
}

// heap map on a model other than glibc's: a row per system range, grouped
// by owner; the HTML page marks the walk's findings and the leaks (heap
// leaks' classes over every heap of the target).
std::string run_model_map(CommandContext& ctx, const HeapModel& h) {
  if (ctx.args.has("--arena"))
    throw UserError{fmt::format("heap map --arena needs glibc's heap; malloc in this process is {}", h.allocator)};
  uint64_t width = width_option(ctx);
  if (auto file = ctx.args.get("--html")) {
    if (file->empty()) throw UserError{"--html needs a file name"};
    HeapMap m = build_model_map(h, 0, static_cast<size_t>(max_spans_option(ctx)), ctx.cancel);
    std::vector<MapMark> marks;
    for (const Finding& f : h.findings) {
      const Block* b = h.block_containing(f.address);
      marks.push_back({f.address, b ? uint64_t{b->size} : 0, "finding", f.kind + ": " + f.detail});
    }
    add_leak_marks(ctx, h, std::nullopt, marks);
    std::string page = model_map_html(h, m, compute_model_frag(h, ctx.cancel), ctx.session.target().description(),
                                      marks, first_words(ctx, h, m));
    write_page(*file, page);
    uint64_t blocks = 0;
    for (const auto& mh : m.heaps) blocks += mh.chunks;
    if (ctx.args.json())
      return nlohmann::ordered_json{{"html", *file}, {"bytes", page.size()}, {"owners", m.arenas},
                                    {"rows", m.heaps.size()}, {"blocks", blocks}, {"granularity", m.granularity}}
                 .dump() + "\n";
    return fmt::format("wrote the heap map to {} ({} system range{}, {} blocks, {} bytes)\n", *file, m.heaps.size(),
                       m.heaps.size() == 1 ? "" : "s", blocks, page.size());
  }
  HeapMap m = build_model_map(h, static_cast<size_t>(width), 0, ctx.cancel);
  return ctx.args.json() ? model_map_json(h, m) : model_map_text(h, m, Style(ctx.color));
}

std::string run_map(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  if (!dynamic_cast<const glibc::Heap*>(&model)) return run_model_map(ctx, model);
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  auto arena = arena_option(ctx, h);
  uint64_t width = width_option(ctx);
  if (auto file = ctx.args.get("--html")) {
    if (file->empty()) throw UserError{"--html needs a file name"};
    HeapMap m = build_heap_map(h, arena, 0, static_cast<size_t>(max_spans_option(ctx)), ctx.cancel);
    FragReport frag = compute_frag(h, targets::page_size(ctx.session.target()), ctx.cancel);
    std::string page = map_html(h, m, frag, ctx.session.target().description(), heap_problems(ctx),
                                map_marks(ctx, h, arena), first_words(ctx, h, m));
    write_page(*file, page);
    size_t spans = 0;
    for (const auto& mh : m.heaps) spans += mh.spans.size();
    if (ctx.args.json())
      return nlohmann::ordered_json{{"html", *file}, {"bytes", page.size()}, {"arenas", m.arenas},
                                    {"heaps", m.heaps.size()}, {"spans", spans},
                                    {"granularity", m.granularity}}
                 .dump() + "\n";
    return fmt::format("wrote the heap map to {} ({} arena{}, {} heap{}, {} bytes)\n", *file, m.arenas,
                       m.arenas == 1 ? "" : "s", m.heaps.size(), m.heaps.size() == 1 ? "" : "s", page.size());
  }
  HeapMap m = build_heap_map(h, arena, static_cast<size_t>(width), 0, ctx.cancel);
  return ctx.args.json() ? map_json(h, m) : with_findings_footer(ctx, map_text(h, m, Style(ctx.color)));
}

// What the HTML map points at: heap check's problems, then the leaked and
// possibly leaked chunks (heap leaks' classes), in the arena shown.
std::vector<MapMark> map_marks(CommandContext& ctx, const glibc::Heap& h, std::optional<int> arena) {
  std::vector<MapMark> marks;
  for (const auto& f : ctx.session.heap_check(ctx.cancel).findings) {
    if (arena && f.arena != *arena) continue;
    const glibc::Chunk* c = h.chunk_containing(f.address);
    marks.push_back({f.address, c ? uint64_t{c->size} : 0, "finding", f.kind + ": " + f.detail});
  }
  add_leak_marks(ctx, h, arena, marks);
  return marks;
}

// The leaked and possibly leaked blocks (heap leaks' classes), of `owner` only when given.
void add_leak_marks(CommandContext& ctx, const HeapModel& h, std::optional<int> owner, std::vector<MapMark>& marks) {
  const LeakAnalysis leaks = leaks_in_union(ctx, h);
  for (uint32_t i : leaks.listed) {
    const Block& c = h.blocks[i];
    if (owner && c.owner != *owner) continue;
    const std::string_view cls = leak_class_name(leaks.classes[i]);
    marks.push_back({c.address, c.size, std::string(cls), fmt::format("{} leak, {} bytes", cls, uint64_t{c.size})});
  }
}

std::string run_mems_frag(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  MemsFrag f = compute_mems_frag(h);
  return ctx.args.json() ? mems_frag_json(f) : mems_frag_text(f);
}

}  // namespace

void add_frag_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "frag", "Show free space per class, fragmentation and what malloc_trim(0) would release",
               "heap frag [--arena I] [--allocator NAME] [--json]",
               "Free bytes per class (tcache, fast, unsorted, small, large, top), the largest free chunk,\n"
               "external fragmentation = 1 - largest free / total free, and histograms of free and in-use\n"
               "chunk sizes (power-of-two buckets).\n"
               "malloc_trim(0) is modelled on glibc 2.36's mtrim(): fast chunks are consolidated first,\n"
               "then every bin chunk gives back the whole pages past its header (madvise), and the main\n"
               "arena's top is cut down with sbrk. tcache chunks and other arenas' tops are left alone.",
               {kArenaOption, kAllocatorOption}, 0, 0, rendered_whole(run_frag)});
  t.push_back({"heap", "pages", "Show which heap pages are in memory, swapped or absent",
               "heap pages [ADDR | --arena I] [--allocator NAME] [--json]",
               "Live process: from /proc/PID/pagemap, pages present, swapped and absent per heap region,\n"
               "and how much of what malloc_trim(0) would release is still resident. With ADDR: that\n"
               "page's frame number and flags (frame numbers need CAP_SYS_ADMIN).\n"
               "Core file: pages the kernel left out of the dump (sparse holes) were not resident.",
               {kArenaOption, kAllocatorOption}, 0, 1, rendered_whole(run_pages), {{"ADDR", ValueKind::kAddress}},
               {{"ADDR", "--arena"}}});
  t.push_back({"heap", "map", "Draw the heap: a strip per heap, or an HTML map with --html FILE",
               "heap map [--arena I] [--allocator NAME] [--width N] [--html FILE [--max-spans N]] [--json]",
               "Text: one character per span of each heap, in the state covering most of it.\n"
               "--html FILE writes one self-contained HTML page: every arena's heaps to scale, chunks\n"
               "coloured by state, zoom and pan, a tooltip per chunk, and the frag figures beside it.\n"
               "On another allocator (jemalloc, musl, ...): a row per range it got from the system,\n"
               "grouped by owner, blocks in their generic states (in_use, free, cached, top, mapped,\n"
               "metadata, unknown); the HTML page marks the heap walk's findings and the leaks.",
               {kArenaOption, kAllocatorOption, {"--width", "N", "characters per heap strip (text; default 64)", ValueKind::kNumber},
                {"--html", "FILE", "write the HTML map to FILE", ValueKind::kFile},
                {"--max-spans", "N", "HTML: aggregate into cells past N spans (default 200000)", ValueKind::kNumber}},
               0, 0, rendered_whole(run_map)});
  t.push_back({"mems", "frag", "Show the free space of the segment and pool allocators",
               "mems frag [--json]",
               "Segment allocator: holes per node, the largest hole, external fragmentation, the HOLE\n"
               "ending each node (page rounding left over) and PROCESS bytes beyond the request.\n"
               "Pool allocator: free blocks per size class in used pools, empty pools, pools not carved.",
               {}, 0, 0, rendered_whole(run_mems_frag)});
}

}  // namespace heapscope
