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

std::optional<Address> locate_record_root(const Target& target, const SymbolResolver& symbols,
                                          const CancelToken& cancel, std::vector<std::string>& notes);

}  // namespace heapscope::sites
