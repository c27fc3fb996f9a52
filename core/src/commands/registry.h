// Internal: each command family adds its entries to the table.
#pragma once

#include <string>
#include <vector>

#include "heapscope/analysis/leaks.h"
#include "heapscope/command.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

void add_heap_commands(std::vector<CommandSpec>& table);
void add_mems_commands(std::vector<CommandSpec>& table);
void add_frag_commands(std::vector<CommandSpec>& table);
void add_leak_commands(std::vector<CommandSpec>& table);  // heap leaks, heap refs
// heap leaks' classes of h's blocks, computed over the union of every heap in the target.
LeakAnalysis leaks_in_union(CommandContext& ctx, const HeapModel& h);
void add_check_commands(std::vector<CommandSpec>& table);
void add_arena_commands(std::vector<CommandSpec>& table);  // heap arena
void add_mp_commands(std::vector<CommandSpec>& table);     // heap mp
void add_sites_commands(std::vector<CommandSpec>& table);  // heap sites (libheapscope-record)
void add_try_free_commands(std::vector<CommandSpec>& table);  // heap try-free
void add_allocator_commands(std::vector<CommandSpec>& table);  // heap allocator

// The generic commands' --allocator option, and the model they read: the
// one it names, else the one `heap allocator NAME` chose, else the session's
// default (glibc's when present). Throws UserError when it is not there.
extern const OptionSpec kAllocatorOption;
const HeapModel& model_option(CommandContext& ctx);
// The model --allocator or `heap allocator NAME` names; nullptr when neither does.
const HeapModel* named_model_option(CommandContext& ctx);
void add_snapshot_commands(std::vector<CommandSpec>& table);  // heap snapshot, heap diff
// heap bins on a tcmalloc target (its size classes' free lists); false when tcmalloc is not the heap.
bool run_tcmalloc_bins(CommandContext& ctx);

// The arena `heap arena I` chose (nullopt: every arena); arena_option falls
// back to it when a command has no --arena.
std::optional<uint64_t>& default_arena();

// The value of a command's --arena option, or else the default arena,
// checked against the heap's arenas; nullopt for every arena. Throws UserError.
std::optional<int> arena_option(const CommandContext& ctx, const glibc::Heap& heap);
// Throws "no arena I (the heap has N arenas: 0..N-1)" + `why` when the
// heap has no arena `index`.
void check_arena_index(const glibc::Heap& heap, uint64_t index, std::string_view why = "");
// The --arena option as the heap commands describe it.
extern const OptionSpec kArenaOption;

// How many problems heap check finds in the whole heap (every heap command's
// JSON says it), and a text answer with the warning line added when there
// are any. Both run the session's cached heap check.
size_t heap_problems(CommandContext& ctx);
// `shown`: where the command listed the problems itself (heap chunk's chunk).
std::string with_findings_footer(CommandContext& ctx, std::string text, AddressRange shown = {});
// The warning line alone, written to ctx.out after a streamed text listing.
void write_findings_footer(CommandContext& ctx);

// heap chunk ADDR on another allocator's model: the block that holds ADDR,
// or a UserError saying what is there instead.
std::string describe_block(CommandContext& ctx, const HeapModel& model, Address asked);
// --dump [N]: the first N bytes from `data` (default all, up to 256), never
// past `end`; nullopt without --dump.
std::optional<std::vector<unsigned char>> dump_option(CommandContext& ctx, Address data, Address end);

// A runner whose answer is small (a summary, one chunk) renders it whole;
// this writes it. Listings write to ctx.out as they go instead.
using WholeRunner = std::string (*)(CommandContext&);
inline std::function<void(CommandContext&)> rendered_whole(WholeRunner run) {
  return [run](CommandContext& ctx) { ctx.out.write(run(ctx)); };
}

}  // namespace heapscope
