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

// `threads`, when not empty, are the threads as the front-end's debugger
// knows them (kAlreadyStopped cannot ptrace, so it has no registers of its
// own); their empty stack ranges are filled from the maps. Without them,
// kStopAndDetach reads registers with PTRACE_GETREGS and kAlreadyStopped
// lists /proc/PID/task without registers.
// Errors: "pid N: no such process", "pid N: permission denied (...)",
// "pid N is a zombie", "pid N is already traced by pid M (...)".
Result<std::unique_ptr<Target>> open_live_process(int pid, StopMode mode,
                                                  std::vector<Thread> threads = {});

// True when pid has exited and only its zombie is left (its memory is gone):
// front-ends whose debugger still holds it report open_live_process's error.
bool is_zombie_process(int pid);

// True when pid has exited: it is gone from /proc, or only its zombie is left.
bool process_has_exited(int pid);

}  // namespace heapscope
