#include "heapscope/session.h"

#include "heapscope/glibc/heap.h"
#include "heapscope/mems/heap.h"

namespace heapscope {

Session::Session(std::unique_ptr<Target> target, SessionOptions options)
    : target_(std::move(target)), options_(std::move(options)) {}

Session::~Session() = default;

const SymbolResolver& Session::symbols() {
  if (!symbols_) {
    auto elf = make_elf_symbols(*target_, SymbolOptions{options_.use_debuginfo});
    // Without debug info the roots must come from structure: a debugger's
    // own lookup (which reads debug files) would defeat --no-debuginfo.
    bool fallback = options_.symbol_fallback && options_.use_debuginfo;
    symbols_ = fallback ? with_fallback(std::move(elf), options_.symbol_fallback) : std::move(elf);
  }
  return *symbols_;
}

const glibc::Heap& Session::glibc_heap(const CancelToken& cancel) {
  if (!glibc_heap_) {
    glibc_heap_ = std::make_unique<glibc::Heap>(glibc::Heap::build(*target_, symbols(), cancel));
  }
  return *glibc_heap_;
}

const mems::Heap& Session::mems_heap() {
  if (!mems_heap_) mems_heap_ = std::make_unique<mems::Heap>(mems::Heap::build(*target_, symbols()));
  return *mems_heap_;
}

void Session::invalidate() {
  glibc_heap_.reset();
  mems_heap_.reset();
}

}  // namespace heapscope
