// Bash completion for the CLI, from the DocTable: the CLI's options, the core
// file, the groups, each group's commands, each command's options and the
// values its table lists (option choices, positional choices, paths).
#pragma once

#include <string>

#include "doc_table.h"

namespace heapscope::docgen {

std::string bash_completion(const DocTable& table);

}  // namespace heapscope::docgen
