// ConcurrentReads: a Target capability. A target that also derives from it
// may be read (view, read, the hints) from several threads at once: a mapped
// core file, a live process read under its own locks, a memory buffer. A
// debugger's callbacks may not (they call into gdb's Python or LLDB's SB
// API): a scan over such a target stays on the calling thread.
#pragma once

#include "heapscope/target.h"

namespace heapscope {

class ConcurrentReads {
 public:
  virtual ~ConcurrentReads() = default;
};

inline bool concurrent_reads(const Target& t) { return dynamic_cast<const ConcurrentReads*>(&t) != nullptr; }

}  // namespace heapscope
