// Roots: where gperftools tcmalloc's global state is in a target. tcmalloc
// keeps it in statics of class tcmalloc::Static: the size map, the central
// free lists (with their transfer caches) and the page heap (with its page
// map). Debian's shared libraries export only a few of its C++ symbols
// (ThreadCache::thread_heaps_, threadcache_allocator, TCMalloc_SystemTaken),
// not these three, so they are found by shape in the library's data: the
// size map by its table of class sizes (0, 8, 16, ...), the central free
// lists as the array whose entry i says size class i, the page map as the
// array of leaves whose spans start at the pages they index. A static link
// (libtcmalloc_minimal.a) or a debug file names them all.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"
#include "tcmalloc/layout.h"

namespace heapscope::tcmalloc {

struct Roots {
  std::string module;        // the library's path, or the executable it is linked into
  std::string version;       // from TC_VERSION_STRING ("gperftools 2.10"), or ""
  const Layout* layout = nullptr;
  bool version_known = false;
  Address sizemap;           // tcmalloc::Static::sizemap_
  Address central_cache;     // tcmalloc::Static::central_cache_
  Address pageheap;          // tcmalloc::Static::pageheap_
  Address thread_heaps;      // &tcmalloc::ThreadCache::thread_heaps_, or null
  Address threadcache_allocator;  // &tcmalloc::threadcache_allocator, or null
  Address system_taken;      // &TCMalloc_SystemTaken, or null
  Address default_extension_vptr;  // what a MallocExtension object's first word holds, or null
  bool by_structure = false;
  std::vector<std::string> notes;  // what could not be found, one line each
};

// nullopt when no tcmalloc is in the target, or when it is loaded but was
// never initialised (its size map is still empty). Throws UserError when it
// was initialised but its statics cannot be found.
std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel);

}  // namespace heapscope::tcmalloc
