// `heap leaks` and `heap refs`: reachability from the program's roots.
#include <fmt/format.h>

#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "heapscope/analysis/leak_groups.h"
#include "commands/site_listing.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/mems_leaks.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/analysis/types.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/mems/model.h"
#include "heapscope/output.h"
#include "render/heap_render.h"
#include "render/leak_render.h"
#include "render/mems_leak_render.h"
#include "render/mems_render.h"

namespace heapscope {

namespace {

constexpr size_t kDumps = 5;       // direct leaks shown with their first bytes
constexpr size_t kDumpBytes = 32;
constexpr size_t kTextGroups = 20;  // default group rows in text

// The problems every heap command reports: heap check's on glibc, the
// model's own walk's findings on another allocator.
size_t model_problems(CommandContext& ctx, const HeapModel& h) {
  return dynamic_cast<const glibc::Heap*>(&h) ? heap_problems(ctx) : h.findings.size();
}

// One heap's listing (filtered, typed, grouped) from its part of the analysis.
LeakListing listing_of(CommandContext& ctx, const HeapModel& h, LeakAnalysis& a) {
  const Target& t = ctx.session.target();
  const bool summary = ctx.args.has("--summary"), list = ctx.args.has("--list");  // not both: the table
  auto type_filter = ctx.args.get("--type");
  uint64_t min_size = ctx.args.get_uint("--min-size").value_or(0);
  LeakListing l;
  l.mode = summary ? LeakListing::Mode::kSummary : list ? LeakListing::Mode::kList : LeakListing::Mode::kDefault;
  l.limit = ctx.args.get_uint("--limit").value_or(ctx.args.json() || list ? SIZE_MAX : kTextGroups);
  if (summary) return l;
  TypeNamer namer(t, ctx.session.symbols(), h);
  l.types.reserve(a.listed.size());
  if (!type_filter && !min_size) {
    // Everything listed: no copy of the list (it can hold a million chunks).
    l.chunks = std::move(a.listed);
    namer.type_ids(h.blocks, l.chunks, l.types, &a.maybe_typed);
  } else {
    for (uint32_t i : a.listed) {
      const auto& c = h.blocks[i];
      if (c.size < min_size) continue;
      uint32_t type = namer.type_id(c);
      if (type_filter && (!type || namer.names()[type - 1] != *type_filter)) continue;
      l.chunks.push_back(i);
      l.types.push_back(type);
    }
    l.filtered = l.chunks.size() != a.listed.size();
  }
  l.type_names = namer.names();
  if (!list || ctx.args.json()) l.groups = group_leaks(h, a, l.chunks, l.types, l.type_names);
  if (!ctx.args.json() && !list) {
    for (size_t k = 0; k < l.chunks.size() && l.dumps.size() < kDumps; ++k) {
      const auto& c = h.blocks[l.chunks[k]];
      if (a.classes[l.chunks[k]] != LeakClass::kDirect) continue;
      LeakListing::Dump d{l.chunks[k], l.types[k], {}};
      d.bytes.resize(std::min<uint64_t>(kDumpBytes, c.end() - h.user_begin(c)));
      d.bytes.resize(t.read(h.user_begin(c), std::as_writable_bytes(std::span(d.bytes))));
      l.dumps.push_back(std::move(d));
    }
  }
  return l;
}

// Every heap of the target, for the union's scan; the error of the heap
// commands when there is none.
std::vector<const HeapModel*> every_model(CommandContext& ctx) {
  auto models = ctx.session.heap_models(ctx.cancel);
  if (models.empty()) ctx.session.heap_model(ctx.cancel);  // throws the one-line reason
  return models;
}

void run_leaks(CommandContext& ctx) {
  if (ctx.args.has("--by-site")) {
    // Leaked chunks (direct and indirect) grouped by the stack that allocated them.
    auto tables = required_sites(ctx);
    auto groups = group_sites(ctx, tables, true, sites::SiteOrder::kBytes);
    write_site_listing(ctx, tables, groups, false, true, kTextGroups);
    return;
  }
  const HeapModel* shown = named_model_option(ctx);
  UnionLeakAnalysis u = analyze_union_leaks(ctx.session.target(), every_model(ctx), ctx.cancel);
  bool any_glibc = false;
  std::vector<size_t> parts;  // the heaps shown, in the union's order
  for (size_t m = 0; m < u.models.size(); ++m) {
    if (shown && u.models[m] != shown) continue;
    parts.push_back(m);
    any_glibc = any_glibc || dynamic_cast<const glibc::Heap*>(u.models[m]);
  }
  // One heap: its own report, as it always was. Several: a section per
  // heap, each headed by its allocator (JSON: one object per allocator).
  const bool sections = parts.size() > 1;
  if (ctx.args.json() && sections) ctx.out.write("{\"allocators\":[");
  for (size_t k = 0; k < parts.size(); ++k) {
    const HeapModel& h = *u.models[parts[k]];
    LeakAnalysis& a = u.per_model[parts[k]];
    LeakListing l = listing_of(ctx, h, a);
    if (ctx.args.json()) {
      if (!sections) {
        leaks_json(ctx.out, h, a, l, model_problems(ctx, h));
        continue;
      }
      StringSink sink;
      OutputWriter w(sink);
      leaks_json(w, h, a, l, model_problems(ctx, h));
      w.flush();
      std::string text = sink.take();  // {...}\n: named by its allocator
      while (!text.empty() && text.back() == '\n') text.pop_back();
      ctx.out.print("{}{{\"allocator\":{},{}", k ? "," : "", nlohmann::json(h.allocator).dump(), text.substr(1));
    } else {
      if (sections) ctx.out.print("{}{} heap\n", k ? "\n" : "", h.allocator);
      leaks_text(ctx.out, h, a, l, Style(ctx.color));
    }
  }
  if (ctx.args.json() && sections) ctx.out.write("]}\n");
  if (!ctx.args.json() && any_glibc) write_findings_footer(ctx);
}

void run_refs(CommandContext& ctx) {
  Address asked = parse_address(ctx.args.positional.at(0));
  const bool path = ctx.args.has("--path");
  const Target& t = ctx.session.target();
  auto models = every_model(ctx);
  // One heap (the mems heap excepted: its virtual addresses are the union's):
  // its own search, as it always was. Several: holders in every heap.
  if (models.size() == 1 && models[0]->allocator != "mems") {
    const HeapModel& h = model_option(ctx);
    RefsReport r = find_refs(t, h, ctx.session.symbols(), asked, path, ctx.cancel);
    if (ctx.args.json()) {
      refs_json(ctx.out, h, r);
    } else {
      refs_text(ctx.out, h, r, Style(ctx.color));
      if (dynamic_cast<const glibc::Heap*>(&h)) write_findings_footer(ctx);
    }
    return;
  }
  const HeapModel* lookup = named_model_option(ctx);
  RefsReport r = find_union_refs(t, models, lookup, ctx.session.symbols(), asked, path, ctx.cancel);
  const HeapModel& h = *r.heaps[r.heap];
  if (ctx.args.json()) {
    refs_json(ctx.out, h, r);
  } else {
    refs_text(ctx.out, h, r, Style(ctx.color));
    bool any_glibc = false;
    for (const HeapModel* m : models) any_glibc = any_glibc || dynamic_cast<const glibc::Heap*>(m);
    if (any_glibc) write_findings_footer(ctx);
  }
}

// A view of heap leaks' union: the mems model's segments and blocks.
void run_mems_leaks(CommandContext& ctx) {
  ctx.session.mems_heap();  // no mems heap: its one-line reason
  UnionLeakAnalysis u = analyze_union_leaks(ctx.session.target(), every_model(ctx), ctx.cancel);
  const mems::Model* model = nullptr;
  const LeakAnalysis* leaks = nullptr;
  bool glibc = false;
  for (size_t m = 0; m < u.models.size(); ++m) {
    glibc = glibc || dynamic_cast<const glibc::Heap*>(u.models[m]);
    if (auto* mm = dynamic_cast<const mems::Model*>(u.models[m])) model = mm, leaks = &u.per_model[m];
  }
  if (!model) throw UserError{"the mems heap could not be laid out as a heap model (see 'heap allocator')"};
  const mems::SegmentHeap& h = model->walk;
  MemsLeakAnalysis a = mems_leaks_of(*model, *leaks, glibc);
  MemsLeakListing l;
  l.summary = ctx.args.has("--summary");
  if (!l.summary) {
    const SymbolResolver& symbols = ctx.session.symbols();
    for (size_t k = 0; k < a.objects.size(); ++k) {
      const MemsObject& o = a.objects[k];
      if (o.kind != MemsObject::Kind::kSegment) continue;
      if (a.classes[k] == LeakClass::kReachable || a.classes[k] == LeakClass::kNotNode) continue;
      Address site = h.nodes[o.node].segments[o.segment].site;
      if (site.is_null() || l.sites.count(site.value)) continue;
      check_cancel(ctx.cancel);
      if (auto sym = symbols.at(site)) l.sites.emplace(site.value, std::move(*sym));
    }
  }
  if (ctx.args.json()) {
    mems_leaks_json(ctx.out, h, a, l);
  } else {
    mems_leaks_text(ctx.out, h, a, l);
    ctx.out.write(mems_footer(h));
  }
}

}  // namespace

LeakAnalysis leaks_in_union(CommandContext& ctx, const HeapModel& h) {
  UnionLeakAnalysis u = analyze_union_leaks(ctx.session.target(), every_model(ctx), ctx.cancel);
  for (size_t m = 0; m < u.models.size(); ++m)
    if (u.models[m] == &h) return std::move(u.per_model[m]);
  return analyze_leaks(ctx.session.target(), h, ctx.cancel);  // not one of the session's heaps
}

void add_leak_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "leaks", "Find in-use chunks that no root reaches (leaks), with their types",
               "heap leaks [--summary|--list|--by-site] [--type NAME] [--min-size N] [--limit N] [--allocator NAME]\n"
               "           [--json]",
               "Roots: every thread's registers and stack (from sp minus the red zone), the writable\n"
               "memory of every module, thread-local storage, and anonymous writable memory that is\n"
               "not heap. Only in-use chunks are scanned: stale pointers in freed chunks keep nothing\n"
               "alive. Classes, as valgrind's memcheck names them:\n"
               "  direct    no pointer to it from anywhere (in a leaked cycle, its lowest chunk)\n"
               "  indirect  pointed to only by leaked chunks\n"
               "  possible  reached only through a pointer into its middle (interior pointer)\n"
               "Types come from the vtable a chunk's first word points to (C++ classes).\n"
               "Sizes are chunk sizes, headers included. --by-site groups the leaked chunks by\n"
               "the stack that allocated them (needs libheapscope-record, as heap sites does).\n"
               "Every heap of the process is scanned at once (glibc's, the mems allocators', jemalloc's,\n"
               "...): a pointer into any of them counts, a MeMS virtual address counts for its segment,\n"
               "and no allocator's memory is a root. Several heaps: a section per heap (JSON:\n"
               "\"allocators\"); --allocator NAME shows that heap's part of the same scan.",
               {{"--summary", "", "print only the totals per class"},
                {"--by-site", "", "group leaked chunks by allocation stack (libheapscope-record)"},
                {"--list", "", "list every leaked and possible chunk instead of groups"},
                {"--type", "NAME", "only chunks of this C++ class"},
                {"--min-size", "N", "only chunks of at least N bytes", ValueKind::kNumber},
                {"--limit", "N", "print at most N groups (text: 20) or chunks (--list, JSON: all)", ValueKind::kNumber},
                kAllocatorOption},
               0, 0, run_leaks, {}, {{"--summary", "--list", "--by-site"}}});
  t.push_back({"heap", "refs", "Show every pointer into the chunk that contains an address",
               "heap refs ADDR [--path] [--allocator NAME] [--json]",
               "Holders: other in-use chunks (address and offset), thread registers and stack slots,\n"
               "module globals (symbol and offset) and other anonymous memory. With --path, the\n"
               "shortest chain of pointers from a root to the chunk: why it is still alive.\n"
               "Several heaps (glibc's, the mems allocators', jemalloc's, ...): their union, as heap\n"
               "leaks scans it. ADDR may be in any heap's block, or a MeMS virtual address (it names\n"
               "its segment); holders are searched in every heap (a MeMS virtual address of the\n"
               "segment counts) and each block is named with its allocator; no allocator's memory\n"
               "is a root. --allocator NAME looks ADDR up in that heap only.",
               {{"--path", "", "also print the shortest chain from a root"}, kAllocatorOption}, 1, 1, run_refs,
               {{"ADDR", ValueKind::kAddress}}});
  t.push_back({"mems", "leaks", "Find PROCESS segments and pool blocks that no root reaches",
               "mems leaks [--summary] [--json]",
               "Roots as for heap leaks (registers, stacks, module data, TLS, anonymous writable\n"
               "memory), without the mems allocators' own memory: node mappings, metadata pages,\n"
               "the pool map, thread caches, mems_root. A word holding a segment's MeMS virtual address or its\n"
               "physical address points into it; pool blocks are reached by physical addresses.\n"
               "In-use malloc'ed chunks are followed too: a reachable struct keeps what it points\n"
               "to alive (it is heap leaks' scan of every heap, the mems part shown). Classes as in\n"
               "heap leaks (direct, indirect, possible). Segments are shown with their sequence number\n"
               "and allocation site.",
               {{"--summary", "", "print only the totals per class"}}, 0, 0, run_mems_leaks});
}

}  // namespace heapscope
