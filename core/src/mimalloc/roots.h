// Roots: where mimalloc's heap is in a target. Debian's libmimalloc.so.2
// exports only its API (no _mi_heap_main), so the segments are found by
// shape: every segment starts at a MI_SEGMENT_SIZE-aligned address of an
// anonymous mapping with a header whose cookie is its own address xor the
// main heap's cookie, one key for the whole process. The pages in the
// segments name their heaps (xheap); the version is read from the code of
// the exported mi_version() (`mov eax, MI_MALLOC_VERSION`). A mimalloc built
// into a program with its symbols is found by _mi_heap_main instead.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"
#include "mimalloc/layout.h"

namespace heapscope::mimalloc {

struct Roots {
  int version_code = 0;  // mi_version()'s answer read from its code, 0 when not found
  const Layout* layout = nullptr;
  bool version_known = false;
  uint64_t key = 0;            // _mi_heap_main.cookie: a segment's cookie is its address xor this
  Address main_heap;           // _mi_heap_main, when its symbol names it
  std::vector<Address> segments;  // address order
  std::vector<AddressRange> module_data;  // libmimalloc's writable data: where the main heap lives
  bool by_structure = true;
  std::vector<std::string> notes;  // what could not be found, one line each
};

// nullopt when no mimalloc is in the target, or when it is loaded but holds
// no segment (it never served an allocation).
std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel);

// The version as people write it: 209 -> "2.0.9".
std::string version_name(int code);

}  // namespace heapscope::mimalloc
