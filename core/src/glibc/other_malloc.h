// Which malloc a process uses when it is not glibc's: another allocator
// loaded (jemalloc, tcmalloc, mimalloc: LD_PRELOAD or linked), or musl's
// libc, dynamic or linked statically. Told from the modules mapped, the
// symbols, and for a stripped static musl program from its data.
#pragma once

#include <optional>
#include <string>

#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

struct OtherMalloc {
  std::string name;    // "jemalloc", "musl's mallocng"
  std::string where;   // "libjemalloc.so.2", "linked into the executable"
  bool replaces_libc;  // musl: there is no glibc at all
};

std::optional<OtherMalloc> find_other_malloc(const Target& target, const SymbolResolver& symbols);

// True for a file name of musl's libc or dynamic loader (they are one file).
bool is_musl_path(std::string_view path);

// "malloc in this process is jemalloc (libjemalloc.so.2); glibc's heap is unused"
std::string other_malloc_message(const OtherMalloc& m);

}  // namespace heapscope::glibc
