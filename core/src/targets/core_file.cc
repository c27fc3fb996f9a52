// Placeholder until the ELF core reader lands.
#include "heapscope/core_file.h"

namespace heapscope {
Result<std::unique_ptr<Target>> open_core_file(const std::string& path, const CoreFileOptions&) {
  return Error{path + ": core files are not supported yet"};
}
}  // namespace heapscope
