// `heap snapshot save NAME [--file PATH]` and `heap diff A B`: snapshots
// kept for the debugger session (and in files), and what changed between
// two of them. `heapscope diff` (heap_diff.h) shares snapshot_of.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "commands/snapshot_of.h"
#include "heapscope/analysis/snapshot_diff.h"
#include "render/diff_render.h"

namespace heapscope {
namespace {

constexpr size_t kTextRows = 10;

// Kept for the life of the debugger, across stops and runs: the point is
// to compare one stop with a later one.
std::map<std::string, HeapSnapshot>& saved_snapshots() {
  static std::map<std::string, HeapSnapshot> saved;
  return saved;
}

void run_snapshot(CommandContext& ctx) {
  const std::string& name = ctx.args.positional.at(1);
  HeapSnapshot s = snapshot_of(ctx.session, ctx.cancel, name, "saved snapshot " + name);
  std::string file = ctx.args.get("--file").value_or("");
  if (!file.empty()) write_snapshot_file(s, file);
  saved_snapshots()[name] = s;
  if (ctx.args.json()) snapshot_saved_json(ctx.out, s, file);
  else snapshot_saved_text(ctx.out, s, file);
}

// A saved snapshot's name, else a snapshot file.
HeapSnapshot named_snapshot(const std::string& what) {
  auto it = saved_snapshots().find(what);
  if (it != saved_snapshots().end()) return it->second;
  std::ifstream f(what, std::ios::binary);
  if (!f) {
    std::string names;
    for (const auto& [n, _] : saved_snapshots()) names += (names.empty() ? "" : ", ") + n;
    throw UserError{fmt::format("no snapshot named {} and no such file (saved: {})", what,
                                names.empty() ? "none; heap snapshot save NAME" : names)};
  }
  std::stringstream text;
  text << f.rdbuf();
  return parse_snapshot(text.str(), what);
}

void run_diff(CommandContext& ctx) {
  HeapSnapshot before = named_snapshot(ctx.args.positional.at(0));  // A's error first
  SnapshotDiff d = diff_snapshots(before, named_snapshot(ctx.args.positional.at(1)));
  write_diff(ctx, d);
}

}  // namespace

void write_diff(CommandContext& ctx, const SnapshotDiff& d) {
  if (ctx.args.json()) diff_json(ctx.out, d);
  else diff_text(ctx.out, d, ctx.args.get_uint("--limit").value_or(kTextRows));
}

void add_snapshot_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "snapshot", "Save a snapshot of the heap, for heap diff",
               "heap snapshot save NAME [--file PATH] [--json]",
               "A snapshot keeps live bytes per size class, per C++ type (from vtables) and per\n"
               "allocation site (when libheapscope-record is in the process), free and system\n"
               "bytes, and the leaked blocks (as heap leaks finds them). It is kept under NAME for\n"
               "this debugger session; --file also writes it as JSON, which heap diff and\n"
               "`heapscope diff` read.",
               {{"--file", "PATH", "also write the snapshot to PATH (JSON)", ValueKind::kFile}},
               2, 2, run_snapshot, {{"ACTION", ValueKind::kChoice, {"save"}}, {"NAME"}}});
  t.push_back({"heap", "diff", "Show what grew and shrank between two snapshots, and new and gone leaks",
               "heap diff A B [--limit N] [--json]",
               "A and B are names of snapshots saved in this session (heap snapshot save) or snapshot\n"
               "files. Changes by size class, by C++ type and by allocation site (when both were\n"
               "recorded), largest first; leaks in B and not in A are new, in A and not in B gone.\n"
               "The CLI compares cores and live processes directly: heapscope diff A B, where A and\n"
               "B are core files, snapshot files or --pid PID.",
               {{"--limit", "N", "print at most N rows of each table (text: 10)", ValueKind::kNumber}},
               2, 2, run_diff, {{"A", ValueKind::kFile}, {"B", ValueKind::kFile}}});
}

}  // namespace heapscope
