// analyze_leaks: mark from the roots (start pointers first, then the
// interior-only rest), then split the unmarked nodes into direct and
// indirect leaks the way valgrind's memcheck does.
//
// The marking (one thread or several) is LeakMarking's; the result is the
// same bytes whatever the thread count.
#include "heapscope/analysis/leaks.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "analysis/leak_marking.h"
#include "analysis/pointer_scan.h"
#include "analysis/scan_threads.h"
#include "heapscope/analysis/refs.h"

namespace heapscope {

std::string_view leak_class_name(LeakClass c) {
  switch (c) {
    case LeakClass::kNotNode: return "-";
    case LeakClass::kReachable: return "reachable";
    case LeakClass::kPossible: return "possible";
    case LeakClass::kDirect: return "direct";
    case LeakClass::kIndirect: return "indirect";
  }
  return "?";
}

namespace {

using analysis::kNoNode;
using analysis::kPoss;
using analysis::kReach;
using analysis::kUnvisited;

}  // namespace

LeakAnalysis analyze_leaks(const Target& target, const HeapModel& heap, const CancelToken& cancel) {
  return analyze_leaks(target, heap, cancel, LeakScanOptions{});
}

LeakAnalysis analyze_leaks(const Target& target, const HeapModel& heap, const CancelToken& cancel,
                           const LeakScanOptions& options) {
  const unsigned threads = analysis::scan_threads(target, options.threads);
  const auto& cs = heap.blocks;
  analysis::NodeIndex index(heap);
  analysis::ChunkWords words(target, heap, index);
  LeakAnalysis out;
  {
    // Where vtables can be: the modules' mappings.
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const auto& r : target.regions())
      if (!r.path.empty() && r.path[0] == '/') lo = std::min(lo, r.range.begin.value), hi = std::max(hi, r.range.end.value);
    out.maybe_typed.assign((cs.size() + 63) / 64, 0);
    if (lo < hi) words.probe_first_words(lo, hi - lo, &out.maybe_typed, threads > 1);
  }
  // The marks, then the classes (LeakClass values) in the same bytes.
  std::vector<LeakClass> classes(cs.size());
  uint8_t* mark = reinterpret_cast<uint8_t*>(classes.data());  // LeakClass is one byte
  static_assert(sizeof(LeakClass) == 1 && static_cast<uint8_t>(LeakClass::kNotNode) == kUnvisited);
  auto marking = std::make_unique<analysis::LeakMarking>(heap, index, words, mark, threads, options.queue_limit,
                                                          cancel);

  // Phase 1: start pointers from roots and from reachable chunks make
  // chunks reachable; an interior pointer from them only makes a seed.
  auto definite = [&](uint64_t, uint64_t v) { marking->definite(v); };
  // glibc over-allocates to align some of its objects and keeps the
  // malloc'ed start in the object's second word (`to_free`: ld.so's
  // dl_find_object segments, held by _dlfo_loaded_mappings): a root's
  // pointer to such an object is glibc's own start pointer. So is a
  // thread's pointer into its DTV when the thread pointer that would name
  // it exactly is unknown.
  Roots roots = find_roots(target, heap, index.owned());
  const bool glibc = dynamic_cast<const glibc::Heap*>(&heap) != nullptr;
  auto from_root = [&](uint64_t where, uint64_t v) {
    bool start;
    uint32_t n = index.find(v, &start);
    if (glibc && n != kNoNode && !start) {
      const uint64_t data = glibc::chunk_data(cs[n]).value;
      if (auto to_free = target.read_u64(Address(v + 8)); to_free && *to_free == data) v = data;
      else if (!roots.thread_pointers_known && dtv_shaped(target, cs[n], v)) v = data;
    }
    definite(where, v);
  };
  for (const auto& r : roots.registers) definite(0, r.value);
  for (const auto& r : roots.internal) definite(0, r.chunk_data.value);
  for (const auto& r : roots.ranges) for_each_word(target, r.range, cancel, from_root);
  marking->drain(true);

  // Phase 2: from the seeds, any pointer reaches: all of it is possible.
  marking->seeds_to_possible();
  marking->drain(false);
  marking.reset();  // its queues and the other threads' lookups

  // One pass over the marks: reached nodes get their class (never 0, so
  // from here a node whose byte is 0 is leaked) and are counted, the leaked
  // ones are listed.
  // Only the unreached chunks are read (free ones, or leaks).
  std::vector<uint32_t> leaked;
  for (uint32_t i = 0; i < cs.size(); ++i) {
    switch (mark[i]) {
      case kReach:
        mark[i] = static_cast<uint8_t>(LeakClass::kReachable);
        out.reachable.add(cs[i].size);
        break;
      case kPoss:
        mark[i] = static_cast<uint8_t>(LeakClass::kPossible);
        out.possible.add(cs[i].size);
        break;
      case kUnvisited:
        if (index.is_node(i)) leaked.push_back(i);
        break;
      default: break;
    }
  }

  // Phase 3: the leaked subgraph (any pointer, start or interior) as CSR
  // arrays over leaked positions: only the leaked chunks are scanned again.
  std::vector<uint32_t> first(leaked.size() + 1), edges;
  for (size_t k = 0; k < leaked.size(); ++k) {
    first[k] = static_cast<uint32_t>(edges.size());
    words.scan(leaked[k], cancel, [&](uint64_t, uint64_t v) {
      bool start;
      uint32_t n = index.find(v, &start);
      if (n == kNoNode || mark[n] != 0 || n == leaked[k]) return;
      auto it = std::lower_bound(leaked.begin(), leaked.end(), n);
      edges.push_back(static_cast<uint32_t>(it - leaked.begin()));
    });
  }
  first[leaked.size()] = static_cast<uint32_t>(edges.size());

  // Direct leaks: in each strongly connected component of the leaked graph
  // that no other leaked chunk points into, the member with the lowest
  // address (valgrind's convention: every leaked group has a place to start
  // reading). Every other leaked chunk is indirect.
  std::vector<uint8_t> direct = analysis::direct_members(first, edges, cancel);
  std::vector<uint32_t>().swap(first);
  std::vector<uint32_t>().swap(edges);
  for (size_t k = 0; k < leaked.size(); ++k) {
    LeakClass c = direct[k] ? LeakClass::kDirect : LeakClass::kIndirect;
    mark[leaked[k]] = static_cast<uint8_t>(c);
    (direct[k] ? out.direct : out.indirect).add(cs[leaked[k]].size);
  }

  out.listed.reserve(out.possible.chunks + leaked.size());
  for (size_t i = 0; i < cs.size(); ++i) {
    LeakClass c = classes[i];
    if (c == LeakClass::kPossible || c == LeakClass::kDirect || c == LeakClass::kIndirect)
      out.listed.push_back(static_cast<uint32_t>(i));
  }
  out.classes = std::move(classes);
  return out;
}

}  // namespace heapscope
