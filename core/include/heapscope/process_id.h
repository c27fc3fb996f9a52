// Process ids as the user types them (the CLI's --pid): strictly decimal and
// within 1..pid_max, so that no text ever names another process than it
// says (4294967296 + N must not wrap to N).
#pragma once

#include <cstdint>
#include <string_view>

#include "heapscope/error.h"

namespace heapscope {

// The kernel's largest pid plus one: /proc/sys/kernel/pid_max, or 2^22 (the
// 64-bit kernel's limit) when it cannot be read.
uint64_t system_pid_max();

// Errors: "invalid process id '12x' (a decimal number from 1 to 4194303)".
Result<int> parse_process_id(std::string_view text, uint64_t pid_max = system_pid_max());

}  // namespace heapscope
