// Small text-rendering helpers shared by every command's renderer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapscope/address.h"

namespace heapscope {

// "1.5 KiB", "12.0 MiB", "512 B".
std::string human_size(uint64_t bytes);
// "1234 (1.2 KiB)": exact bytes with the human form beside them.
std::string bytes_with_human(uint64_t bytes);
// Bytes read at `at`, 16 a line: address, hex, and printable ASCII.
std::string hex_dump(Address at, const std::vector<unsigned char>& bytes);

}  // namespace heapscope
