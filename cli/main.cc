// heapscope: the command table on a core file or a live process.
//   heapscope [--no-debuginfo] [--sysroot DIR] [--debug-dir DIR]... CORE heap stats [--json]
//   heapscope [--no-debuginfo] --pid PID heap chunks --limit 10
//   heapscope --pid PID --watch 0.5 [--count N] [--html FILE] heap stats
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/core_file.h"
#include "heapscope/heap_diff.h"
#include "heapscope/heap_watch.h"
#include "heapscope/live_process.h"
#include "heapscope/process_id.h"
#include "heapscope/version.h"

namespace {

heapscope::CancelToken* g_cancel = nullptr;

void on_sigint(int) {
  if (g_cancel) g_cancel->cancel();
}

// stdout, piece by piece as the command renders. A reader that goes away
// (`| head`) ends heapscope by SIGPIPE, as it ends any Unix filter.
// `flush_each`: every piece goes out at once (--watch: a reader of the pipe
// sees each sample as it is taken).
class StdoutSink final : public heapscope::OutputSink {
 public:
  explicit StdoutSink(bool flush_each = false) : flush_each_(flush_each) {}
  void write(std::string_view text) override {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || (flush_each_ && std::fflush(stdout) != 0))
      throw heapscope::UserError{std::string("cannot write the output: ") + std::strerror(errno)};
  }

 private:
  bool flush_each_;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "heapscope: %s\n", message.c_str());
  return 2;
}

const char kUsage[] =
    "Usage: heapscope [OPTIONS] CORE-FILE GROUP COMMAND [ARGS...]\n"
    "       heapscope [OPTIONS] --pid PID GROUP COMMAND [ARGS...]\n"
    "       heapscope [OPTIONS] diff A B [--limit N] [--json]   (A, B: cores, snapshot files, --pid PID)\n"
    "       heapscope [OPTIONS] --pid PID --watch SECONDS [--count N] [--html FILE] heap stats\n"
    "GROUP is 'heap' or 'mems'; 'heapscope heap help' lists the commands.\n"
    "Options:\n"
    "  --no-debuginfo   use no separate debug files (roots from the heap's structure)\n"
    "  --sysroot DIR    read the files the core names as DIR/PATH (a core from another machine)\n"
    "  --debug-dir DIR  look for debug files in DIR (like /usr/lib/debug) first; repeatable\n"
    "  --color WHEN     colour the text output: auto (a terminal, NO_COLOR unset), always or never\n"
    "  --threads N      threads for heap leaks' scan, 1 to 64 (default: $HEAPSCOPE_THREADS,\n"
    "                   else 1); 1 also keeps the helper threads off (lists chased ahead,\n"
    "                   heap check beside the command); the output is the same whatever N\n"
    "  --watch SECONDS  with --pid and heap stats: a JSON line per sample every SECONDS (0.5 works)\n"
    "  --count N        with --watch: stop after N samples\n"
    "  --html FILE      with --watch: also plot in-use, free and system bytes over time into FILE\n"
    "DEBUGINFOD_URLS set: debug files no directory has are fetched by build-id.\n";

// The value of option args[i]; advances i. Empty when there is none.
std::optional<std::string> option_value(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size() || args[i + 1].empty()) return std::nullopt;
  return args[++i];
}

// A directory option's value: it must name a directory (a typo would
// otherwise silently find nothing). Trailing slashes are dropped so that
// DIR + "/lib/..." stays one path.
std::optional<std::string> directory_value(std::string dir, std::string& error, const char* what) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = std::string(what) + " " + dir + ": not a directory";
    return std::nullopt;
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir == "/" ? std::string() : dir;
}

// `heapscope heap help`, `heapscope heap chunks --help`: help needs no core
// (a file named "heap" is still a core); any other command does. Returns
// nullopt when `words` does not start with a group.
std::optional<int> help_without_target(const std::vector<std::string>& words) {
  using namespace heapscope;
  if (words.empty() || (words[0] != "heap" && words[0] != "mems")) return std::nullopt;
  struct stat st;
  if (stat(words[0].c_str(), &st) == 0) return std::nullopt;
  const std::string& group = words[0];
  if (words.size() == 1 || words[1] == "help" || words[1] == "--help") {
    std::fputs(group_help(group).c_str(), stdout);
    return 0;
  }
  const CommandSpec* spec = find_command(group, words[1]);
  if (spec && std::find(words.begin() + 2, words.end(), "--help") != words.end()) {
    std::fputs(command_help(*spec).c_str(), stdout);
    return 0;
  }
  return usage_error("no core file or --pid given (try --help)");
}

// --color WHEN: "auto" colours a terminal unless NO_COLOR is set (no-color.org).
std::optional<bool> color_choice(const std::string& when) {
  if (when == "always") return true;
  if (when == "never") return false;
  if (when == "auto") {
    const char* no_color = std::getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !(no_color && *no_color);
  }
  return std::nullopt;
}

// --watch: heap stats every SECONDS, one JSON line each, the process
// stopped afresh for each sample.
int watch(int pid, heapscope::WatchOptions watch_options, const heapscope::SessionOptions& options) {
  using namespace heapscope;
  WatchSource source{[pid] { return open_live_process(pid, StopMode::kStopAndDetach); },
                     [pid] { return process_has_exited(pid); }};
  watch_options.title = "pid " + std::to_string(pid);
  CancelToken cancel;
  g_cancel = &cancel;
  std::signal(SIGINT, on_sigint);
  StdoutSink sink(true);
  WatchOutcome out = watch_heap(source, watch_options, options, cancel, sink,
                                [](const std::string& note) { std::fprintf(stderr, "%s\n", note.c_str()); });
  if (out.status != 0) return usage_error(out.error);
  if (!out.end_note.empty()) std::fprintf(stderr, "heapscope: %s\n", out.end_note.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace heapscope;
  std::vector<std::string> args(argv + 1, argv + argc);
  SessionOptions options;
  std::string core;
  int pid = 0;
  std::optional<WatchOptions> watch_options;
  std::optional<std::string> count_text, html;
  bool color = *color_choice("auto");
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
    } else if (a == "--sysroot" || a == "--debug-dir") {
      auto v = option_value(args, i);
      if (!v) return usage_error(a + " needs a directory");
      std::string error;
      auto dir = directory_value(*v, error, a.c_str());
      if (!dir) return usage_error(error);
      if (a == "--sysroot")
        options.sysroot = *dir;
      else if (!dir->empty())
        options.debug_dirs.push_back(*dir);
    } else if (a == "--color" || a.starts_with("--color=")) {
      std::optional<std::string> when = a == "--color" ? option_value(args, i) : a.substr(8);
      auto choice = when ? color_choice(*when) : std::nullopt;
      if (!choice) return usage_error("--color takes auto, always or never");
      color = *choice;
    } else if (a == "--threads") {
      // The scan reads HEAPSCOPE_THREADS: the option sets it for this run.
      auto v = option_value(args, i);
      unsigned n = 0;
      auto [end, ec] = v ? std::from_chars(v->data(), v->data() + v->size(), n) : std::from_chars_result{};
      if (!v || ec != std::errc() || end != v->data() + v->size() || n < 1 || n > 64)
        return usage_error("--threads takes a number from 1 to 64");
      setenv("HEAPSCOPE_THREADS", v->c_str(), 1);
    } else if (a == "--pid") {
      if (i + 1 >= args.size()) return usage_error("--pid needs a process id");
      auto parsed = parse_process_id(args[++i]);
      if (!parsed) return usage_error(parsed.error().message);
      pid = *parsed;
    } else if (a == "--watch") {
      auto v = option_value(args, i);
      if (!v) return usage_error("--watch needs a number of seconds");
      auto interval = parse_watch_interval(*v);
      if (!interval) return usage_error(interval.error().message);
      watch_options = WatchOptions{};
      watch_options->interval_seconds = *interval;
    } else if (a == "--count" || a == "--html") {
      auto v = option_value(args, i);
      if (!v) return usage_error(a + (a == "--count" ? " needs a number of samples" : " needs a file name"));
      (a == "--count" ? count_text : html) = *v;
    } else if (a.starts_with("-")) {
      return usage_error("unknown option '" + a + "' (try --help)");
    } else {
      break;
    }
  }
  if (watch_options && pid == 0) return usage_error("--watch samples a live process: give it --pid PID");
  if (pid == 0 && i < args.size() && args[i] == "diff") {
    // Two targets, not one: each side is opened and snapshotted in turn.
    CancelToken cancel;
    g_cancel = &cancel;
    std::signal(SIGINT, on_sigint);
    StdoutSink sink;
    CommandOutput out = run_diff_command({args.begin() + static_cast<long>(i) + 1, args.end()}, options, cancel, sink);
    std::fflush(stdout);
    if (out.status != 0) {
      usage_error(out.error);
      return out.status;
    }
    return 0;
  }
  if (pid == 0) {
    if (auto status = help_without_target({args.begin() + static_cast<long>(i), args.end()})) return *status;
    if (i >= args.size()) return usage_error("no core file or --pid given (try --help)");
    core = args[i++];
  }
  if (i >= args.size()) return usage_error("no command given (try --help)");
  std::string group = args[i++];
  if (group != "heap" && group != "mems")
    return usage_error("unknown command group '" + group + "' (expected heap or mems)");
  std::vector<std::string> command(args.begin() + static_cast<long>(i), args.end());
  if (watch_options) {
    if (group != "heap" || command.empty() || command[0] != "stats")
      return usage_error("--watch works with heap stats only, not '" + group +
                         (command.empty() ? "" : " " + command[0]) + "'");
    if (count_text) {
      try {
        watch_options->count = parse_uint(*count_text, "--count");
      } catch (const UserError& e) {
        return usage_error(e.message);
      }
      if (*watch_options->count == 0) return usage_error("--count must be at least 1");
    }
    // --html FILE may also follow the command, where heap map's is.
    for (size_t w = 1; w < command.size(); ++w) {
      if (command[w] != "--html") {
        watch_options->stats_args.push_back(command[w]);
      } else if (w + 1 < command.size()) {
        html = command[++w];
      } else {
        return usage_error("--html needs a file name");
      }
    }
    if (html) watch_options->html_file = *html;
    return watch(pid, *watch_options, options);
  }
  if (count_text || html) return usage_error("--count and --html (before the command) go with --watch");

  CoreFileOptions core_options;
  core_options.sysroot = options.sysroot;
  auto target = pid ? open_live_process(pid, StopMode::kStopAndDetach) : open_core_file(core, core_options);
  if (!target) return usage_error(target.error().message);

  Session session(std::move(*target), std::move(options));
  CancelToken cancel;
  g_cancel = &cancel;
  std::signal(SIGINT, on_sigint);
  StdoutSink sink;
  CommandOutput out = run_command(session, group, command, cancel, sink, {}, color);
  // What was written comes before the error line (a listing cut short).
  if (std::fflush(stdout) != 0 && out.status == 0)
    out = {2, "", std::string("cannot write the output: ") + std::strerror(errno)};
  // Notes explain a result; an error stays the one line it is.
  if (out.status == 0)
    for (const std::string& note : session.take_new_notes()) std::fprintf(stderr, "%s\n", note.c_str());
  if (out.status != 0) {
    usage_error(out.error);
    return out.status;
  }
  return out.found_problems ? 1 : 0;  // heap check / mems check found problems
}
