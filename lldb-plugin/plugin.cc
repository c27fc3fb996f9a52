// libheapscope-lldb.so: LLDB calls lldb::PluginInitialize on `plugin load`.
// It is the only exported symbol (exports.map).
#include <lldb/API/SBDebugger.h>

#include "lldb_command.h"
#include "malloc_summaries.h"

namespace lldb {
__attribute__((visibility("default"))) bool PluginInitialize(lldb::SBDebugger debugger);
}

bool lldb::PluginInitialize(lldb::SBDebugger debugger) {
  bool ok = heapscope::lldb_plugin::register_commands(debugger);
  heapscope::lldb_formatters::register_malloc_summaries(debugger);
  return ok;
}
