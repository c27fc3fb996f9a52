#include "heapscope/glibc/heap.h"
#include "heapscope/error.h"

namespace heapscope::glibc {
Heap Heap::build(const Target&, const SymbolResolver&, const CancelToken&) {
  throw UserError{"glibc heap model not implemented yet"};
}
}  // namespace heapscope::glibc
