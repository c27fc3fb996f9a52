// Zsh completion for the CLI (#compdef heapscope), from the DocTable: the
// same words as the bash completion, with each command's and option's
// summary beside it.
#pragma once

#include <string>

#include "doc_table.h"

namespace heapscope::docgen {

std::string zsh_completion(const DocTable& table);

}  // namespace heapscope::docgen
