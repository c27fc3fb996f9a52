#include "lldb_command.h"

#include <lldb/API/SBError.h>
#include <lldb/API/SBExpressionOptions.h>
#include <lldb/API/SBFile.h>
#include <lldb/API/SBFrame.h>
#include <lldb/API/SBProcess.h>
#include <lldb/API/SBTarget.h>
#include <lldb/API/SBThread.h>
#include <lldb/API/SBValue.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "heapscope/buffer_target.h"
#include "heapscope/command.h"
#include "heapscope/output.h"
#include "lldb_session.h"

namespace heapscope::lldb_plugin {
namespace {

bool wants_help(const std::vector<std::string>& argv) {
  return argv[0] == "help" || std::find(argv.begin() + 1, argv.end(), "--help") != argv.end();
}

void print_error(lldb::SBCommandReturnObject& result, const std::string& message) {
  // SetError prints "error: <message>" on one line.
  result.SetError(message.c_str());
}

// Where a command's output goes, piece by piece as it is rendered. While the
// interpreter runs a command from its own input (typed, or `lldb -o`), the
// debugger's output file: a listing appears as it comes and never sits whole
// in the result object (LLDB prints nothing more for an empty result). A
// script's HandleCommand, with the interpreter idle, gets the output in its
// result object, as it expects.
class LldbSink final : public OutputSink {
 public:
  LldbSink(lldb::SBDebugger debugger, lldb::SBCommandReturnObject& result) : result_(result) {
    if (debugger.GetCommandInterpreter().IsActive()) file_ = debugger.GetOutputFile();
  }
  void write(std::string_view text) override {
    if (!file_.IsValid()) {
      result_.PutCString(text.data(), static_cast<int>(text.size()));
      return;
    }
    size_t written = 0;
    lldb::SBError error = file_.Write(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &written);
    if (error.Fail() || written != text.size())
      throw UserError{std::string("cannot write the output: ") + (error.GetCString() ? error.GetCString() : "short write")};
  }
  void flush() {
    if (file_.IsValid()) file_.Flush();
  }

 private:
  lldb::SBCommandReturnObject& result_;
  lldb::SBFile file_;
};

// The first line of LLDB's error, without its "error: " (an expression's
// diagnostics run to several lines: the source line, a caret).
std::string first_line(const char* text) {
  std::string s = text ? text : "";
  s = s.substr(0, s.find('\n'));
  if (s.starts_with("error: ")) s.erase(0, 7);
  // "<user expression 3>:1:9: arithmetic on a pointer to void": the place
  // says nothing on one line.
  if (s.starts_with("<user expression")) {
    auto at = s.find(">:");
    for (int colons = 0; at != std::string::npos && colons < 2; ++colons) at = s.find(':', at + 2);
    if (at != std::string::npos && at + 2 <= s.size()) s.erase(0, at + 2);
  }
  return s.empty() ? "no value" : s;
}

// Address arguments as LLDB evaluates `expression` in the selected frame
// (the target's globals when there is no frame). No JIT: heapscope never
// runs code in the program; LLDB's IR interpreter still reads variables,
// registers, members and does arithmetic.
AddressEvaluator lldb_evaluator(lldb::SBDebugger debugger) {
  return [debugger](const std::string& expression) mutable -> uint64_t {
    lldb::SBTarget target = debugger.GetSelectedTarget();
    lldb::SBFrame frame = target.GetProcess().GetSelectedThread().GetSelectedFrame();
    lldb::SBExpressionOptions options;
    options.SetAllowJIT(false);
    options.SetIgnoreBreakpoints(true);
    options.SetTryAllThreads(false);
    lldb::SBValue value = frame.IsValid() ? frame.EvaluateExpression(expression.c_str(), options)
                                          : target.EvaluateExpression(expression.c_str(), options);
    lldb::SBError error = value.GetError();
    if (!value.IsValid() || error.Fail())
      throw UserError{"cannot evaluate '" + expression + "': " + first_line(error.GetCString())};
    // An array stands for its start, as in C.
    if (value.GetType().IsArrayType() && value.GetLoadAddress() != LLDB_INVALID_ADDRESS)
      return value.GetLoadAddress();
    if (!value.GetType().IsPointerType() && !(value.GetType().GetTypeFlags() & lldb::eTypeIsScalar))
      throw UserError{"cannot evaluate '" + expression + "': it is a " +
                      (value.GetTypeName() ? value.GetTypeName() : "value") + ", not an address"};
    uint64_t address = value.GetValueAsUnsigned(error, 0);
    if (error.Fail()) throw UserError{"cannot evaluate '" + expression + "': " + first_line(error.GetCString())};
    return address;
  };
}

// The one-line summary of a group: the first sentence of its help.
std::string group_summary(const std::string& group) {
  std::string help = group_help(group);
  auto end = help.find(".\n");
  return end == std::string::npos ? help.substr(0, help.find('\n')) : help.substr(0, end);
}

}  // namespace

bool HeapscopeCommand::DoExecute(lldb::SBDebugger debugger, char** command,
                                 lldb::SBCommandReturnObject& result) {
  // Nothing may escape into LLDB: the core reports user errors as values,
  // and anything else becomes one line here.
  try {
    std::vector<std::string> argv{name_};
    for (char** p = command; p && *p; ++p) argv.emplace_back(*p);

    Session* session = nullptr;
    std::unique_ptr<Session> no_process;  // help needs no process
    auto found = session_for(debugger);
    if (found) {
      session = *found;
    } else if (wants_help(argv)) {
      no_process = std::make_unique<Session>(std::make_unique<BufferTarget>());
      session = no_process.get();
    } else {
      print_error(result, found.error().message);
      return false;
    }

    lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
    CancelToken cancel([&interpreter] { return interpreter.WasInterrupted(); });
    LldbSink sink(debugger, result);
    // Colour as LLDB colours its own output: `settings set use-color`.
    CommandOutput out =
        run_command(*session, group_, argv, cancel, sink, lldb_evaluator(debugger), debugger.GetUseColor());
    sink.flush();  // what was written comes before an error line
    // Notes go to the error stream ("warning: ..."), never into the output
    // that must equal the CLI's; an error stays one line.
    if (out.status == 0)
      for (const std::string& note : session->take_new_notes())
        result.AppendWarning((note.starts_with("note: ") ? note.substr(6) : note).c_str());
    if (out.status != 0) {
      print_error(result, out.error);
      return false;
    }
    result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
    return true;
  } catch (const std::bad_alloc&) {
    print_error(result, "out of memory while analysing the target");
  } catch (const std::exception& e) {
    print_error(result, std::string("internal error: ") + e.what());
  } catch (...) {
    print_error(result, "internal error");
  }
  return false;
}

bool register_commands(lldb::SBDebugger debugger) {
  lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
  bool ok = true;
  for (const std::string& group : command_groups()) {
    const std::string summary = group_summary(group);
    lldb::SBCommand multi = interpreter.AddMultiwordCommand(group.c_str(), summary.c_str());
    if (!multi.IsValid()) {
      ok = false;
      continue;
    }
    const std::string help_long = group_help(group);
    multi.SetHelpLong(help_long.c_str());
    // `heap help` prints the same text as the CLI's `heapscope CORE heap help`.
    // An empty auto-repeat command: pressing Enter does not re-run a walk.
    const std::string help_syntax = group + " help";
    multi.AddCommand("help", new HeapscopeCommand(group, "help"),
                     ("List the " + group + " subcommands").c_str(), help_syntax.c_str(), "");
    for (const CommandSpec& spec : command_table()) {
      if (spec.group != group) continue;
      lldb::SBCommand sub = multi.AddCommand(spec.name.c_str(), new HeapscopeCommand(group, spec.name),
                                             spec.summary.c_str(), spec.usage.c_str(), "");
      if (!sub.IsValid()) {
        ok = false;
        continue;
      }
      sub.SetHelpLong(command_help(spec).c_str());
    }
  }
  return ok;
}

}  // namespace heapscope::lldb_plugin
