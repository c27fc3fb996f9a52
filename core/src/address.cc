#include "heapscope/address.h"

#include <fmt/format.h>

namespace heapscope {

std::string to_hex(Address a) { return fmt::format("{:#x}", a.value); }
std::string to_hex(uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace heapscope
