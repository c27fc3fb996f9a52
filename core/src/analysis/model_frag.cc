#include "heapscope/analysis/model_frag.h"

namespace heapscope {

bool is_free_state(BlockState s) {
  return s == BlockState::kFree || s == BlockState::kCached || s == BlockState::kTop;
}

namespace {

void add_block(ModelFragFigures& f, const HeapModel& heap, const Block& b) {
  const BlockState s = heap.state(b);
  if (heap.is_live(b)) f.in_use_sizes.add(b.size);
  if (!is_free_state(s)) return;
  f.free_by_kind[b.kind].add(b.size);
  f.free_bytes += b.size;
  if (s != BlockState::kTop) f.free_sizes.add(b.size);
  if (b.size > f.largest_free) f.largest_free = b.size, f.largest_free_at = b.address, f.largest_free_kind = b.kind;
}

void finish(ModelFragFigures& f) {
  f.external_fragmentation =
      f.free_bytes ? 1.0 - static_cast<double>(f.largest_free) / static_cast<double>(f.free_bytes) : 0.0;
}

}  // namespace

ModelFragReport compute_model_frag(const HeapModel& heap, const CancelToken& cancel) {
  ModelFragReport r;
  r.total.free_by_kind.resize(heap.kinds.size());
  r.owners.resize(heap.owners.size());
  for (auto& o : r.owners) o.free_by_kind.resize(heap.kinds.size());
  uint64_t walked = 0;
  for (const Block& b : heap.blocks) {
    if ((++walked & 0xffff) == 0) check_cancel(cancel);
    if (b.kind >= heap.kinds.size()) continue;
    add_block(r.total, heap, b);
    if (b.owner >= 0 && static_cast<size_t>(b.owner) < r.owners.size())
      add_block(r.owners[static_cast<size_t>(b.owner)], heap, b);
  }
  finish(r.total);
  for (auto& o : r.owners) finish(o);
  return r;
}

}  // namespace heapscope
