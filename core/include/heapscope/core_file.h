// Opening an ELF core file as a Target (read through mmap).
#pragma once

#include <memory>
#include <string>

#include "heapscope/error.h"
#include "heapscope/target.h"

namespace heapscope {

struct CoreFileOptions {
  // Where to look for mapped files that NT_FILE names; empty means "as named".
  std::string sysroot;
};

// Errors: "<path>: not an ELF file", "...: not a core file (ELF type EXEC)",
// "...: truncated core (...)", "...: unsupported architecture (...)".
Result<std::unique_ptr<Target>> open_core_file(const std::string& path,
                                               const CoreFileOptions& options = {});

}  // namespace heapscope
