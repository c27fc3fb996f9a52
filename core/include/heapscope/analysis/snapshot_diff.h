// SnapshotDiff: what changed between two snapshots, by size class, C++ type
// and allocation site, and which leaks are new or gone. Rows with no change
// are left out; the largest changes (by bytes, either way) come first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapscope/analysis/snapshot.h"

namespace heapscope {

struct DiffRow {
  std::string key;  // size class as text, type name, or site
  Tally before, after;
  int64_t bytes_change() const { return static_cast<int64_t>(after.bytes) - static_cast<int64_t>(before.bytes); }
  int64_t count_change() const { return static_cast<int64_t>(after.chunks) - static_cast<int64_t>(before.chunks); }
};

struct SnapshotDiff {
  std::string before_name, after_name;
  Tally in_use_before, in_use_after, free_before, free_after;
  uint64_t system_before = 0, system_after = 0;
  bool sites = false;  // both snapshots had recorded sites
  std::vector<DiffRow> by_size_class, by_type, by_site;
  std::vector<SnapshotLeak> new_leaks, gone_leaks;
};

SnapshotDiff diff_snapshots(const HeapSnapshot& before, const HeapSnapshot& after);

}  // namespace heapscope
