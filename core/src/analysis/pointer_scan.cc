// NodeIndex: spans of adjacent chunks with a granule table each.
#include "analysis/pointer_scan.h"

#include <algorithm>
#include <bit>

namespace heapscope::analysis {

NodeIndex::NodeIndex(const glibc::Heap& heap) : chunks_(heap.chunks.data()) {
  const auto& cs = heap.chunks;
  node_.resize(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) node_[i] = heapscope::is_node(cs[i]);
  // Spans: maximal runs of chunks that touch, holding at least one node.
  size_t i = 0;
  while (i < cs.size()) {
    size_t j = i;
    size_t nodes = node_[i];
    while (j + 1 < cs.size() && cs[j + 1].address == cs[j].end() && cs[j].size) {
      ++j;
      nodes += node_[j];
    }
    if (nodes) {
      Span s;
      s.begin = cs[i].address.value;
      s.end = cs[j].end().value;
      s.first = static_cast<uint32_t>(i);
      s.last = static_cast<uint32_t>(j);
      // About one granule per chunk: the forward scan stays short.
      uint64_t bytes = s.end - s.begin;
      uint64_t per = std::max<uint64_t>(bytes / (j - i + 1), 16);
      s.shift = static_cast<uint32_t>(std::bit_width(per) - 1);
      uint64_t granules = ((bytes - 1) >> s.shift) + 1;
      s.table = static_cast<uint32_t>(table_.size());
      table_.resize(table_.size() + granules);
      uint32_t c = s.first;
      for (uint64_t g = 0; g < granules; ++g) {
        uint64_t at = s.begin + (g << s.shift);
        while (c < s.last && cs[c].end().value <= at) ++c;
        table_[s.table + g] = c;
      }
      spans_.push_back(s);
      lo_ = std::min(lo_, s.begin);
      hi_ = std::max(hi_, s.end);
    }
    i = j + 1;
  }
}

}  // namespace heapscope::analysis
