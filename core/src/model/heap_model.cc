#include "heapscope/model/heap_model.h"

namespace heapscope {

std::string_view block_state_name(BlockState s) {
  switch (s) {
    case BlockState::kInUse: return "in_use";
    case BlockState::kFree: return "free";
    case BlockState::kCached: return "cached";
    case BlockState::kTop: return "top";
    case BlockState::kMapped: return "mapped";
    case BlockState::kMetadata: return "metadata";
    case BlockState::kUnknown: return "unknown";
  }
  return "?";
}

const Block* HeapModel::block_containing(Address a) const {
  uint32_t i = index.containing(blocks, a.value);
  return i == BlockIndex::kNone ? nullptr : &blocks[i];
}

const Block* HeapModel::block_at(Address a) const {
  uint32_t i = index.at(blocks, a.value);
  return i == BlockIndex::kNone ? nullptr : &blocks[i];
}

const Block* HeapModel::block_with_user_begin(Address a) const {
  const Block* b = block_containing(a);
  return b && user_begin(*b) == a ? b : nullptr;
}

}  // namespace heapscope
