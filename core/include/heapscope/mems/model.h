// The mems allocators as a HeapModel: every node mapping tiled by its
// segments (PROCESS in use, HOLE free), the segments that hold pool arenas
// tiled by their pools (header, blocks in use / free / in a thread cache,
// the bytes after the last block), and the metadata pages. Owners are the
// nodes. The walk itself is mems::SegmentHeap's; this only lays its result out in
// the shared vocabulary, so heap stats and heap chunks answer for mems too.
#pragma once

#include <memory>

#include "heapscope/cancel.h"
#include "heapscope/mems/heap.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::mems {

class Model : public HeapModel {
 public:
  SegmentHeap walk;  // the allocators' own structures, as mems commands show them
};

// Model of `walk`'s target laid out from an existing walk.
std::unique_ptr<Model> make_model(SegmentHeap walk);

// The allocator table's entry: nullptr when the target has no mems root.
std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel);

}  // namespace heapscope::mems
