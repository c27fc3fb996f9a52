// Finding glibc's malloc roots in a target: the libc version, main_arena and
// mp_, by symbol when the symbols are there and by structure when not.
#pragma once

#include <optional>
#include <string>

#include "heapscope/glibc/layout.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

struct LibcVersion {
  int major = 0, minor = 0;
  std::string text;  // "2.36"
};

// From the "release version X.Y" banner inside libc's read-only data.
std::optional<LibcVersion> read_libc_version(const Target& target);

struct Roots {
  Address main_arena;
  Address mp;
  bool by_symbols = false;
};

// Throws UserError with a one-line reason when the roots cannot be found.
Roots locate_roots(const Target& target, const SymbolResolver& symbols, const Layout& layout);

// Structural checks shared by the locator and its tests.
bool looks_like_main_arena(const Target& target, const Layout& layout, Address a);
bool looks_like_mp(const Target& target, const Layout& layout, Address a, Address main_top);

}  // namespace heapscope::glibc
