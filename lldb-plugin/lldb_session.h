// Which heapscope Target stands for LLDB's selected process, and the Session
// kept for it. Fastest backend first:
//   1. an elf-core process: the core file itself (open_core_file, mmap);
//   2. a process on this machine: /proc/PID/mem (open_live_process), with
//      threads and registers from LLDB;
//   3. anything else: SBProcess::ReadMemory behind a page cache.
// The Session is kept until the process resumes (SBProcess::GetStopID), so
// several commands on one stop walk the heap once.
#pragma once

#include <lldb/API/SBDebugger.h>

#include <memory>

#include "heapscope/error.h"
#include "heapscope/session.h"

namespace heapscope::lldb_plugin {

// The Session for the debugger's selected target and process, or an Error
// that is one line for the user (no target, no process, process running).
Result<Session*> session_for(lldb::SBDebugger debugger);

// Drops the cached Session (tests, plugin teardown).
void forget_sessions();

}  // namespace heapscope::lldb_plugin
