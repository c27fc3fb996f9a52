// Finding glibc's malloc roots in a target: where glibc lives (libc.so, or
// the executable when linked statically), its version and layout, main_arena
// and mp_, by symbol when the symbols are there and by structure when not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/glibc/layout.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

struct LibcVersion {
  int major = 0, minor = 0;
  std::string text;  // "2.36", or "2.35-2.41" when told from the layout only
};

// The mappings glibc's code and data live in.
struct LibcImage {
  std::string module;  // a part of the module's file name, for symbol lookups
  bool linked_statically = false;
  std::vector<const Region*> regions;
};

// The writable mappings of the file at `path` and the anonymous bss right
// after each (capped: a module's statics are KiBs to MiBs).
std::vector<AddressRange> module_data_ranges(const Target& target, std::string_view path);

// libc.so's mappings, or those of the executable glibc is linked into.
std::optional<LibcImage> find_libc_image(const Target& target);

// From the "release version X.Y" banner inside libc's read-only data (a
// static executable has none: csu/version.o is linked only when asked for).
std::optional<LibcVersion> read_libc_version(const Target& target, const LibcImage& image);

struct Roots {
  Address main_arena;
  Address mp;
  bool by_symbols = false;
};

// Everything the walk starts from.
struct Located {
  LibcImage image;
  LibcVersion version;
  LayoutMatch layout;
  Roots roots;
};

// Throws UserError with a one-line reason when there is no glibc heap to
// walk: no glibc, another allocator in its place, or malloc never used.
Located locate_glibc(const Target& target, const SymbolResolver& symbols);

// Structural checks shared by the locator and its tests: what glibc relies
// on, whatever the bins hold.
// extent_matches: also that top's end minus system_mem lies in top's mapping.
bool looks_like_main_arena(const Target& target, const Layout& layout, Address a, bool extent_matches = true);
// `next` leads from a back to a within kMaxArenas steps.
bool ring_closes(const Target& target, const Layout& layout, Address a);
bool looks_like_mp(const Target& target, const Layout& layout, Address a, Address main_top);

}  // namespace heapscope::glibc
