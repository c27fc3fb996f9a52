// Roots: where jemalloc's global state is in a target. By symbol when the
// library has them (a debug file, a static build with its symbol table), and
// otherwise by shape: Debian's libjemalloc.so.2 exports only the malloc API,
// so the emap is found as the one 2 MiB array of its writable data whose
// entries point at leaves whose extents cover the very pages they index.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"
#include "jemalloc/layout.h"

namespace heapscope::jemalloc {

struct Roots {
  std::string version;      // JEMALLOC_VERSION as read from the library's data, or ""
  const Layout* layout = nullptr;
  bool version_known = false;
  Address emap;             // je_arena_emap_global
  Address b0;               // the first base (arena 0's), from the emap's header
  Address arenas;           // je_arenas, or null
  bool by_structure = false;
  std::vector<std::string> notes;  // what could not be found, one line each
};

// nullopt when no jemalloc is in the target, or when it is mapped but never
// initialised (loaded beside another malloc that serves the program): no
// word of its data points at an extent map leaf. Throws UserError when
// such pointers exist but no extent map fits them.
std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols,
                                const CancelToken& cancel);

// Decoding of one emap leaf word: the extent descriptor it points at.
inline Address leaf_edata(const Layout& l, uint64_t word) {
  return Address(word & ((uint64_t{1} << l.lg_vaddr) - 1) & ~(l.edata_alignment - 1));
}
inline unsigned leaf_state(const Layout& l, uint64_t word) {
  return unsigned(word >> l.leaf_state_shift) & ((1u << l.leaf_state_width) - 1);
}

// Entries of one rtree level, and the bytes of a leaf or of the root.
inline uint64_t rtree_entries(const Layout& l) { return uint64_t{1} << l.rtree_level_bits; }
inline uint64_t rtree_level_bytes(const Layout& l) { return rtree_entries(l) * 8; }

}  // namespace heapscope::jemalloc
