// The table of allocator models, in the order they are tried: glibc first
// (most programs), then the allocators a program may use instead of it or
// beside it. Adding an allocator is adding its folder and one row here.
#include "heapscope/model/allocator_model.h"

#include "heapscope/glibc/heap.h"
#include "heapscope/jemalloc/heap.h"
#include "heapscope/mems/model.h"
#include "heapscope/mimalloc/heap.h"
#include "heapscope/musl/heap.h"
#include "heapscope/tcmalloc/heap.h"

namespace heapscope {

namespace {

std::unique_ptr<HeapModel> build_glibc(const Target& target, const SymbolResolver& symbols,
                                       const CancelToken& cancel) {
  return std::make_unique<glibc::Heap>(glibc::Heap::build(target, symbols, cancel));
}

constexpr AllocatorModel kModels[] = {
    {"glibc", build_glibc},
    {"jemalloc", jemalloc::try_build},
    {"tcmalloc", tcmalloc::try_build},
    {"mimalloc", mimalloc::try_build},
    {"musl", musl::try_build},
    {"mems", mems::try_build},
};

}  // namespace

std::span<const AllocatorModel> allocator_models() { return kModels; }

}  // namespace heapscope
