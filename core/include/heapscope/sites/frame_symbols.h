// FrameSymbols: names for the return addresses of recorded stacks, each
// looked up once (stacks share most of their frames). A return address
// points after its call, so the call's function and line are those of ra - 1.
#pragma once

#include <optional>
#include <unordered_map>

#include "heapscope/address.h"
#include "heapscope/symbols.h"

namespace heapscope::sites {

class FrameSymbols {
 public:
  explicit FrameSymbols(const SymbolResolver& symbols) : symbols_(symbols) {}
  // The name of the call that return address `ra` returns from; the
  // reference stays valid for the life of this object.
  const std::optional<SymbolAt>& at(Address ra);

 private:
  const SymbolResolver& symbols_;
  std::unordered_map<uint64_t, std::optional<SymbolAt>> cache_;
};

}  // namespace heapscope::sites
