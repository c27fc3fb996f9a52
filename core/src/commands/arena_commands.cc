// `heap arena [I|none]`: the arena the heap commands look at when they are
// given no --arena (gef's `heap set-arena`). It lives as long as the
// debugger session, across stops and targets, so it is kept here rather
// than in a Session (gdb and lldb drop those whenever the program runs).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands/registry.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

std::optional<uint64_t>& default_arena() {
  static std::optional<uint64_t> arena;
  return arena;
}

namespace {

std::string run_arena(CommandContext& ctx) {
  if (!ctx.args.positional.empty()) {
    const std::string& v = ctx.args.positional[0];
    if (v == "none") {
      default_arena().reset();
    } else {
      uint64_t i = parse_uint(v, "ARENA");
      check_arena_index(ctx.session.glibc_heap(ctx.cancel), i);
      default_arena() = i;
    }
  }
  const auto& a = default_arena();
  if (ctx.args.json())
    return nlohmann::json{{"default_arena", a ? nlohmann::json(*a) : nlohmann::json(nullptr)}}.dump() + "\n";
  return a ? fmt::format("default arena: {} (used when --arena is absent; 'heap arena none' clears it)\n", *a)
           : std::string("default arena: none (every arena unless --arena I)\n");
}

}  // namespace

void add_arena_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "arena", "Show or set the arena the heap commands use when --arena is absent",
               "heap arena [I|none] [--json]",
               "Like gef's heap set-arena: after 'heap arena 1', heap chunks, bins, check, frag, pages, map\n"
               "and stats look at arena 1 unless given --arena. 'heap arena none' goes back to every arena.\n"
               "It lasts for the debugger session (across stops); the CLI runs one command, so there it\n"
               "only checks the index.",
               {}, 0, 1, rendered_whole(run_arena), {{"I", ValueKind::kText}}});
}

}  // namespace heapscope
