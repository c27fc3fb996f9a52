// Internal: where the recorder's root is in a target (see locate_root.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::sites {

struct RootAt {
  Address address;
  bool by_symbol = false;  // through heapscope_record_root, else by the magic
};

// Adds a line to notes when the symbol is there but does not hold the root.
std::optional<RootAt> locate_record_root(const Target& target, const SymbolResolver& symbols,
                                         const CancelToken& cancel, std::vector<std::string>& notes);

}  // namespace heapscope::sites
