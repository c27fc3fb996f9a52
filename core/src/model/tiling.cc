#include "model/tiling.h"

#include <fmt/format.h>

#include <algorithm>

namespace heapscope {

void sort_and_tile(HeapModel& heap, size_t max_findings) {
  auto& blocks = heap.blocks;
  auto by_address = [](const Block& a, const Block& b) { return a.address < b.address; };
  auto sorted_end = std::is_sorted_until(blocks.begin(), blocks.end(), by_address);
  std::sort(sorted_end, blocks.end(), by_address);
  std::inplace_merge(blocks.begin(), sorted_end, blocks.end(), by_address);
  size_t kept = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Block& b = blocks[i];
    if (kept > 0 && b.address < blocks[kept - 1].end()) {
      if (heap.findings.size() < max_findings)
        heap.findings.push_back({"overlap", b.address, b.owner,
                                 fmt::format("overlaps the block at {}", to_hex(blocks[kept - 1].address))});
      if (b.owner >= 0 && size_t(b.owner) < heap.owners.size()) heap.owners[b.owner].system_bytes -= b.size;
      continue;
    }
    blocks[kept++] = b;
  }
  blocks.resize(kept);
  heap.system.clear();
  for (const Block& b : blocks) {
    if (!heap.system.empty() && heap.system.back().end == b.address) heap.system.back().end = b.end();
    else heap.system.push_back({b.address, b.end()});
  }
}

}  // namespace heapscope
