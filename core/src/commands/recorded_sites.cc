#include "commands/recorded_sites.h"

#include <unordered_map>

#include "commands/registry.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/mems_leaks.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/mems/model.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/model_sites.h"

namespace heapscope {
namespace {

bool leaked_class(LeakClass c) { return c == LeakClass::kDirect || c == LeakClass::kIndirect; }

// The recorder's records name user pointers of the model's live blocks;
// leaks are heap leaks' over the model.
CountedSize model_sizes(CommandContext& ctx, bool leaked) {
  const HeapModel& m = model_option(ctx);
  std::shared_ptr<LeakAnalysis> leaks;
  if (leaked) leaks = std::make_shared<LeakAnalysis>(analyze_leaks(ctx.session.target(), m, ctx.cancel));
  return [&m, leaks](Address a) -> std::optional<uint64_t> {
    const Block* b = m.block_with_user_begin(a);
    if (!b || !is_live(m.state(*b))) return std::nullopt;
    if (leaks && !leaked_class(leaks->classes[static_cast<size_t>(b - m.blocks.data())])) return std::nullopt;
    return uint64_t{b->size};
  };
}

// MeMS segments are reached through their MeMS virtual addresses too, which
// heap leaks does not follow: leaks are mems leaks'.
CountedSize mems_sizes(CommandContext& ctx, const mems::Model& m, bool leaked) {
  if (!leaked) return model_sizes(ctx, false);
  const glibc::Heap* glibc = nullptr;
  try {
    glibc = &ctx.session.glibc_heap(ctx.cancel);
  } catch (const UserError&) {
    // No glibc heap: its memory, if any, is scanned as roots (as mems leaks does).
  }
  MemsLeakAnalysis a = analyze_mems_leaks(ctx.session.target(), m.walk, glibc, ctx.cancel);
  auto sizes = std::make_shared<std::unordered_map<uint64_t, uint64_t>>();  // leaked segment -> size
  for (size_t k = 0; k < a.objects.size(); ++k)
    if (a.objects[k].kind == MemsObject::Kind::kSegment && leaked_class(a.classes[k]))
      sizes->emplace(a.objects[k].begin.value, a.objects[k].size);
  return [sizes](Address at) -> std::optional<uint64_t> {
    auto it = sizes->find(at.value);
    if (it == sizes->end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

std::optional<SiteSource> recorded_sites(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  auto tables = sites::model_site_tables(model, ctx.session.target(), ctx.session.symbols(), ctx.cancel);
  if (!tables) return std::nullopt;
  if (const auto* m = dynamic_cast<const mems::Model*>(&model))
    return SiteSource{std::move(*tables), [m](CommandContext& c, bool leaked) { return mems_sizes(c, *m, leaked); }};
  return SiteSource{std::move(*tables), model_sizes};
}

SiteSource required_sites(CommandContext& ctx) {
  auto source = recorded_sites(ctx);
  if (!source)
    throw UserError{"no allocation sites recorded in this process: run it with "
                    "LD_PRELOAD=libheapscope-record.so (see \"Allocation sites\" in the README)"};
  return std::move(*source);
}

std::vector<NamedFrame> named_frames(const sites::RecordTables& tables, uint32_t stack,
                                     sites::FrameSymbols& symbols) {
  std::vector<NamedFrame> out;
  if (stack == sites::kNoStack || stack >= tables.stacks.size()) return out;
  for (Address ra : tables.stacks[stack]) out.push_back({ra, symbols.at(ra)});
  return out;
}

std::optional<ChunkAllocation> chunk_allocation(CommandContext& ctx, Address user, bool live) {
  auto source = recorded_sites(ctx);
  if (!source) return std::nullopt;
  const sites::RecordTables& tables = source->tables;
  ChunkAllocation a;
  a.unrecorded = tables.unrecorded;
  const sites::SiteRecord* r = sites::record_at(tables, user);
  if (!r && !live) return std::nullopt;
  if (r) {
    a.record = *r;
    sites::FrameSymbols symbols(ctx.session.symbols());
    a.frames = named_frames(tables, r->stack, symbols);
  }
  return a;
}

}  // namespace heapscope
