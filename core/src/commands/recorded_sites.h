// What the commands about allocation sites share: where the chosen heap
// model's sites come from (SiteSource), the one line that says how to get
// them, and a stack's frames with their names.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/sites/frame_symbols.h"
#include "heapscope/sites/record_tables.h"
#include "render/sites_render.h"

namespace heapscope {

// The size of the object whose user pointer is the argument, as a site
// listing counts it; nullopt when it is not counted (no such object, not
// live, or not leaked when leaks are asked for).
using CountedSize = std::function<std::optional<uint64_t>(Address)>;

// The sites of one heap model: the recorder's tables (whatever malloc it
// interposed), or the allocator's own records (MeMS), read as the same
// tables. Chosen per model in one place (site_source), so the commands
// never ask which allocator they list.
struct SiteSource {
  sites::RecordTables tables;
  // The counted sizes of every live block, or (leaked) of the leaked ones,
  // by the leak analysis that fits the allocator.
  std::function<CountedSize(CommandContext&, bool leaked)> counted_size;
};

// The source of the model --allocator (or heap allocator) names, or
// nullopt when it has no sites.
std::optional<SiteSource> recorded_sites(CommandContext& ctx);
// The source, or a UserError saying how to record sites.
SiteSource required_sites(CommandContext& ctx);

// The frames of stack `stack` (kNoStack: none), innermost first, named.
std::vector<NamedFrame> named_frames(const sites::RecordTables& tables, uint32_t stack,
                                     sites::FrameSymbols& symbols);

// The recorded allocation of the block whose user pointer is `user`, for
// heap chunk: nullopt when the model has no sites, or when the block is
// not live and has no record (a freed block's record is gone).
std::optional<ChunkAllocation> chunk_allocation(CommandContext& ctx, Address user, bool live);

}  // namespace heapscope
