// heapscope diff A B: each side a core, a snapshot file or --pid PID.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "commands/snapshot_of.h"
#include "heapscope/core_file.h"
#include "heapscope/heap_diff.h"
#include "heapscope/live_process.h"
#include "heapscope/process_id.h"
#include "render/diff_render.h"

namespace heapscope {
namespace {

constexpr size_t kTextRows = 10;

// A snapshot file starts with '{'; anything else is a core.
bool is_snapshot_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char c = 0;
  return f && f.get(c) && c == '{';
}

HeapSnapshot side_snapshot(const std::vector<std::string>& side, const SessionOptions& options,
                           const CancelToken& cancel) {
  if (side[0] == "--pid") {
    auto pid = parse_process_id(side[1]);
    if (!pid) throw UserError{pid.error().message};
    auto target = open_live_process(*pid, StopMode::kStopAndDetach);
    if (!target) throw UserError{target.error().message};
    Session session(std::move(*target), options);
    return snapshot_of(session, cancel, "pid " + side[1], "pid " + side[1]);
  }
  const std::string& path = side[0];
  if (is_snapshot_file(path)) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    HeapSnapshot s = parse_snapshot(text.str(), path);
    if (s.name.empty()) s.name = path;
    return s;
  }
  CoreFileOptions core_options;
  core_options.sysroot = options.sysroot;
  auto target = open_core_file(path, core_options);
  if (!target) throw UserError{target.error().message};
  Session session(std::move(*target), options);
  return snapshot_of(session, cancel, path, "core " + path);
}

}  // namespace

CommandOutput run_diff_command(const std::vector<std::string>& args, const SessionOptions& options,
                               const CancelToken& cancel, OutputSink& sink) {
  CommandOutput result;
  try {
    std::vector<std::vector<std::string>> sides;
    bool json = false;
    size_t rows = kTextRows;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--json") {
        json = true;
      } else if (args[i] == "--limit") {
        if (i + 1 >= args.size()) throw UserError{"--limit needs a number"};
        rows = parse_uint(args[++i], "--limit");
      } else if (args[i] == "--pid") {
        if (i + 1 >= args.size()) throw UserError{"--pid needs a process id"};
        sides.push_back({args[i], args[i + 1]});
        ++i;
      } else if (args[i].starts_with("-")) {
        throw UserError{fmt::format("diff: unknown option '{}' (diff A B [--limit N] [--json])", args[i])};
      } else {
        sides.push_back({args[i]});
      }
    }
    if (sides.size() != 2)
      throw UserError{"diff takes two sides: core files, snapshot files or --pid PID (diff A B [--json])"};
    HeapSnapshot before = side_snapshot(sides[0], options, cancel);
    HeapSnapshot after = side_snapshot(sides[1], options, cancel);
    SnapshotDiff d = diff_snapshots(before, after);
    OutputWriter out(sink);
    if (json) diff_json(out, d);
    else diff_text(out, d, rows);
    out.flush();
  } catch (const UserError& e) {
    result.status = 2;
    result.error = e.message;
  } catch (const Cancelled&) {
    result.status = 130;
    result.error = "interrupted";
  }
  return result;
}

}  // namespace heapscope
