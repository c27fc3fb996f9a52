// What the commands about allocation sites share: the recorder's tables of
// the session's target, the one line that says how to get them, and a
// stack's frames with their names.
#pragma once

#include <optional>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/sites/frame_symbols.h"
#include "heapscope/sites/record_tables.h"
#include "render/sites_render.h"

namespace heapscope {

// The tables, or nullopt when the target has no recorder.
std::optional<sites::RecordTables> recorded_sites(CommandContext& ctx);
// The tables, or a UserError saying how to record sites.
sites::RecordTables required_sites(CommandContext& ctx);

// The frames of stack `stack` (kNoStack: none), innermost first, named.
std::vector<NamedFrame> named_frames(const sites::RecordTables& tables, uint32_t stack,
                                     sites::FrameSymbols& symbols);

// The recorded allocation of the block whose user pointer is `user`, for
// heap chunk: nullopt when the target has no recorder, or when the block is
// not live and has no record (a freed block's record is gone).
std::optional<ChunkAllocation> chunk_allocation(CommandContext& ctx, Address user, bool live);

}  // namespace heapscope
