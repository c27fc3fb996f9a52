// Internal: each command family adds its entries to the table.
#pragma once

#include <vector>

#include "heapscope/command.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

void add_heap_commands(std::vector<CommandSpec>& table);
void add_mems_commands(std::vector<CommandSpec>& table);
void add_frag_commands(std::vector<CommandSpec>& table);
void add_leak_commands(std::vector<CommandSpec>& table);  // heap leaks, heap refs
void add_check_commands(std::vector<CommandSpec>& table);

// The value of a command's --arena option, checked against the heap's
// arenas; nullopt when the option is absent. Throws UserError.
std::optional<int> arena_option(const CommandContext& ctx, const glibc::Heap& heap);
// The --arena option as the heap commands describe it.
extern const OptionSpec kArenaOption;

}  // namespace heapscope
