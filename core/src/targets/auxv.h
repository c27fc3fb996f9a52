// Auxv: the auxiliary vector the kernel gave the process (AT_PHDR, AT_ENTRY,
// AT_BASE, ...), kept by the core-file (NT_AUXV) and live-process
// (/proc/PID/auxv) targets. Other code finds the executable or the dynamic
// loader with it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::targets {

struct AuxvEntry {
  uint64_t type = 0;  // AT_* from <elf.h>
  uint64_t value = 0;
};

// Implemented by targets that know their auxiliary vector.
class HasAuxv {
 public:
  virtual ~HasAuxv() = default;
  virtual const std::vector<AuxvEntry>& auxv() const = 0;
};

// The target's auxiliary vector, empty when the backend has none.
std::vector<AuxvEntry> target_auxv(const Target& target);
std::optional<uint64_t> auxv_value(const Target& target, uint64_t type);

// Parses (type, value) pairs up to AT_NULL.
std::vector<AuxvEntry> parse_auxv(const void* data, size_t size);

}  // namespace heapscope::targets
