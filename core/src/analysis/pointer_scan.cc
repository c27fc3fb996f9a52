// NodeIndex: spans of adjacent chunks with a chunk-start bitmap each; ChunkWords.
#include "analysis/pointer_scan.h"

#include <algorithm>
#include <bit>

namespace heapscope::analysis {

NodeIndex::NodeIndex(const HeapModel& heap) : chunks_(heap.blocks), index_(heap.index) {
  // Only an index over these very blocks names them (a model built by hand
  // may carry none: its lookups search).
  if (!heap.index.spans().empty() && heap.index.spans().back().last + 1 == heap.blocks.size())
    hot_ = heap.index.largest_exact_span();
  for (size_t k = 0; k < heap.kinds.size() && k < kMaxBlockKinds; ++k) {
    user_offset_[k] = heap.kinds[k].user_offset;
    if (is_program_object(heap.kinds[k])) live_kinds_ |= 1u << k;
  }
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const auto& c : heap.blocks) {
    if (!((live_kinds_ >> c.kind) & 1)) continue;
    lo = std::min(lo, c.address.value);
    hi = std::max(hi, c.end().value);
  }
  if (lo < hi) lo_ = lo, width_ = hi - lo;
  for (const AddressRange& r : heap.system) {
    if (!owned_.empty() && owned_.back().end == r.begin) owned_.back().end = r.end;
    else owned_.push_back(r);
  }
}

ChunkWords::ChunkWords(const Target& t, const HeapModel& heap, const NodeIndex& index)
    : t_(t), heap_(heap), chunks_(heap.blocks.data()), index_(index) {
  views_.reserve(index.spans().size());
  for (const auto& s : index.spans()) {
    View v;
    auto bytes = t.view(Address(s.begin), s.end - s.begin + 8);  // + the last chunk's next prev_size
    if (bytes.size() >= s.end - s.begin) v.begin = s.begin, v.end = s.begin + bytes.size(), v.bytes = bytes.data();
    views_.push_back(v);
  }
  // Runs skip nothing but size fields; they must not look like pointers.
  uint64_t biggest = 0;
  for (const auto& s : index.spans()) biggest = std::max(biggest, s.end - s.begin);
  runs_ok_ = biggest + 16 < index.lo();
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
