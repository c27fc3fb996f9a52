// Auxv: access to a target's auxiliary vector.
#include "targets/auxv.h"

#include <elf.h>

#include <cstring>

namespace heapscope::targets {

std::vector<AuxvEntry> target_auxv(const Target& target) {
  if (auto* a = dynamic_cast<const HasAuxv*>(&target)) return a->auxv();
  return {};
}

std::optional<uint64_t> auxv_value(const Target& target, uint64_t type) {
  for (const auto& e : target_auxv(target))
    if (e.type == type) return e.value;
  return std::nullopt;
}

std::vector<AuxvEntry> parse_auxv(const void* data, size_t size) {
  std::vector<AuxvEntry> out;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t off = 0; off + 16 <= size; off += 16) {
    AuxvEntry e;
    std::memcpy(&e.type, p + off, 8);
    std::memcpy(&e.value, p + off + 8, 8);
    if (e.type == AT_NULL) break;
    out.push_back(e);
  }
  return out;
}

}  // namespace heapscope::targets
