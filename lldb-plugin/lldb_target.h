// What LLDB knows about a process, as the core's types: threads with their
// registers (for the live /proc/PID/mem target, which cannot ptrace a
// process lldb-server traces) and a whole Target over the SB API.
#pragma once

#include <lldb/API/SBProcess.h>
#include <lldb/API/SBTarget.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::lldb_plugin {

// Every thread's general purpose registers (fs_base included), pc and sp.
// Stack ranges are filled from `regions` when given.
std::vector<Thread> threads_from_lldb(lldb::SBProcess process, const std::vector<Region>& regions);

// The slow path for what the direct backends cannot open (remote targets,
// odd process plugins): a CallbackTarget over SBProcess::ReadMemory, with
// regions, modules and threads from the SB API. core_path names the core
// file when the process is one.
std::unique_ptr<Target> make_sb_process_target(lldb::SBTarget target, lldb::SBProcess process,
                                               std::optional<std::string> core_path);

}  // namespace heapscope::lldb_plugin
