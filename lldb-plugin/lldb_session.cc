#include "lldb_session.h"

#include <lldb/API/SBCommandInterpreter.h>
#include <lldb/API/SBCommandReturnObject.h>
#include <lldb/API/SBFileSpec.h>
#include <lldb/API/SBPlatform.h>
#include <lldb/API/SBProcess.h>
#include <lldb/API/SBSymbol.h>
#include <lldb/API/SBSymbolContext.h>
#include <lldb/API/SBSymbolContextList.h>
#include <lldb/API/SBTarget.h>
#include <lldb/API/SBStringList.h>
#include <lldb/API/SBValue.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "heapscope/core_file.h"
#include "heapscope/live_process.h"
#include "lldb_target.h"

namespace heapscope::lldb_plugin {
namespace {

struct Cached {
  lldb::user_id_t debugger_id = 0;
  uint32_t target_index = 0;
  uint32_t process_unique_id = 0;
  lldb::pid_t pid = 0;
  uint32_t stop_id = 0;
  std::unique_ptr<Session> session;
};

Cached& cache() {
  static Cached c;
  return c;
}

std::string path_of(const lldb::SBFileSpec& spec) {
  if (!spec.IsValid()) return {};
  char buf[4096];
  uint32_t n = spec.GetPath(buf, sizeof buf);
  return n ? std::string(buf, std::min<size_t>(n, sizeof buf - 1)) : std::string();
}

// LLDB's own symbol lookup, for when the ELF files on disk do not name the
// symbol (stripped libc whose debug file LLDB found elsewhere, a sysroot).
std::optional<Address> lldb_symbol(lldb::SBTarget target, std::string_view name) {
  std::string n(name);
  lldb::SBSymbolContextList list = target.FindSymbols(n.c_str());
  for (uint32_t i = 0; i < list.GetSize(); ++i) {
    lldb::SBSymbol sym = list.GetContextAtIndex(i).GetSymbol();
    if (!sym.IsValid()) continue;
    lldb::addr_t a = sym.GetStartAddress().GetLoadAddress(target);
    if (a != LLDB_INVALID_ADDRESS) return Address(a);
  }
  lldb::SBValue var = target.FindFirstGlobalVariable(n.c_str());
  if (var.IsValid()) {
    lldb::addr_t a = var.GetLoadAddress();
    if (a != LLDB_INVALID_ADDRESS) return Address(a);
  }
  return std::nullopt;
}

// A process is "on this machine" when LLDB runs it through the host
// platform and /proc/PID is the same program LLDB debugs.
bool is_local_process(lldb::SBTarget target, lldb::SBProcess process) {
  lldb::SBPlatform platform = target.GetPlatform();
  const char* pname = platform.IsValid() ? platform.GetName() : nullptr;
  if (!pname || std::string_view(pname) != "host") return false;
  lldb::pid_t pid = process.GetProcessID();
  if (pid == LLDB_INVALID_PROCESS_ID || pid == 0) return false;
  struct stat proc_exe {};
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &proc_exe) != 0) return false;
  std::string exe = path_of(target.GetExecutable());
  struct stat target_exe {};
  if (!exe.empty() && stat(exe.c_str(), &target_exe) == 0)
    return proc_exe.st_dev == target_exe.st_dev && proc_exe.st_ino == target_exe.st_ino;
  return true;
}

// LLDB's settings for where a target's files are, as the core's options:
// `platform select --sysroot DIR` (read from `platform status`, the SB API
// has no getter), target.debug-file-search-paths and target.exec-search-paths.
void file_options_from_lldb(lldb::SBDebugger debugger, SessionOptions& options) {
  lldb::SBCommandReturnObject status;
  debugger.GetCommandInterpreter().HandleCommand("platform status", status, false);
  if (status.Succeeded() && status.GetOutput()) {
    std::string text = status.GetOutput();
    for (size_t at = 0; at < text.size();) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(at, end - at);
      at = end + 1;
      auto key = line.find("Sysroot: ");
      if (key != std::string::npos && line.find_first_not_of(' ') == key) {
        options.sysroot = line.substr(key + 9);
        while (!options.sysroot.empty() && options.sysroot.back() == '/') options.sysroot.pop_back();
      }
    }
  }
  auto list = [&](const char* name, std::vector<std::string>& out) {
    lldb::SBStringList values = lldb::SBDebugger::GetInternalVariableValue(name, debugger.GetInstanceName());
    for (uint32_t i = 0; i < values.GetSize(); ++i) {
      std::string v = values.GetStringAtIndex(i) ? values.GetStringAtIndex(i) : "";
      // LLDB 19 gives "  [0]: /dir": the value after the index.
      v.erase(0, std::min(v.size(), v.find_first_not_of(' ')));
      if (auto colon = v.find("]: "); !v.empty() && v[0] == '[' && colon != std::string::npos)
        v = v.substr(colon + 3);
      while (v.size() > 1 && v.back() == '/') v.pop_back();
      if (!v.empty()) out.push_back(v);
    }
  };
  list("target.debug-file-search-paths", options.debug_dirs);
  list("target.exec-search-paths", options.exec_dirs);
}

Result<std::unique_ptr<Target>> open_target(lldb::SBTarget target, lldb::SBProcess process,
                                            const SessionOptions& options) {
  const char* plugin = process.GetPluginName();
  std::optional<std::string> core;
  // HEAPSCOPE_LLDB_TARGET=callback forces the slow path (tests use it to
  // check it against the direct backends).
  const char* force = std::getenv("HEAPSCOPE_LLDB_TARGET");
  const bool callback_only = force && std::string_view(force) == "callback";
  if (callback_only) {
    if (plugin && std::string_view(plugin) == "elf-core") core = path_of(process.GetCoreFile());
  } else if (plugin && std::string_view(plugin) == "elf-core") {
    core = path_of(process.GetCoreFile());
    if (core->empty()) core.reset();
    if (core) {
      CoreFileOptions o;
      o.sysroot = options.sysroot;
      auto t = open_core_file(*core, o);
      if (t) return std::move(*t);
    }
  } else if (is_local_process(target, process) || is_zombie_process(static_cast<int>(process.GetProcessID()))) {
    // lldb-server traces the process, so the live target cannot ptrace it:
    // LLDB supplies the threads and their registers.
    auto t = open_live_process(static_cast<int>(process.GetProcessID()), StopMode::kAlreadyStopped,
                               threads_from_lldb(process, {}));
    if (t) return std::move(*t);
    // A process that died while stopped: "pid N is a zombie" is the answer;
    // LLDB's reads would only fail later with a vaguer error.
    if (is_zombie_process(static_cast<int>(process.GetProcessID()))) return t.error();
  }
  return make_sb_process_target(target, process, core);
}

}  // namespace

Result<Session*> session_for(lldb::SBDebugger debugger) {
  lldb::SBTarget target = debugger.GetSelectedTarget();
  if (!target.IsValid())
    return Error{"no target: load a program ('file PROG'), a core ('target create -c CORE') "
                 "or attach to a process first"};
  lldb::SBProcess process = target.GetProcess();
  if (!process.IsValid())
    return Error{"no process: run the program, attach to it, or load a core file first"};
  switch (process.GetState()) {
    case lldb::eStateStopped:
    case lldb::eStateCrashed:
    case lldb::eStateSuspended:
      break;
    case lldb::eStateRunning:
    case lldb::eStateStepping:
      return Error{"the process is running: stop it first (process interrupt)"};
    case lldb::eStateExited:
    case lldb::eStateDetached:
      return Error{"the process has exited: there is no heap to inspect"};
    default:
      return Error{"the process is not stopped: there is no heap to inspect yet"};
  }

  Cached& c = cache();
  const lldb::user_id_t debugger_id = debugger.GetID();
  const uint32_t target_index = debugger.GetIndexOfTarget(target);
  const uint32_t unique_id = process.GetUniqueID();
  const lldb::pid_t pid = process.GetProcessID();
  const uint32_t stop_id = process.GetStopID();
  if (c.session && c.debugger_id == debugger_id && c.target_index == target_index &&
      c.process_unique_id == unique_id && c.pid == pid && c.stop_id == stop_id)
    return c.session.get();

  c.session.reset();  // close the old target (its fds and mappings) first
  SessionOptions options;
  options.symbol_fallback = [target](std::string_view name) { return lldb_symbol(target, name); };
  file_options_from_lldb(debugger, options);
  auto opened = open_target(target, process, options);
  if (!opened) return opened.error();
  c.session = std::make_unique<Session>(std::move(*opened), std::move(options));
  c.debugger_id = debugger_id;
  c.target_index = target_index;
  c.process_unique_id = unique_id;
  c.pid = pid;
  c.stop_id = stop_id;
  return c.session.get();
}

void forget_sessions() { cache().session.reset(); }

}  // namespace heapscope::lldb_plugin
