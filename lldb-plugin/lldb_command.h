// One LLDB subcommand (`heap stats`, `mems chain`, ...) per entry of the
// core's command table. LLDB splits the line into argv; the command hands it
// to the core's run_command and prints what comes back, so the output is the
// CLI's byte for byte.
#pragma once

#include <lldb/API/SBCommandInterpreter.h>
#include <lldb/API/SBCommandReturnObject.h>
#include <lldb/API/SBDebugger.h>

#include <string>

namespace heapscope::lldb_plugin {

class HeapscopeCommand : public lldb::SBCommandPluginInterface {
 public:
  HeapscopeCommand(std::string group, std::string name)
      : group_(std::move(group)), name_(std::move(name)) {}

  bool DoExecute(lldb::SBDebugger debugger, char** command,
                 lldb::SBCommandReturnObject& result) override;

 private:
  std::string group_;
  std::string name_;  // the subcommand, argv[0] for the core ("help" too)
};

// Adds the `heap` and `mems` multiword commands. Returns false when LLDB
// refused them.
bool register_commands(lldb::SBDebugger debugger);

}  // namespace heapscope::lldb_plugin
