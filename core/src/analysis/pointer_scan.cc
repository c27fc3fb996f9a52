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

namespace {

// Tarjan's strongly connected components, iterative (leaked graphs can be
// long chains). Returns a component id per vertex.
std::vector<uint32_t> strongly_connected(const std::vector<uint32_t>& first,
                                         const std::vector<uint32_t>& edges, const CancelToken& cancel) {
  const uint32_t n = static_cast<uint32_t>(first.size() - 1);
  constexpr uint32_t kUnset = UINT32_MAX;
  std::vector<uint32_t> order(n, kUnset), low(n, 0), comp(n, kUnset), stack;
  std::vector<uint8_t> on_stack(n, 0);
  struct Frame {
    uint32_t v, next_edge;
  };
  std::vector<Frame> call;
  uint32_t counter = 0, comps = 0;
  for (uint32_t root = 0; root < n; ++root) {
    if (order[root] != kUnset) continue;
    if ((root & 0xfff) == 0) check_cancel(cancel);
    call.push_back({root, first[root]});
    order[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = 1;
    while (!call.empty()) {
      Frame& f = call.back();
      if (f.next_edge < first[f.v + 1]) {
        uint32_t w = edges[f.next_edge++];
        if (order[w] == kUnset) {
          order[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = 1;
          call.push_back({w, first[w]});
        } else if (on_stack[w]) {
          low[f.v] = std::min(low[f.v], order[w]);
        }
        continue;
      }
      uint32_t v = f.v;
      call.pop_back();
      if (!call.empty()) low[call.back().v] = std::min(low[call.back().v], low[v]);
      if (low[v] == order[v]) {
        uint32_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = 0;
          comp[w] = comps;
        } while (w != v);
        ++comps;
      }
    }
  }
  return comp;
}

}  // namespace

std::vector<uint8_t> direct_members(const std::vector<uint32_t>& first, const std::vector<uint32_t>& edges,
                                    const CancelToken& cancel) {
  const size_t n = first.size() - 1;
  std::vector<uint32_t> comp = strongly_connected(first, edges, cancel);
  std::vector<uint8_t> entered(n, 0);  // by component id
  for (uint32_t x = 0; x < n; ++x)
    for (uint32_t e = first[x]; e < first[x + 1]; ++e)
      if (comp[edges[e]] != comp[x]) entered[comp[edges[e]]] = 1;
  std::vector<uint8_t> has_direct(n, 0), direct(n, 0);
  for (size_t k = 0; k < n; ++k) {  // address order: the first member is the lowest
    uint32_t c = comp[k];
    if (!entered[c] && !has_direct[c]) has_direct[c] = 1, direct[k] = 1;
  }
  return direct;
}

}  // namespace heapscope::analysis
