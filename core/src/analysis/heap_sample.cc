#include "heapscope/analysis/heap_sample.h"

namespace heapscope {
namespace {

// One owner's tallies by kind, folded into the three plotted figures.
SampleFigures fold(std::string label, const HeapModel& model, const std::vector<Tally>& by_kind,
                   uint64_t system_bytes) {
  SampleFigures f{std::move(label), {}, {}, system_bytes};
  for (size_t k = 0; k < by_kind.size() && k < model.kinds.size(); ++k) {
    switch (model.kinds[k].state) {
      case BlockState::kInUse:
      case BlockState::kMapped: f.in_use.add(by_kind[k]); break;
      case BlockState::kFree:
      case BlockState::kCached:
      case BlockState::kTop: f.free.add(by_kind[k]); break;
      default: break;  // metadata and unknown bytes: in system, neither in use nor free
    }
  }
  return f;
}

}  // namespace

void set_sample_figures(HeapSample& sample, const HeapModel& model, const ModelStats& stats) {
  sample.allocator = stats.allocator;
  sample.total = fold("total", model, stats.by_kind, stats.system_bytes);
  sample.owners.clear();
  for (const OwnerStats& o : stats.owners) sample.owners.push_back(fold(o.label, model, o.by_kind, o.system_bytes));
  // Blocks of no owner (glibc's mmapped chunks) are each their own mapping.
  uint64_t unowned_bytes = 0;
  for (const Tally& t : stats.unowned.by_kind) unowned_bytes += t.bytes;
  if (unowned_bytes) sample.owners.push_back(fold(stats.unowned.label, model, stats.unowned.by_kind, unowned_bytes));
}

}  // namespace heapscope
