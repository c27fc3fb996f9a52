// analyze_leaks: mark from the roots (start pointers first, then the
// interior-only rest), then split the unmarked nodes into direct and
// indirect leaks the way valgrind's memcheck does.
//
// Speed: the marks are one byte per chunk and become the result's classes in
// place. The mark queue is bounded (as in a garbage collector's): when it is
// full, a chunk is only marked "pending", and a sweep in address order scans
// the pending ones afterwards, so a pointer array of a million chunks costs a
// bounded queue and a sequential pass instead of a million-entry one. The
// queue is first in, first out, and a chunk's first bytes are prefetched as
// it enters: a thousand linked lists are followed a node of each in turn, so
// a node's bytes are in cache when it is scanned (a stack would follow one
// list at a time, a cache miss per node). The marks are a fixed point, the
// same whatever the order.
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

// Working marks, one byte per chunk. A chunk is "pending" once reached and
// until scanned.
// kUnvisited is 0: the marks start as zeroed memory, and a chunk that is not
// a node is never marked (find() returns nodes only).
enum Mark : uint8_t {
  kUnvisited, kSeed, kReachPending, kReach, kPossPending, kPoss,
};
constexpr size_t kQueueLimit = 1 << 16;  // a power of two: the ring wraps by masking

// The marking engine: a bounded queue, then sweeps for what did not fit.
struct Marker {
  const analysis::ChunkWords& words;
  const Block* chunks;
  uint8_t* mark;  // one per chunk
  uint32_t count;
  const CancelToken& cancel;
  std::vector<uint32_t> queue = std::vector<uint32_t>(kQueueLimit);  // a ring
  size_t head = 0, queued = 0;
  bool overflow = false;

  void reach(uint32_t n, uint8_t pending) {
    mark[n] = pending;
    if (queued < kQueueLimit) {
      queue[(head + queued++) & (kQueueLimit - 1)] = n;
      words.prefetch(n);
    } else {
      overflow = true;
    }
  }
  // Scans every pending chunk (marked `pending`, which becomes `done`),
  // with visit(address, word) for each word.
  template <typename F>
  void drain(uint8_t pending, uint8_t done, F& visit, Tally& tally) {
    uint64_t scanned = 0;
    auto scan = [&](uint32_t n) {
      mark[n] = done;
      tally.add(chunks[n].size);
      if ((++scanned & 0xfff) == 0) check_cancel(cancel);
      words.scan(n, cancel, visit);
    };
    auto empty_queue = [&] {
      while (queued) {
        uint32_t n = queue[head];
        head = (head + 1) & (kQueueLimit - 1);
        --queued;
        if (mark[n] == pending) scan(n);
      }
    };
    empty_queue();
    // What did not fit on the stack, in address order; a run of adjacent
    // pending chunks is scanned as one range.
    while (overflow) {
      overflow = false;
      for (uint32_t i = 0; i < count; ++i) {
        if (mark[i] != pending) continue;
        uint32_t j = i;
        if (words.runs_ok())
          while (j + 1 < count && mark[j + 1] == pending && chunks[j + 1].address == chunks[j].end()) ++j;
        for (uint32_t k = i; k <= j; ++k) mark[k] = done, tally.add(chunks[k].size);
        scanned += j - i + 1;
        if ((scanned & ~uint64_t{0xfff}) != ((scanned - (j - i + 1)) & ~uint64_t{0xfff})) check_cancel(cancel);
        if (j == i) words.scan(i, cancel, visit);
        else words.scan_run(i, j, cancel, visit);
        i = j;
        empty_queue();
      }
    }
  }
};

}  // namespace

LeakAnalysis analyze_leaks(const Target& target, const HeapModel& heap, const CancelToken& cancel) {
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
    if (lo < hi) words.probe_first_words(lo, hi - lo, &out.maybe_typed);
  }
  // The marks, then the classes (LeakClass values) in the same bytes.
  std::vector<LeakClass> classes(cs.size());
  uint8_t* mark = reinterpret_cast<uint8_t*>(classes.data());  // LeakClass is one byte
  static_assert(sizeof(LeakClass) == 1 && static_cast<uint8_t>(LeakClass::kNotNode) == kUnvisited);
  Marker m{words, cs.data(), mark, static_cast<uint32_t>(cs.size()), cancel};
  size_t seeds = 0;  // chunks marked kSeed at some point (an upper bound of those left)

  // Phase 1: start pointers from roots and from reachable chunks make
  // chunks reachable; an interior pointer from them only makes a seed.
  auto definite = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = index.find(v, &start);
    if (n == kNoNode) return;
    uint8_t k = mark[n];
    if (start) {
      if (k == kUnvisited || k == kSeed) m.reach(n, kReachPending);
    } else if (k == kUnvisited) {
      mark[n] = kSeed;
      ++seeds;
    }
  };
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
  m.drain(kReachPending, kReach, definite, out.reachable);

  // Phase 2: from the seeds, any pointer reaches: all of it is possible.
  auto possible = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = index.find(v, &start);
    if (n == kNoNode) return;
    if (mark[n] == kUnvisited || mark[n] == kSeed) m.reach(n, kPossPending);
  };
  if (seeds)
    for (uint32_t i = 0; i < cs.size(); ++i)
      if (mark[i] == kSeed) m.reach(i, kPossPending);
  m.drain(kPossPending, kPoss, possible, out.possible);
  std::vector<uint32_t>().swap(m.queue);

  // One pass over the marks: reached nodes get their class (never 0, so
  // from here a node whose byte is 0 is leaked), the leaked ones are listed.
  // Only the unreached chunks are read (free ones, or leaks).
  std::vector<uint32_t> leaked;
  for (uint32_t i = 0; i < cs.size(); ++i) {
    switch (mark[i]) {
      case kReach: mark[i] = static_cast<uint8_t>(LeakClass::kReachable); break;
      case kPoss: mark[i] = static_cast<uint8_t>(LeakClass::kPossible); break;
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
