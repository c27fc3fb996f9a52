// Mapping paths that are never opened.
#include "util/mapping_path.h"

namespace heapscope::util {

bool is_unopenable_mapping_path(const std::string& path) {
  return path.ends_with(" (deleted)") || path.starts_with("/proc/") || path.starts_with("/dev/") ||
         path.starts_with("/sys/") || path == "/proc" || path == "/dev" || path == "/sys";
}

}  // namespace heapscope::util
