// DumpLayout: which of a core file's bytes the kernel actually wrote. The
// kernel skips pages that were never faulted in (or were released) and
// leaves sparse holes in the file where they would be; page residency
// (analysis/pages) reads a core's memory state from them. Only the targets
// layer opens the core file: analyses ask the Target.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "heapscope/error.h"
#include "heapscope/target.h"

namespace heapscope::targets {

// One PT_LOAD as laid out in the file, sorted by vaddr, non-overlapping.
struct DumpedSegment {
  uint64_t vaddr = 0, memsz = 0;
  uint64_t offset = 0;  // of the segment's bytes in the file
  uint64_t filesz = 0;  // bytes the file holds (clipped to its end; 0: not dumped)
};

struct DumpLayout {
  std::vector<DumpedSegment> segments;
  // [begin, end) file extents that hold data; the rest of the file is holes.
  std::vector<std::pair<uint64_t, uint64_t>> data;
  bool holes_known = false;
  std::string why_not;  // when !holes_known: why the holes cannot be told
};

// Implemented by targets read from a core file.
class HasDumpLayout {
 public:
  virtual ~HasDumpLayout() = default;
  virtual Result<DumpLayout> dump_layout() const = 0;
};

// The target's dump layout: its own, or, for a debugger's target on a core
// (which only names the file), that of the core file opened here.
Result<DumpLayout> target_dump_layout(const Target& target);

// Fills layout.data/holes_known from the file's SEEK_DATA/SEEK_HOLE extents.
void find_data_extents(const std::string& path, DumpLayout& layout);

}  // namespace heapscope::targets
