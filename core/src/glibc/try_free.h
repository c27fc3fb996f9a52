// try_free: what glibc's free() would do with a pointer, read-only. free()'s
// checks are run in the order __libc_free and _int_free run them, for the
// target's glibc version, each on the words free() itself would read; the
// first that fails gives glibc's exact abort message, and when all pass the
// answer is where the chunk would go: a tcache bin (with its count), a
// fastbin, the unsorted bin after merging with free neighbours, the top
// chunk, or munmap. Nothing is written and no code runs in the target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/glibc/heap.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

struct TryFreeInputs {
  // glibc 2.34+: tcache_key (libc's static, or as heap check inferred it);
  // 2.29..2.33 use the thread's tcache address instead. nullopt: unknown.
  std::optional<uint64_t> tcache_key;
  // global_max_fast when libc's symbols give it; else glibc's default.
  std::optional<uint64_t> max_fast;
  // The thread that would call free() (its tcache); 0: the target's first
  // thread (in a core, the one that crashed).
  int tid = 0;
  uint64_t page_size = 4096;
};

struct TryFreeCheck {
  std::string name;    // what glibc checks, in its words
  bool passed = true;
  std::string detail;  // the values it compared
};

enum class TryFreeOutcome : uint8_t {
  kNothing,   // free(NULL)
  kAbort,     // a check fails: glibc prints `message` and aborts
  kCrash,     // free() reads memory that is not mapped (SIGSEGV)
  kTcache,    // into tcache bin `bin` of thread `tid`
  kFast,      // onto fastbin `bin` of arena `arena`
  kUnsorted,  // into the unsorted bin, after merging: [merged, merged + merged_size)
  kTop,       // merged into the top chunk, which then starts at `merged`
  kMunmap,    // an mmapped chunk: munmap(merged, merged_size)
};
std::string_view try_free_outcome_name(TryFreeOutcome o);  // "abort", "tcache", ...

struct TryFreeReport {
  Address pointer;
  Address chunk;
  std::optional<uint64_t> size_field;  // raw, as read
  uint64_t size = 0;                   // chunksize()
  std::string version;                 // glibc's
  std::string known_state;             // the walk's state of the chunk at `chunk`, "" when none starts there
  int arena = -1;
  std::vector<TryFreeCheck> checks;    // in glibc's order, up to the one that decides
  TryFreeOutcome outcome = TryFreeOutcome::kNothing;
  std::string message;                 // kAbort: glibc's message; kCrash: what it reads
  int bin = -1;                        // tcache or fastbin index
  int tid = 0;                         // kTcache: the thread
  uint64_t count = 0, capacity = 0;    // kTcache: the bin's count before, mp_.tcache_count
  Address merged;                      // kUnsorted/kTop/kMunmap: the resulting chunk or mapping
  uint64_t merged_size = 0;
  std::vector<std::string> notes;      // what free() does next (consolidation, trimming, threshold)
};

TryFreeReport try_free(const Heap& heap, const Target& target, Address pointer, const TryFreeInputs& inputs);

}  // namespace heapscope::glibc
