#include "commands/recorded_sites.h"

namespace heapscope {

std::optional<sites::RecordTables> recorded_sites(CommandContext& ctx) {
  return sites::read_record_tables(ctx.session.target(), ctx.session.symbols(), ctx.cancel);
}

sites::RecordTables required_sites(CommandContext& ctx) {
  auto tables = recorded_sites(ctx);
  if (!tables)
    throw UserError{"no allocation sites recorded in this process: run it with "
                    "LD_PRELOAD=libheapscope-record.so (see \"Allocation sites\" in the README)"};
  return std::move(*tables);
}

std::vector<NamedFrame> named_frames(const sites::RecordTables& tables, uint32_t stack,
                                     sites::FrameSymbols& symbols) {
  std::vector<NamedFrame> out;
  if (stack == sites::kNoStack || stack >= tables.stacks.size()) return out;
  for (Address ra : tables.stacks[stack]) out.push_back({ra, symbols.at(ra)});
  return out;
}

std::optional<ChunkAllocation> chunk_allocation(CommandContext& ctx, Address user, bool live) {
  auto tables = recorded_sites(ctx);
  if (!tables) return std::nullopt;
  ChunkAllocation a;
  const sites::SiteRecord* r = sites::record_at(*tables, user);
  if (!r && !live) return std::nullopt;
  if (r) {
    a.record = *r;
    sites::FrameSymbols symbols(ctx.session.symbols());
    a.frames = named_frames(*tables, r->stack, symbols);
  }
  return a;
}

}  // namespace heapscope
