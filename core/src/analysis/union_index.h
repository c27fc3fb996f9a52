// Internal: every heap of the target under one numbering, for the analyses
// over their union (heap leaks, heap refs). Heap m's block i is node
// first(m) + i; a word points into a node by target address, or, for the
// mems heap, by a MeMS virtual address that translates (as mems_get does)
// into a PROCESS segment.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "analysis/pointer_scan.h"
#include "heapscope/mems/model.h"
#include "heapscope/mems/stats.h"
#include "heapscope/model/heap_model.h"

namespace heapscope::analysis {

class UnionIndex {
 public:
  explicit UnionIndex(const std::vector<const HeapModel*>& models) : models_(models) {
    uint32_t n = 0;
    for (const HeapModel* m : models) {
      first_.push_back(n);
      n += static_cast<uint32_t>(m->blocks.size());
      nodes_.emplace_back(*m);
      if (auto* mm = dynamic_cast<const mems::Model*>(m)) mems_ = mm, mems_at_ = nodes_.size() - 1;
    }
    first_.push_back(n);
    if (mems_)
      for (const auto& node : mems_->walk.nodes) {
        vlo_ = std::min(vlo_, node.vstart);
        vhi_ = std::max(vhi_, node.vstart + node.length);
      }
  }
  uint32_t size() const { return first_.back(); }
  size_t model_of(uint32_t g) const {
    return static_cast<size_t>(std::upper_bound(first_.begin(), first_.end(), g) - first_.begin() - 1);
  }
  const Block& block(uint32_t g) const {
    const size_t m = model_of(g);
    return models_[m]->blocks[g - first_[m]];
  }
  bool is_node(uint32_t g) const {
    const size_t m = model_of(g);
    return nodes_[m].is_node(g - first_[m]);
  }
  uint32_t first(size_t m) const { return first_[m]; }
  // The mems heap, when it is one of the models.
  const mems::Model* mems() const { return mems_; }
  size_t mems_at() const { return mems_at_; }

  // The object v points into (by target address, or by MeMS virtual address).
  uint32_t find(uint64_t v, bool* start) const {
    for (size_t m = 0; m < nodes_.size(); ++m)
      if (uint32_t i = nodes_[m].find(v, start); i != kNoNode) return first_[m] + i;
    if (!mems_ || v < vlo_ || v >= vhi_) return kNoNode;
    auto t = mems::try_translate(mems_->walk, v);
    if (!t || t->seg->is_arena()) return kNoNode;
    const uint32_t i = nodes_[mems_at_].find(t->physical.value, start);
    return i == kNoNode ? kNoNode : first_[mems_at_] + i;
  }

 private:
  const std::vector<const HeapModel*>& models_;
  std::vector<NodeIndex> nodes_;
  std::vector<uint32_t> first_;
  const mems::Model* mems_ = nullptr;
  size_t mems_at_ = 0;
  uint64_t vlo_ = UINT64_MAX, vhi_ = 0;
};

// What no heap's roots may include: every allocator's memory (plus the mems
// allocators' own pages), merged, in address order.
std::vector<AddressRange> allocators_memory(const std::vector<const HeapModel*>& models);

}  // namespace heapscope::analysis
