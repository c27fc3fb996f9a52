// Making a snapshot of a session's target (heap snapshot save, heapscope
// diff) and writing one to a file.
#pragma once

#include <string>

#include "heapscope/analysis/snapshot.h"
#include "heapscope/analysis/snapshot_diff.h"
#include "heapscope/command.h"
#include "heapscope/session.h"

namespace heapscope {

HeapSnapshot snapshot_of(Session& session, const CancelToken& cancel, std::string name, std::string source);
// Throws UserError when the file cannot be written.
void write_snapshot_file(const HeapSnapshot& s, const std::string& path);
// heap diff's output, text or JSON as ctx.args says.
void write_diff(CommandContext& ctx, const SnapshotDiff& d);

}  // namespace heapscope
