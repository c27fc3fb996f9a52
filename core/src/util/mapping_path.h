// Which paths a target names for its mappings are never opened, whatever is
// there now: "... (deleted)" (the file the process mapped is gone, and its
// name may now belong to anything, a FIFO included), and files under /proc,
// /dev and /sys (not files a program maps for its code or data). What may be
// opened is opened with util::open_regular_file.
#pragma once

#include <string>

namespace heapscope::util {

bool is_unopenable_mapping_path(const std::string& path);

}  // namespace heapscope::util
