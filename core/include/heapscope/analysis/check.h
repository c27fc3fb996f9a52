// Heap check: every invariant glibc's own malloc checks enforce, verified on
// every chunk and every free list of a walked heap. Each violation is a
// CheckFinding naming the chunk, what is wrong, the message glibc would
// abort with when the program next touches it (glibc 2.36 malloc.c wording),
// and the likely cause (an overflow from the chunk before, a double free, a
// write after free).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/target.h"

namespace heapscope {

struct CheckFinding {
  std::string kind;           // e.g. "invalid-size", "tcache-double-free", "bin-link"
  Address address;            // the chunk header (or list slot) concerned
  int arena = -1;             // -1: not tied to one arena
  std::string glibc_message;  // what glibc would print; empty when glibc does not check it
  std::string detail;         // one line for people
  std::string cause;          // the likely cause
};

struct CheckReport {
  std::vector<CheckFinding> findings;  // address order
  uint64_t chunks_checked = 0;
  std::optional<uint64_t> tcache_key;  // as found (symbol, or the keys of real entries)
};

struct CheckOptions {
  std::optional<int> arena;                  // only this arena (and its tcaches)
  std::optional<uint64_t> tcache_key;        // glibc's tcache_key when a symbol gave it
};

CheckReport check_heap(const glibc::Heap& heap, const Target& target, const CheckOptions& options = {},
                       const CancelToken& cancel = CancelToken());

}  // namespace heapscope
