// Internal: the fast part of every reference analysis. NodeIndex maps a word
// to the node (in-use or mmapped chunk) whose user area holds it, in a few
// steps: a range check against [lowest, highest) node byte, the span (a run
// of adjacent chunks: a heap segment, or one mmapped chunk) by binary search
// over a handful of spans, then a granule table giving the chunk that covers
// each granule's first byte, and a short forward scan.
// for_each_word visits the aligned 8-byte words of a range of target memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/target.h"

namespace heapscope::analysis {

inline constexpr uint32_t kNoNode = UINT32_MAX;

class NodeIndex {
 public:
  explicit NodeIndex(const glibc::Heap& heap);

  // The node whose user area [data(), end()) holds v, or kNoNode; *start is
  // set to whether v is exactly its data().
  uint32_t find(uint64_t v, bool* start) const {
    if (v < lo_ || v >= hi_) return kNoNode;
    const Span* s = span_for(v);
    if (!s) return kNoNode;
    uint32_t i = table_[s->table + ((v - s->begin) >> s->shift)];
    const glibc::Chunk* cs = chunks_;
    while (i < s->last && cs[i].address.value + cs[i].size <= v) ++i;
    const glibc::Chunk& c = cs[i];
    if (!node_[i] || v < c.address.value + 16 || v >= c.address.value + c.size) return kNoNode;
    *start = v == c.address.value + 16;
    return i;
  }
  bool is_node(uint32_t i) const { return node_[i]; }
  size_t size() const { return node_.size(); }

 private:
  struct Span {
    uint64_t begin, end;
    uint32_t first, last;  // chunk indices [first, last]
    uint32_t table;        // offset of this span's granules in table_
    uint32_t shift;        // granule = 1 << shift bytes
  };
  const Span* span_for(uint64_t v) const {
    if (last_span_ < spans_.size()) {
      const Span& s = spans_[last_span_];
      if (v >= s.begin && v < s.end) return &s;
    }
    size_t lo = 0, hi = spans_.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (spans_[mid].end <= v) lo = mid + 1;
      else hi = mid;
    }
    if (lo == spans_.size() || v < spans_[lo].begin) return nullptr;
    last_span_ = lo;
    return &spans_[lo];
  }

  const glibc::Chunk* chunks_ = nullptr;
  std::vector<uint8_t> node_;
  std::vector<Span> spans_;
  std::vector<uint32_t> table_;
  uint64_t lo_ = UINT64_MAX, hi_ = 0;
  mutable size_t last_span_ = SIZE_MAX;
};

// The leaked graph's vertices (in address order) with their out-edges as
// CSR arrays (edges[first[v]..first[v+1]) are vertex positions): 1 for the
// direct members, 0 for the indirect ones. In each strongly connected
// component that no other leaked vertex points into, the lowest member is
// direct (valgrind's convention: every leaked group has a place to start
// reading); every other vertex is indirect.
std::vector<uint8_t> direct_members(const std::vector<uint32_t>& first, const std::vector<uint32_t>& edges,
                                    const CancelToken& cancel);

// Calls f(address_of_word, value) for each aligned word of [range) the target
// has; missing pages are skipped. Polls the token every 64 Ki words.
template <typename F>
void for_each_word(const Target& t, AddressRange range, const CancelToken& cancel, F&& f) {
  uint64_t a = (range.begin.value + 7) & ~7ull;
  const uint64_t end = range.end.value & ~7ull;
  while (a < end) {
    auto v = t.view(Address(a), end - a);
    if (v.size() < 8) {
      // Nothing here (or a stray tail): go on at the next page.
      uint64_t next = (a | 4095) + 1;
      if (!v.empty() && v.size() < 8) {
        uint64_t w = 0;
        if (t.read_exact(Address(a), &w, 8)) f(a, w), next = a + 8;
      }
      a = next;
      continue;
    }
    const size_t n = v.size() / 8;
    const std::byte* p = v.data();
    for (size_t i = 0; i < n; ++i) {
      if ((i & 0xffff) == 0xffff) check_cancel(cancel);
      uint64_t w;
      std::memcpy(&w, p + 8 * i, 8);
      f(a + 8 * i, w);
    }
    a += 8 * n;
  }
}

// The bytes an in-use chunk's owner may write: from data() to end(), plus
// the next chunk's prev_size field, which belongs to this chunk while it is
// in use (malloc_usable_size is size - 8); an mmapped chunk has no
// neighbour, its usable bytes end at end().
inline AddressRange user_area(const glibc::Chunk& c) {
  return {c.data(), c.state == glibc::ChunkState::kMmapped ? c.end() : c.end() + 8};
}

// Calls f(address_of_word, value) for each word of node i's user area.
template <typename F>
void for_each_chunk_word(const Target& t, const glibc::Chunk& c, const CancelToken& cancel, F&& f) {
  if (c.size <= 16) return;
  for_each_word(t, user_area(c), cancel, f);
}

}  // namespace heapscope::analysis
