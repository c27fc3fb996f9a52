// analyze_union_leaks: heap leaks' marking over the objects of every heap
// in the target at once (glibc chunks, MeMS segments and pool blocks,
// jemalloc regions, ...). One heap alone goes to analyze_leaks unchanged
// (its speed and its answers); several share one graph: a pointer into any
// heap's object counts, a MeMS virtual address counts for the PROCESS
// segment it translates to (mems::try_translate, as mems_get), and what any
// allocator got from the system (plus the mems allocators' own pages) is no
// root. The phases are analyze_leaks': start pointers from roots reach,
// seeds of interior pointers make the possible, and the unreached split
// into direct and indirect over the leaked graph in address order.
#include <algorithm>

#include "analysis/pointer_scan.h"
#include "analysis/union_index.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/mems_leaks.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/mems/model.h"
#include "heapscope/mems/stats.h"

namespace heapscope {

namespace {

using analysis::kNoNode;
using analysis::UnionIndex;
using analysis::allocators_memory;

enum Mark : uint8_t { kNot, kUnvisited, kSeed, kReach, kPoss };

}  // namespace

UnionLeakAnalysis analyze_union_leaks(const Target& target, std::vector<const HeapModel*> models,
                                      const CancelToken& cancel) {
  UnionLeakAnalysis out;
  out.models = std::move(models);
  const auto& ms = out.models;
  if (ms.size() == 1) {
    out.per_model.push_back(analyze_leaks(target, *ms[0], cancel));
    return out;
  }
  UnionIndex index(ms);
  const uint32_t total = index.size();
  std::vector<uint8_t> mark(total, kUnvisited);
  for (uint32_t g = 0; g < total; ++g)
    if (!index.is_node(g)) mark[g] = kNot;
  auto scan = [&](uint32_t g, auto& visit) {
    const size_t m = index.model_of(g);
    analysis::for_each_chunk_word(target, *ms[m], ms[m]->blocks[g - index.first(m)], cancel, visit);
  };
  std::vector<uint32_t> queue;
  auto drain = [&](auto& visit) {
    uint64_t scanned = 0;
    while (!queue.empty()) {
      const uint32_t g = queue.back();
      queue.pop_back();
      if ((++scanned & 0xfff) == 0) check_cancel(cancel);
      scan(g, visit);
    }
  };

  // Phase 1: start pointers reach, interior ones seed.
  auto definite = [&](uint64_t, uint64_t v) {
    bool start;
    const uint32_t g = index.find(v, &start);
    if (g == kNoNode) return;
    uint8_t& k = mark[g];
    if (start) {
      if (k == kUnvisited || k == kSeed) k = kReach, queue.push_back(g);
    } else if (k == kUnvisited) {
      k = kSeed;
    }
  };
  const std::vector<AddressRange> owned = allocators_memory(ms);
  Roots roots = find_roots(target, *ms[0], owned);
  for (size_t m = 1; m < ms.size(); ++m) {  // DTVs are malloc'ed from whichever heap the process uses
    Roots more = find_roots(target, *ms[m], owned);
    roots.internal.insert(roots.internal.end(), more.internal.begin(), more.internal.end());
  }
  // glibc's own start pointers kept beside an aligned object (see analyze_leaks).
  auto from_root = [&](uint64_t where, uint64_t v) {
    bool start;
    const uint32_t g = index.find(v, &start);
    if (g != kNoNode && !start) {
      const size_t m = index.model_of(g);
      if (dynamic_cast<const glibc::Heap*>(ms[m])) {
        const Block& c = index.block(g);
        const uint64_t data = glibc::chunk_data(c).value;
        if (auto to_free = target.read_u64(Address(v + 8)); to_free && *to_free == data) v = data;
        else if (!roots.thread_pointers_known && dtv_shaped(target, c, v)) v = data;
      }
    }
    definite(where, v);
  };
  for (const auto& r : roots.registers) definite(0, r.value);
  for (const auto& r : roots.internal) definite(0, r.chunk_data.value);
  for (const auto& r : roots.ranges) for_each_word(target, r.range, cancel, from_root);
  drain(definite);

  // Phase 2: from the seeds, any pointer reaches: all of it is possible.
  auto possible = [&](uint64_t, uint64_t v) {
    bool start;
    const uint32_t g = index.find(v, &start);
    if (g == kNoNode) return;
    if (mark[g] == kUnvisited || mark[g] == kSeed) mark[g] = kPoss, queue.push_back(g);
  };
  for (uint32_t g = 0; g < total; ++g)
    if (mark[g] == kSeed) mark[g] = kPoss, queue.push_back(g);
  drain(possible);

  // Phase 3: the leaked graph, its vertices in address order (the heaps
  // do not overlap), so a leaked cycle's direct member is its lowest.
  std::vector<uint32_t> leaked;
  for (uint32_t g = 0; g < total; ++g)
    if (mark[g] == kUnvisited) leaked.push_back(g);
  std::sort(leaked.begin(), leaked.end(),
            [&](uint32_t a, uint32_t b) { return index.block(a).address < index.block(b).address; });
  std::vector<uint32_t> position(total, kNoNode);
  for (size_t k = 0; k < leaked.size(); ++k) position[leaked[k]] = static_cast<uint32_t>(k);
  std::vector<uint32_t> first(leaked.size() + 1), edges;
  for (size_t k = 0; k < leaked.size(); ++k) {
    first[k] = static_cast<uint32_t>(edges.size());
    auto edge = [&](uint64_t, uint64_t v) {
      bool start;
      const uint32_t g = index.find(v, &start);
      if (g == kNoNode || position[g] == kNoNode || g == leaked[k]) return;
      edges.push_back(position[g]);
    };
    scan(leaked[k], edge);
  }
  first[leaked.size()] = static_cast<uint32_t>(edges.size());
  const std::vector<uint8_t> direct = analysis::direct_members(first, edges, cancel);

  // Each heap's result, in analyze_leaks' shape.
  for (size_t m = 0; m < ms.size(); ++m) {
    const auto& blocks = ms[m]->blocks;
    LeakAnalysis a;
    a.classes.assign(blocks.size(), LeakClass::kNotNode);
    a.maybe_typed.assign((blocks.size() + 63) / 64, ~uint64_t{0});  // not probed: every block may be typed
    for (uint32_t i = 0; i < blocks.size(); ++i) {
      const uint32_t g = index.first(m) + i;
      LeakClass c = LeakClass::kNotNode;
      switch (mark[g]) {
        case kReach: c = LeakClass::kReachable, a.reachable.add(blocks[i].size); break;
        case kPoss: c = LeakClass::kPossible, a.possible.add(blocks[i].size); break;
        case kUnvisited:
          if (direct[position[g]]) c = LeakClass::kDirect, a.direct.add(blocks[i].size);
          else c = LeakClass::kIndirect, a.indirect.add(blocks[i].size);
          break;
        default: break;
      }
      a.classes[i] = c;
      if (c == LeakClass::kPossible || c == LeakClass::kDirect || c == LeakClass::kIndirect) a.listed.push_back(i);
    }
    out.per_model.push_back(std::move(a));
  }
  return out;
}

}  // namespace heapscope
