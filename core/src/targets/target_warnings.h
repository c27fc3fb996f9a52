// Target warnings: what a target says about its own data that qualifies
// every answer drawn from it, so that every command says it first (a
// truncated core: how much is missing and where). One line each.
#pragma once

#include <string>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::targets {

// Implemented by targets whose data can be incomplete (the core file).
class HasWarnings {
 public:
  virtual ~HasWarnings() = default;
  virtual std::vector<std::string> warnings() const = 0;
};

// The target's warnings, empty when it has none or cannot have any.
inline std::vector<std::string> target_warnings(const Target& target) {
  auto* w = dynamic_cast<const HasWarnings*>(&target);
  return w ? w->warnings() : std::vector<std::string>{};
}

}  // namespace heapscope::targets
