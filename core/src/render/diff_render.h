// Renderer for `heap diff` / `heapscope diff`: what grew and what shrank
// between two snapshots, and the leaks that came and went.
#pragma once

#include <cstddef>

#include "heapscope/analysis/snapshot_diff.h"
#include "heapscope/output.h"

namespace heapscope {

// Text lists at most `rows` rows of each table (JSON: all).
void diff_text(OutputWriter& out, const SnapshotDiff& d, size_t rows);
void diff_json(OutputWriter& out, const SnapshotDiff& d);
// heap snapshot save's answer.
void snapshot_saved_text(OutputWriter& out, const HeapSnapshot& s, const std::string& file);
void snapshot_saved_json(OutputWriter& out, const HeapSnapshot& s, const std::string& file);

}  // namespace heapscope
