#include "commands/registry.h"

namespace heapscope {
void add_heap_commands(std::vector<CommandSpec>&) {}
}  // namespace heapscope
