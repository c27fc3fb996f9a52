// LLDB type summaries for glibc's malloc structures (types from libc's debug
// info, libc6-dbg on Debian): malloc_chunk, malloc_state,
// tcache_perthread_struct and tcache_entry. The plugin registers them in the
// "heapscope" category on load; `type category disable heapscope` turns them
// off.
#pragma once

#include <lldb/API/SBDebugger.h>

namespace heapscope::lldb_formatters {

void register_malloc_summaries(lldb::SBDebugger debugger);

}  // namespace heapscope::lldb_formatters
