// heapscope: the command table on a core file or a live process.
//   heapscope [--no-debuginfo] CORE heap stats [--json]
//   heapscope [--no-debuginfo] --pid PID heap chunks --limit 10
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/core_file.h"
#include "heapscope/live_process.h"
#include "heapscope/process_id.h"
#include "heapscope/version.h"

namespace {

heapscope::CancelToken* g_cancel = nullptr;

void on_sigint(int) {
  if (g_cancel) g_cancel->cancel();
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "heapscope: %s\n", message.c_str());
  return 2;
}

const char kUsage[] =
    "Usage: heapscope [--no-debuginfo] CORE-FILE GROUP COMMAND [ARGS...]\n"
    "       heapscope [--no-debuginfo] --pid PID GROUP COMMAND [ARGS...]\n"
    "GROUP is 'heap' or 'mems'; 'heapscope CORE heap help' lists the commands.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace heapscope;
  std::vector<std::string> args(argv + 1, argv + argc);
  SessionOptions options;
  std::string core;
  int pid = 0;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("heapscope %s\n", kVersion);
      return 0;
    } else if (a == "--no-debuginfo") {
      options.use_debuginfo = false;
    } else if (a == "--pid") {
      if (i + 1 >= args.size()) return usage_error("--pid needs a process id");
      auto parsed = parse_process_id(args[++i]);
      if (!parsed) return usage_error(parsed.error().message);
      pid = *parsed;
    } else if (a.starts_with("-")) {
      return usage_error("unknown option '" + a + "' (try --help)");
    } else {
      break;
    }
  }
  if (pid == 0) {
    if (i >= args.size()) return usage_error("no core file or --pid given (try --help)");
    core = args[i++];
  }
  if (i >= args.size()) return usage_error("no command given (try --help)");
  std::string group = args[i++];
  if (group != "heap" && group != "mems")
    return usage_error("unknown command group '" + group + "' (expected heap or mems)");
  std::vector<std::string> command(args.begin() + static_cast<long>(i), args.end());

  auto target = pid ? open_live_process(pid, StopMode::kStopAndDetach) : open_core_file(core);
  if (!target) return usage_error(target.error().message);

  Session session(std::move(*target), std::move(options));
  CancelToken cancel;
  g_cancel = &cancel;
  std::signal(SIGINT, on_sigint);
  CommandOutput out = run_command(session, group, command, cancel);
  if (out.status != 0) {
    usage_error(out.error);
    return out.status;
  }
  std::fwrite(out.out.data(), 1, out.out.size(), stdout);
  return 0;
}
