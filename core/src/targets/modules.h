// Module list building shared by the core-file and live-process targets: one
// Module per distinct mapped ELF file, from the target's file-backed regions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::targets {

// Groups file-backed regions (path starting with '/') by path. A file is kept
// when it is ELF (by the header page in the target's memory or on disk), or
// when neither can be checked (the file is missing on this machine). The
// build-id comes from the header page in memory, else from the file on disk
// (sysroot + path). Modules are sorted by base, except that the one holding
// `entry` (AT_ENTRY: the main executable) comes first.
std::vector<Module> build_modules(const Target& target, const std::vector<Region>& regions,
                                  const std::string& sysroot, std::optional<uint64_t> entry);

// The stack region of a thread: the region containing sp (empty when none).
AddressRange stack_range_for(const Target& target, Address sp);

}  // namespace heapscope::targets
