#include "commands/registry.h"

namespace heapscope {
// The mems commands arrive with the mems model.
void add_mems_commands(std::vector<CommandSpec>&) {}
}  // namespace heapscope
