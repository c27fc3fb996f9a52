// Live memory by allocation stack: the recorder's records grouped by the
// stack that made them, each with its count and its bytes (the size of the
// in-use block at the record's address, header included, as the heap model
// has it).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "heapscope/sites/record_tables.h"

namespace heapscope::sites {

struct SiteGroup {
  uint32_t stack = kNoStack;  // index into RecordTables::stacks
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0, last_seq = 0;
};

struct SiteGroups {
  std::vector<SiteGroup> groups;  // largest first (by bytes or by count)
  uint64_t count = 0, bytes = 0;
  uint64_t not_in_heap = 0;       // records with no in-use block at their address
};

enum class SiteOrder { kBytes, kCount };

// block_size(address): the size of the in-use block whose user pointer is
// address, nullopt when there is none.
SiteGroups group_by_site(const RecordTables& tables,
                         const std::function<std::optional<uint64_t>(Address)>& block_size, SiteOrder order);

}  // namespace heapscope::sites
