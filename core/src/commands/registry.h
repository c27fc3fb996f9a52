// Internal: each command family adds its entries to the table.
#pragma once

#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

void add_heap_commands(std::vector<CommandSpec>& table);
void add_mems_commands(std::vector<CommandSpec>& table);
void add_frag_commands(std::vector<CommandSpec>& table);
void add_leak_commands(std::vector<CommandSpec>& table);  // heap leaks, heap refs
void add_check_commands(std::vector<CommandSpec>& table);
void add_sites_commands(std::vector<CommandSpec>& table);  // heap sites (libheapscope-record)

// The value of a command's --arena option, checked against the heap's
// arenas; nullopt when the option is absent. Throws UserError.
std::optional<int> arena_option(const CommandContext& ctx, const glibc::Heap& heap);
// The --arena option as the heap commands describe it.
extern const OptionSpec kArenaOption;

// How many problems heap check finds in the whole heap (every heap command's
// JSON says it), and a text answer with the warning line added when there
// are any. Both run the session's cached heap check.
size_t heap_problems(CommandContext& ctx);
std::string with_findings_footer(CommandContext& ctx, std::string text);
// The warning line alone, written to ctx.out after a streamed text listing.
void write_findings_footer(CommandContext& ctx);

// A runner whose answer is small (a summary, one chunk) renders it whole;
// this writes it. Listings write to ctx.out as they go instead.
using WholeRunner = std::string (*)(CommandContext&);
inline std::function<void(CommandContext&)> rendered_whole(WholeRunner run) {
  return [run](CommandContext& ctx) { ctx.out.write(run(ctx)); };
}

}  // namespace heapscope
