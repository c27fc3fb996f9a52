// SiteTree: recorded bytes by call path, memray's `tree` and the flame
// graph's data. The root stands for every allocation grouped; each other
// node is a frame (a return address) called from its parent's, outermost
// first, and its bytes and count are those of every stack through it. A
// node's own ("self") figures are the stacks that end there.
#pragma once

#include <cstdint>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/sites/site_groups.h"

namespace heapscope::sites {

struct SiteTreeNode {
  Address frame;            // null for the root
  uint32_t parent = 0;      // the root's is itself (0)
  uint32_t depth = 0;       // the root's is 0
  uint64_t bytes = 0, count = 0;
  uint64_t self_bytes = 0, self_count = 0;
  std::vector<uint32_t> children;  // largest bytes first, then by frame
};

struct SiteTree {
  std::vector<SiteTreeNode> nodes;  // nodes[0] is the root
};

// Groups with no stack count as the root's own.
SiteTree build_site_tree(const RecordTables& tables, const SiteGroups& groups);

}  // namespace heapscope::sites
