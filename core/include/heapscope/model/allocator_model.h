// AllocatorModel: one entry per allocator heapscope understands. Each is
// tried in turn on every target (as bloaty tries each object format);
// several may succeed in one process (glibc and mems today; glibc and
// jemalloc when only part of a program links jemalloc).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope {

struct AllocatorModel {
  std::string_view name;  // "glibc", "mems", "jemalloc"
  // The allocator's model of this target; nullptr when the allocator is not
  // in it. Throws UserError when it is there but cannot be read (one line
  // that says why), Cancelled when `cancel` fires.
  std::unique_ptr<HeapModel> (*try_build)(const Target& target, const SymbolResolver& symbols,
                                          const CancelToken& cancel);
};

// Every allocator model, in the order they are tried.
std::span<const AllocatorModel> allocator_models();

}  // namespace heapscope
