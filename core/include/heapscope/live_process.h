// A running process as a Target: /proc/PID/mem, /proc/PID/maps,
// /proc/PID/task. Read-only: it never writes the target.
#pragma once

#include <memory>

#include "heapscope/error.h"
#include "heapscope/target.h"

namespace heapscope {

enum class StopMode {
  kStopAndDetach,    // CLI --pid: PTRACE_SEIZE + INTERRUPT every thread, detach on destruction
  kAlreadyStopped,   // a debugger traces and has stopped it: read only
};

Result<std::unique_ptr<Target>> open_live_process(int pid, StopMode mode);

}  // namespace heapscope
