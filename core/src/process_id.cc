// parse_process_id: digits only, no sign, no base prefix, below pid_max.
#include "heapscope/process_id.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <string>

namespace heapscope {

// PID_MAX_LIMIT on 64-bit kernels: no pid is ever above it.
constexpr uint64_t kPidMaxLimit = uint64_t{1} << 22;

uint64_t system_pid_max() {
  std::ifstream f("/proc/sys/kernel/pid_max");
  uint64_t v = 0;
  if (f >> v && v > 1 && v <= kPidMaxLimit) return v;
  return kPidMaxLimit;
}

Result<int> parse_process_id(std::string_view text, uint64_t pid_max) {
  auto invalid = [&] {
    return Error{fmt::format("invalid process id '{}' (a decimal number from 1 to {})", text, pid_max - 1)};
  };
  if (text.empty() || text.size() > 10) return invalid();
  for (char c : text)
    if (c < '0' || c > '9') return invalid();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v >= pid_max) return invalid();
  return static_cast<int>(v);
}

}  // namespace heapscope
