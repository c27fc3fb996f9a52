// The generic part of `heap frag`, for any allocator's model: per owner and
// in total, free bytes per kind (the blocks in a free, cached or top state),
// the largest free block, external fragmentation (1 - largest free / total
// free) and the size histograms of free and in-use blocks. glibc's own
// report (compute_frag: its classes and the malloc_trim model) stays glibc's.
#pragma once

#include <string>
#include <vector>

#include "heapscope/analysis/frag.h"
#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"

namespace heapscope {

struct ModelFragFigures {
  std::vector<Tally> free_by_kind;  // one per model kind; zero for kinds that are not free
  uint64_t free_bytes = 0;
  uint64_t largest_free = 0;
  Address largest_free_at;
  uint8_t largest_free_kind = 0;
  double external_fragmentation = 0;  // 0 when nothing is free
  SizeHistogram free_sizes;           // free and cached blocks (top excluded, as glibc's)
  SizeHistogram in_use_sizes;         // blocks the program holds
};

struct ModelFragReport {
  std::vector<ModelFragFigures> owners;  // one per heap.owners entry
  ModelFragFigures total;                // every block, owned or not
};

bool is_free_state(BlockState s);  // free, cached or top
ModelFragReport compute_model_frag(const HeapModel& heap, const CancelToken& cancel = CancelToken());

}  // namespace heapscope
