// The `mems ...` commands: the project's own segment and pool allocators.
#include <fmt/format.h>

#include "commands/registry.h"
#include "heapscope/mems/heap.h"
#include "heapscope/mems/stats.h"
#include "render/frag_render.h"
#include "render/mems_render.h"

namespace heapscope {

namespace {

std::string with_footer(const CommandContext& ctx, const mems::SegmentHeap& h, std::string out) {
  if (!ctx.args.json()) out += mems_footer(h);
  return out;
}

// Names every allocation site of the given nodes once.
SiteNames name_sites(CommandContext& ctx, const mems::SegmentHeap& h, const std::vector<size_t>& nodes) {
  SiteNames names;
  const SymbolResolver& symbols = ctx.session.symbols();
  std::unordered_map<uint64_t, bool> tried;
  for (size_t i : nodes)
    for (const auto& s : h.nodes[i].segments) {
      if (s.type != mems::SegmentType::kProcess || s.site.is_null()) continue;
      if (!tried.emplace(s.site.value, true).second) continue;
      check_cancel(ctx.cancel);
      if (auto sym = symbols.at(s.site)) names[s.site.value] = format_symbol(*sym);
    }
  return names;
}

std::vector<size_t> all_nodes(const mems::SegmentHeap& h) {
  std::vector<size_t> v(h.nodes.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

std::string run_stats(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  auto s = mems::segment_stats(h);
  auto p = mems::pool_stats(h);
  return ctx.args.json() ? mems_stats_json(s, p) : with_footer(ctx, h, mems_stats_text(h, s, p));
}

void run_chain(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  std::vector<size_t> nodes;
  if (auto i = ctx.args.get_uint("--node")) {
    if (*i >= h.nodes.size())
      throw UserError{h.nodes.empty() ? fmt::format("no node {} (the main chain is empty)", *i)
                                      : fmt::format("no node {} (the main chain has {} node{}: 0..{})", *i,
                                                    h.nodes.size(), h.nodes.size() == 1 ? "" : "s",
                                                    h.nodes.size() - 1)};
    nodes.push_back(static_cast<size_t>(*i));
  } else {
    nodes = all_nodes(h);
  }
  SiteNames sites = name_sites(ctx, h, nodes);
  if (ctx.args.json()) {
    mems_chain_json(ctx.out, h, nodes, sites);
  } else {
    mems_chain_text(ctx.out, h, nodes, sites);
    ctx.out.write(mems_footer(h));
  }
}

std::string run_get(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  uint64_t v = parse_address(ctx.args.positional.at(0)).value;
  mems::Translation t = mems::translate(h, v);
  const Target& target = ctx.session.target();
  if (ctx.args.json()) return with_os_page_json(mems_get_json(t), os_page(target, t.physical));
  SiteNames sites = name_sites(ctx, h, {t.node});
  return with_footer(ctx, h, mems_get_text(t, sites) + os_page_text(os_page(target, t.physical), t.physical));
}

void run_map(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  if (ctx.args.json()) {
    mems_map_json(ctx.out, h);
  } else {
    mems_map_text(ctx.out, h);
    ctx.out.write(mems_footer(h));
  }
}

std::string run_pools(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  auto p = mems::pool_stats(h);
  return ctx.args.json() ? mems_pools_json(h, p) : with_footer(ctx, h, mems_pools_text(h, p));
}

std::string run_check(CommandContext& ctx) {
  const auto& h = ctx.session.mems_heap();
  ctx.found_problems = !h.findings.empty();
  return ctx.args.json() ? mems_check_json(h) : mems_check_text(h);
}

}  // namespace

void add_mems_commands(std::vector<CommandSpec>& t) {
  t.push_back({"mems", "stats", "Show the figures of mems_get_stats and mems_pool_get_stats",
               "mems stats [--json]",
               "Computed from the structures (nodes, segments, arenas, pools), not copied from the\n"
               "root's counters; a counter that disagrees is reported as an anomaly.",
               {}, 0, 0, rendered_whole(run_stats)});
  t.push_back({"mems", "chain", "Show the main chain: every node with its sub-chain of segments",
               "mems chain [--node I] [--json]",
               "Segments are HOLE (free) or PROCESS (allocated, with size, sequence number and the\n"
               "allocating call site).",
               {{"--node", "I", "only node I (0 is the first node of the main chain)", ValueKind::kNumber}}, 0, 0, run_chain});
  t.push_back({"mems", "get", "Translate a MeMS virtual address to its physical address",
               "mems get VADDR [--json]",
               "VADDR is a MeMS virtual address (as mems_malloc returned it, from 1000 = 0x3e8), anywhere\n"
               "inside a PROCESS segment.",
               {}, 1, 1, rendered_whole(run_get), {{"VADDR", ValueKind::kAddress}}});
  t.push_back({"mems", "map", "Show the whole virtual-to-physical table, one row per node and segment",
               "mems map [--json]", "", {}, 0, 0, run_map});
  t.push_back({"mems", "pools", "Show the pool allocator: arenas, pools and blocks per size class",
               "mems pools [--json]",
               "Pools are counted when they hold at least one used block (USED or FULL), as\n"
               "mems_pool_get_stats counts them.",
               {}, 0, 0, rendered_whole(run_pools)});
  t.push_back({"mems", "check", "Check every invariant of the segment and pool allocators",
               "mems check [--json]",
               "Links both ways, segments tiling their node, no adjacent HOLEs, pool free lists and\n"
               "bitmaps, class and arena lists, the pool map, metadata slots, and every root counter\n"
               "against the structures. Problems are listed; none means the heap is consistent.",
               {}, 0, 0, rendered_whole(run_check)});
}

}  // namespace heapscope
