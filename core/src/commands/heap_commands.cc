// The `heap ...` commands: glibc's ptmalloc2 heap.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "analysis/scan_threads.h"
#include "commands/mimalloc_bins.h"
#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "glibc/safe_linking.h"
#include "heapscope/analysis/check.h"
#include "heapscope/analysis/stats.h"
#include "heapscope/analysis/types.h"
#include "glibc/empty_lists.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/musl/heap.h"
#include "render/block_render.h"
#include "render/format.h"
#include "render/heap_render.h"
#include "render/leak_render.h"
#include "render/model_render.h"
#include "render/musl_render.h"
#include "util/batches_ahead.h"

namespace heapscope {

using glibc::ChunkState;

namespace {

void run_stats(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  const auto* glibc = dynamic_cast<const glibc::Heap*>(&model);
  if (!glibc) {
    // Another allocator: the generic report; its own walk's findings are the problems.
    if (ctx.args.has("--by-type")) {
      auto rows = stats_by_type(ctx.session.target(), ctx.session.symbols(), model, ctx.cancel);
      if (ctx.args.json()) type_stats_json(ctx.out, rows);
      else type_stats_text(ctx.out, rows);
      return;
    }
    ModelStats s = compute_model_stats(model);
    ctx.out.write(ctx.args.json() ? model_stats_json(s) : model_stats_text(s));
    return;
  }
  const glibc::Heap& h = *glibc;
  if (ctx.args.has("--by-type")) {
    // One row per class: written as it is rendered.
    auto rows = stats_by_type(ctx.session.target(), ctx.session.symbols(), h, ctx.cancel);
    if (ctx.args.json()) {
      type_stats_json(ctx.out, rows);
    } else {
      type_stats_text(ctx.out, rows);
      write_findings_footer(ctx);
    }
    return;
  }
  HeapStats s = compute_stats(h);
  if (auto arena = arena_option(ctx, h)) {
    // One arena: its figures are the totals; mmapped chunks belong to none.
    ArenaStats one = s.arenas.at(static_cast<size_t>(*arena));
    s.arenas = {one};
    s.total = one.states;
    s.system_bytes = one.system_bytes;
    s.mmapped = {};
  }
  s.findings = heap_problems(ctx);
  ctx.out.write(ctx.args.json() ? stats_json(s) : with_findings_footer(ctx, stats_text(s, Style(ctx.color))));
}

std::string run_arenas(CommandContext& ctx) {
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  return ctx.args.json() ? arenas_json(h) : with_findings_footer(ctx, arenas_text(h));
}

// --state S: one of the allocator's own kinds (glibc's states are its
// kinds), else a state every allocator has ("free", "cached"); as a mask of
// the kinds it names, so the listing tests one bit per block.
uint32_t kinds_in_state(const HeapModel& m, const std::string& name) {
  for (size_t k = 0; k < m.kinds.size(); ++k)
    if (m.kinds[k].name == name) return 1u << k;
  uint32_t mask = 0;
  for (size_t k = 0; k < m.kinds.size(); ++k)
    if (block_state_name(m.kinds[k].state) == name) mask |= 1u << k;
  if (!mask) throw UserError{fmt::format("{} has no chunks in state '{}'", m.allocator, name)};
  return mask;
}

void run_chunks(CommandContext& ctx) {
  const HeapModel& m = model_option(ctx);
  const auto* h = dynamic_cast<const glibc::Heap*>(&m);
  std::optional<int> arena = h ? arena_option(ctx, *h) : std::nullopt;
  if (!h && ctx.args.get("--arena")) throw UserError{fmt::format("--arena is not available for {} yet", m.allocator)};
  uint32_t state = UINT32_MAX;  // every kind
  if (auto s = ctx.args.get("--state")) state = kinds_in_state(m, *s);
  uint64_t min_size = ctx.args.get_uint("--min-size").value_or(0);
  uint64_t max_size = ctx.args.get_uint("--max-size").value_or(UINT64_MAX);
  uint64_t limit = ctx.args.get_uint("--limit").value_or(UINT64_MAX);
  auto type = ctx.args.get("--type");
  std::optional<TypeNamer> namer;
  if (type) namer.emplace(ctx.session.target(), ctx.session.symbols(), m);
  auto wanted = [&](const Block& c) {
    return (!arena || c.owner == *arena) && ((state >> c.kind) & 1) && c.size >= min_size && c.size <= max_size;
  };
  // Each row is written as it is found: the listing never sits whole in memory.
  ChunkListWriter list(ctx.out, m, ctx.args.json(), Style(ctx.color));
  size_t matching = 0;
  const std::span<const Block> blocks = m.blocks;
  // A long JSON listing is formatted on two threads, batch by batch, and
  // written in order. Not with --limit or --type: a batch would need to
  // know how many rows come before it, or would read types on two threads.
  // A batch's text (150 KiB of rows) stays in the helper's cache until written.
  constexpr size_t kBatch = 2048;
  if (ctx.args.json() && !type && limit == UINT64_MAX && blocks.size() >= 4 * kBatch && chunk_json_rows_fit(m) &&
      analysis::helper_thread_allowed(ctx.session.target())) {
    struct Rows {
      fmt::memory_buffer text;
      size_t count = 0;
    };
    const size_t batches = (blocks.size() + kBatch - 1) / kBatch;
    // Batch k's rows, each after a comma: the same on either thread.
    auto make = [&](size_t k, Rows& rows) {
      // Room for the longest rows, never filled: a memory_buffer grows without.
      rows.text.resize(kBatch * kMaxChunkJsonRow);
      char* p = rows.text.data();
      rows.count = 0;
      for (const Block& c : blocks.subspan(k * kBatch, std::min(kBatch, blocks.size() - k * kBatch)))
        if (wanted(c)) p = put_chunk_json_row(p, m, c, true), ++rows.count;
      rows.text.resize(static_cast<size_t>(p - rows.text.data()));
    };
    util::BatchesAhead<Rows> ahead(batches, make);
    Rows mine;
    for (size_t k = 0; k < batches; ++k) {
      check_cancel(ctx.cancel);
      if (k % 2 == 0) make(k, mine);
      Rows& rows = k % 2 == 0 ? mine : ahead.take(k);
      list.add_json_rows(std::string_view(rows.text.data(), rows.text.size()), rows.count);
      matching += rows.count;
      if (k % 2) ahead.release(k);
    }
  } else {
    for (const auto& c : blocks) {
      if (!wanted(c)) continue;
      if (type && namer->type_of(c).value_or("") != *type) continue;
      if (matching++ < limit) list.add(c);
    }
  }
  if (!h) {
    // Another allocator: its own walk's findings are the problems.
    if (ctx.args.json()) list.finish_json(matching, m.findings.size());
    else list.finish_text(matching);
    return;
  }
  if (ctx.args.json()) {
    list.finish_json(matching, heap_problems(ctx));
  } else {
    list.finish_text(matching);
    write_findings_footer(ctx);
  }
}

std::string run_chunk(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  Address asked = parse_address(ctx.args.positional.at(0));
  const auto* glibc = dynamic_cast<const glibc::Heap*>(&model);
  if (!glibc) return describe_block(ctx, model, asked);
  const glibc::Heap& h = *glibc;
  const glibc::Chunk* c = h.chunk_containing(asked);
  if (!c) throw UserError{fmt::format("{} is not inside any heap chunk", to_hex(asked))};
  const Target& t = ctx.session.target();
  uint64_t prev_size = t.read_u64(c->address).value_or(0);
  uint64_t size_field = t.read_u64(c->address + 8).value_or(0);
  std::vector<ListPlace> places;
  for (const auto& l : h.lists)
    for (size_t i = 0; i < l.chunks.size(); ++i)
      if (l.chunks[i] == c->address) places.push_back({&l, i});
  std::optional<uint64_t> fd, bk;
  bool free_state = c->kind == ChunkState::kTcache || c->kind == ChunkState::kFast ||
                    c->kind == ChunkState::kUnsorted || c->kind == ChunkState::kSmall ||
                    c->kind == ChunkState::kLarge || c->kind == ChunkState::kFreeUnlisted;
  if (free_state) {
    fd = t.read_u64(glibc::chunk_data(*c));
    if (c->kind == ChunkState::kTcache || c->kind == ChunkState::kFast) {
      if (fd && h.safe_linking) *fd = glibc::reveal_link(glibc::chunk_data(*c), *fd);
      if (c->kind == ChunkState::kTcache) bk.reset();
    } else {
      bk = t.read_u64(glibc::chunk_data(*c) + 8);
    }
  }
  std::vector<const CheckFinding*> here;
  for (const auto& f : ctx.session.heap_check(ctx.cancel).findings)
    if (f.address >= c->address && f.address < c->end()) here.push_back(&f);
  auto dump = dump_option(ctx, glibc::chunk_data(*c), c->end());
  auto allocation = chunk_allocation(ctx, glibc::chunk_data(*c), h.is_live(*c));
  if (ctx.args.json()) {
    std::string doc = chunk_json(here, *c, asked, places, prev_size, size_field, fd, bk);
    if (!dump && !allocation) return doc;
    auto j = nlohmann::ordered_json::parse(doc);
    if (allocation) j["allocation"] = chunk_allocation_json(*allocation);
    if (dump) j["dump"] = dump_hex(*dump);
    return j.dump() + "\n";
  }
  std::string text = chunk_text(here, *c, asked, places, prev_size, size_field, fd, bk, Style(ctx.color));
  if (allocation) text += chunk_allocation_text(*allocation);
  if (dump) text += dump_text(glibc::chunk_data(*c), *dump);
  return with_findings_footer(ctx, std::move(text), {c->address, c->end()});
}

void run_bins(CommandContext& ctx) {
  if (run_tcmalloc_bins(ctx)) return;
  if (run_mimalloc_bins(ctx)) return;  // mimalloc's page lists
  // mallocng has no free lists: its groups per size class, with their slot masks.
  if (const auto* m = dynamic_cast<const musl::Heap*>(&ctx.session.heap_model(ctx.cancel))) {
    if (!ctx.args.positional.empty())
      throw UserError{fmt::format("musl's malloc has no {} bins: heap bins lists its groups per size class",
                                  ctx.args.positional[0])};
    size_t per_class = ctx.args.get_uint("--limit").value_or(20);
    ctx.out.write(ctx.args.json() ? musl_groups_json(*m) : musl_groups_text(*m, per_class));
    return;
  }
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  auto arena = arena_option(ctx, h);
  std::optional<glibc::ListKind> kind;
  if (!ctx.args.positional.empty()) {
    const std::string& k = ctx.args.positional[0];
    for (auto lk : {glibc::ListKind::kTcache, glibc::ListKind::kFast, glibc::ListKind::kUnsorted,
                    glibc::ListKind::kSmall, glibc::ListKind::kLarge})
      if (glibc::list_kind_name(lk) == k) kind = lk;  // the table checked the name
  }
  std::vector<const glibc::FreeList*> lists;
  auto wanted = [&](const glibc::FreeList& l) { return (!kind || l.kind == *kind) && (!arena || l.arena == *arena); };
  for (const auto& l : h.lists)
    if (wanted(l)) lists.push_back(&l);
  // --all: the empty lists too, each in its place.
  std::vector<glibc::FreeList> empty;
  if (ctx.args.has("--all")) {
    empty = glibc::empty_free_lists(h);
    for (const auto& l : empty)
      if (wanted(l)) lists.push_back(&l);
    glibc::sort_free_lists(lists);
  }
  // Text shows the head of each list; JSON, made for programs, all of it.
  size_t per_list = ctx.args.get_uint("--limit").value_or(ctx.args.json() ? SIZE_MAX : 20);
  if (ctx.args.json()) {
    bins_json(ctx.out, lists, per_list, heap_problems(ctx));
  } else {
    bins_text(ctx.out, h, lists, per_list, Style(ctx.color));
    write_findings_footer(ctx);
  }
}

}  // namespace

void add_heap_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "stats", "Show chunks and bytes per state, per arena and in total",
               "heap stats [--arena I] [--by-type] [--allocator NAME] [--json]",
               "Every byte an arena got from the system is counted in exactly one class:\n"
               "in_use + metadata + tcache + fast + unsorted + small + large + top = system bytes.\n"
               "Bytes are chunk sizes, headers included.",
               {kArenaOption, {"--by-type", "", "in-use chunks per C++ class (from vtables) instead"}, kAllocatorOption},
               0, 0, run_stats,
               {}, {{"--arena", "--by-type"}}});
  t.push_back({"heap", "arenas", "List the arenas with their heaps, threads and tcaches",
               "heap arenas [--json]", "", {}, 0, 0, rendered_whole(run_arenas)});
  t.push_back({"heap", "chunks", "List heap chunks in address order",
               "heap chunks [--arena I] [--state S] [--type NAME] [--min-size N] [--max-size N] [--limit N]\n"
               "            [--allocator NAME] [--json]",
               "",
               {kArenaOption, kAllocatorOption,
                {"--state", "S", "only chunks in state S", ValueKind::kChoice,
                 {"in_use", "tcache", "fast", "unsorted", "small", "large", "top", "mmapped", "metadata", "free", "cached"}},
                {"--type", "NAME", "only in-use chunks of this C++ class (from vtables)"},
                {"--min-size", "N", "only chunks of at least N bytes", ValueKind::kNumber},
                {"--max-size", "N", "only chunks of at most N bytes", ValueKind::kNumber},
                {"--limit", "N", "print at most N chunks", ValueKind::kNumber}},
               0, 0, run_chunks});
  t.push_back({"heap", "chunk", "Describe the chunk that contains an address",
               "heap chunk ADDR [--dump [N]] [--allocator NAME] [--json]",
               "ADDR may be the chunk header, its user pointer, or any byte inside it; in gdb and lldb\n"
               "any expression (a variable, $rax, ptr->next, 0x...+8). On another allocator (jemalloc,\n"
               "musl): the block in its words (kind, owner), its data range, its C++ class and the\n"
               "problems the heap walk met in it.",
               {{"--dump", "N", "also show the first N bytes of its data in hex and ASCII (default: all, up to 256)",
                 ValueKind::kNumber, {}, true}, kAllocatorOption},
               1, 1,
               rendered_whole(run_chunk), {{"ADDR", ValueKind::kAddress}}});
  t.push_back({"heap", "bins", "Show the free lists (tcache, fastbins, unsorted, small, large bins)",
               "heap bins [tcache|fast|unsorted|small|large] [--all] [--arena I] [--limit N] [--json]",
               "Every non-empty list with its chunks in list order; anomalies (cycles, stray pointers,\n"
               "wrong sizes, broken back links) are shown in place. --all shows the empty lists too.\n"
               "On a mimalloc process: each heap's pages with the lengths of their free, local free,\n"
               "thread free and delayed free lists (--arena I: owner I).",
               {kArenaOption, {"--limit", "N", "print at most N chunks of each list (text: 20)", ValueKind::kNumber},
                {"--all", "", "also the empty lists: every tcache bin, fastbin, small and large bin, count 0"}},
               0, 1, run_bins, {{"KIND", ValueKind::kChoice, {"tcache", "fast", "unsorted", "small", "large"}}}});
}

}  // namespace heapscope
