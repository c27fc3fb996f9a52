#include "commands/recorded_sites.h"

#include "commands/registry.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/model_sites.h"

namespace heapscope {
namespace {

bool leaked_class(LeakClass c) { return c == LeakClass::kDirect || c == LeakClass::kIndirect; }

// The records name user pointers of the model's live blocks (a MeMS
// segment's physical address); leaks are heap leaks' verdicts over every
// heap at once, which follow MeMS virtual addresses too.
CountedSize model_sizes(CommandContext& ctx, bool leaked) {
  const HeapModel& m = model_option(ctx);
  std::shared_ptr<LeakAnalysis> leaks;
  if (leaked) leaks = std::make_shared<LeakAnalysis>(leaks_in_union(ctx, m));
  return [&m, leaks](Address a) -> std::optional<uint64_t> {
    const Block* b = m.block_with_user_begin(a);
    if (!b || !is_live(m.state(*b))) return std::nullopt;
    if (leaks && !leaked_class(leaks->classes[static_cast<size_t>(b - m.blocks.data())])) return std::nullopt;
    return uint64_t{b->size};
  };
}

}  // namespace

std::optional<SiteSource> recorded_sites(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  auto tables = sites::model_site_tables(model, ctx.session.target(), ctx.session.symbols(), ctx.cancel);
  if (!tables) return std::nullopt;
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
