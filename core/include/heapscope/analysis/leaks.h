// Leaks: which in-use chunks no root reaches, valgrind's way.
//   reachable  reached from a root through start pointers only
//   possible   reached, but every path uses an interior pointer
//   direct     not reached, and no other leaked chunk points to it; in a leaked
//              group with no pointer from outside (a cycle), the member with the
//              lowest address is direct, so every leak has a place to start
//   indirect   not reached, pointed to by leaked chunks only
// Free chunks (tcache, fast, bins, top) and allocator metadata are neither
// scanned nor nodes: stale pointers in freed memory keep nothing alive.
#pragma once

#include <cstdint>
#include <vector>

#include "heapscope/analysis/stats.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/target.h"

namespace heapscope {

enum class LeakClass : uint8_t { kNotNode, kReachable, kPossible, kDirect, kIndirect };
std::string_view leak_class_name(LeakClass c);  // "-", "reachable", "possible", "direct", "indirect"

struct LeakAnalysis {
  std::vector<LeakClass> classes;  // one per heap.blocks entry
  Tally reachable, possible, direct, indirect;
  std::vector<uint32_t> listed;    // indices of possible and leaked chunks, address order
  // Bit i set: chunk i's first word points into a module (it may be a
  // vtable pointer). Clear: it names no type (TypeNamer need not read it).
  std::vector<uint64_t> maybe_typed;
  Tally leaked() const {
    Tally t = direct;
    t.add(indirect);
    return t;
  }
};

// `heap` is any allocator's model (glibc::Heap is one).
LeakAnalysis analyze_leaks(const Target& target, const HeapModel& heap, const CancelToken& cancel);

// The leaks of every heap in the target at once: one graph over all their
// objects, so a block's class is the same whichever heap's leaks are shown.
// A pointer into any heap counts, and so does a MeMS virtual address inside
// a PROCESS segment; no allocator's memory is a root. One heap alone is
// analyze_leaks' answer.
struct UnionLeakAnalysis {
  std::vector<const HeapModel*> models;  // as given (Session::heap_models order)
  std::vector<LeakAnalysis> per_model;   // one per models entry, over its blocks
  Tally total(Tally LeakAnalysis::*field) const {
    Tally t;
    for (const auto& a : per_model) t.add(a.*field);
    return t;
  }
};
UnionLeakAnalysis analyze_union_leaks(const Target& target, std::vector<const HeapModel*> models,
                                      const CancelToken& cancel);

}  // namespace heapscope
