#include "render/format.h"

#include <fmt/format.h>

namespace heapscope {

std::string human_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string bytes_with_human(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{}", bytes);
  return fmt::format("{} ({})", bytes, human_size(bytes));
}

std::string hex_dump(Address at, const std::vector<unsigned char>& b) {
  std::string out;
  for (size_t off = 0; off < b.size(); off += 16) {
    std::string hex, ascii;
    for (size_t i = off; i < off + 16; ++i) {
      if (i < b.size()) {
        hex += fmt::format("{:02x} ", b[i]);
        ascii += (b[i] >= 0x20 && b[i] < 0x7f) ? static_cast<char>(b[i]) : '.';
      } else {
        hex += "   ";
      }
    }
    out += fmt::format("    {:#x}  {} |{}|\n", at.value + off, hex, ascii);
  }
  return out;
}

}  // namespace heapscope
