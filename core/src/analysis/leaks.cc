// analyze_leaks: mark from the roots (start pointers first, then the
// interior-only rest), then split the unmarked nodes into direct and
// indirect leaks the way valgrind's memcheck does.
#include "heapscope/analysis/leaks.h"

#include <algorithm>
#include <cstring>

#include "analysis/pointer_scan.h"
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
using analysis::NodeIndex;

// Working marks, one byte per chunk.
enum Mark : uint8_t { kNot, kUnvisited, kSeed, kReach, kPoss, kDirect, kIndirect };

}  // namespace

LeakAnalysis analyze_leaks(const Target& target, const glibc::Heap& heap, const CancelToken& cancel) {
  const auto& cs = heap.chunks;
  NodeIndex index(heap);
  std::vector<uint8_t> mark(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) mark[i] = index.is_node(static_cast<uint32_t>(i)) ? kUnvisited : kNot;
  std::vector<uint32_t> queue;

  // Phase 1: start pointers from roots and from reachable chunks make
  // chunks reachable; an interior pointer from them only makes a seed.
  auto definite = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = index.find(v, &start);
    if (n == kNoNode) return;
    uint8_t& m = mark[n];
    if (start) {
      if (m == kUnvisited || m == kSeed) m = kReach, queue.push_back(n);
    } else if (m == kUnvisited) {
      m = kSeed;
    }
  };
  Roots roots = find_roots(target, heap);
  for (const auto& r : roots.registers) definite(0, r.value);
  for (const auto& r : roots.ranges) analysis::for_each_word(target, r.range, cancel, definite);
  auto drain = [&](auto& visit) {
    while (!queue.empty()) {
      uint32_t n = queue.back();
      queue.pop_back();
      analysis::for_each_chunk_word(target, cs[n], cancel, visit);
    }
  };
  drain(definite);

  // Phase 2: from the seeds, any pointer reaches: all of it is possible.
  auto possible = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = index.find(v, &start);
    if (n == kNoNode) return;
    if (mark[n] == kUnvisited || mark[n] == kSeed) mark[n] = kPoss, queue.push_back(n);
  };
  for (size_t i = 0; i < cs.size(); ++i)
    if (mark[i] == kSeed) mark[i] = kPoss, queue.push_back(static_cast<uint32_t>(i));
  drain(possible);
  std::vector<uint32_t>().swap(queue);

  // Phase 3: the leaked subgraph (any pointer, start or interior) as
  // adjacency lists over leaked positions.
  std::vector<uint32_t> leaked;
  for (size_t i = 0; i < cs.size(); ++i)
    if (mark[i] == kUnvisited) leaked.push_back(static_cast<uint32_t>(i));
  std::vector<uint32_t> first(leaked.size() + 1), edges;
  for (size_t k = 0; k < leaked.size(); ++k) {
    first[k] = static_cast<uint32_t>(edges.size());
    analysis::for_each_chunk_word(target, cs[leaked[k]], cancel, [&](uint64_t, uint64_t v) {
      bool start;
      uint32_t n = index.find(v, &start);
      if (n == kNoNode || mark[n] != kUnvisited || n == leaked[k]) return;
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
  for (size_t k = 0; k < leaked.size(); ++k) mark[leaked[k]] = direct[k] ? kDirect : kIndirect;

  // The marks become the classes in place (one byte per chunk, no copy).
  LeakAnalysis out;
  size_t listed = 0;
  for (size_t i = 0; i < cs.size(); ++i) {
    LeakClass c = LeakClass::kNotNode;
    switch (mark[i]) {
      case kReach: c = LeakClass::kReachable; out.reachable.add(cs[i].size); break;
      case kPoss: c = LeakClass::kPossible; out.possible.add(cs[i].size); ++listed; break;
      case kDirect: c = LeakClass::kDirect; out.direct.add(cs[i].size); ++listed; break;
      case kIndirect: c = LeakClass::kIndirect; out.indirect.add(cs[i].size); ++listed; break;
      default: break;
    }
    mark[i] = static_cast<uint8_t>(c);
  }
  out.listed.reserve(listed);
  for (size_t i = 0; i < cs.size(); ++i) {
    auto c = static_cast<LeakClass>(mark[i]);
    if (c == LeakClass::kPossible || c == LeakClass::kDirect || c == LeakClass::kIndirect)
      out.listed.push_back(static_cast<uint32_t>(i));
  }
  out.classes.resize(cs.size());
  std::memcpy(out.classes.data(), mark.data(), cs.size());
  return out;
}

}  // namespace heapscope
