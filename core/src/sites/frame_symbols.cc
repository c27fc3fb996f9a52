#include "heapscope/sites/frame_symbols.h"

namespace heapscope::sites {

const std::optional<SymbolAt>& FrameSymbols::at(Address ra) {
  auto [it, fresh] = cache_.try_emplace(ra.value);
  if (fresh && ra.value > 0) it->second = symbols_.at(Address(ra.value - 1));
  return it->second;
}

}  // namespace heapscope::sites
