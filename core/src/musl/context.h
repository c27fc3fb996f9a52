// Context: where mallocng's one global state, __malloc_context, is in a
// target. By symbol when the module that links musl has its symbol table
// (a static program that was not stripped); otherwise by shape, in the data
// of musl's libc.so (Debian's has no symbol table: a debug file for it
// would name the context) or of a static program: a word (the secret) whose
// meta area list, a few words further on, leads to pages that start with
// that same word.
#pragma once

#include <optional>
#include <string>

#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::musl {

struct Context {
  Address at;               // __malloc_context
  bool by_structure = false;
  bool initialised = false;  // malloc ran at least once (init_done)
  std::string module;       // the file musl is part of
};

// nullopt when no musl is in the target, or when musl is there but never
// allocated (its context is still all zero). Throws UserError when musl's
// libc is mapped, has allocated, and no context fits.
std::optional<Context> find_context(const Target& target, const SymbolResolver& symbols,
                                    const CancelToken& cancel);

}  // namespace heapscope::musl
