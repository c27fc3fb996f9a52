// Internal: the fast part of every reference analysis. NodeIndex maps a word
// to the node (in-use or mmapped chunk) whose user area holds it: one range
// check against [lowest, highest) node byte rejects most words inline, then
// the heap's BlockIndex finds the chunk. ChunkWords visits a chunk's
// words from a view of its whole span; for_each_word (target_words.h) visits
// a range of target memory.
#pragma once

#include <algorithm>
#include <atomic>
#include <iterator>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/target.h"
#include "target_words.h"

namespace heapscope::analysis {

inline constexpr uint32_t kNoNode = UINT32_MAX;

class NodeIndex {
 public:
  explicit NodeIndex(const HeapModel& heap);
  // The same index answering through `index` (the heap's BlockIndex, or a
  // copy of it), for another thread of a scan.
  NodeIndex(const NodeIndex& other, const BlockIndex& index)
      : chunks_(other.chunks_), index_(index), hot_(other.hot_.words ? index.largest_exact_span() : other.hot_),
        owned_(other.owned_), live_kinds_(other.live_kinds_), lo_(other.lo_), width_(other.width_) {
    std::copy(std::begin(other.user_offset_), std::end(other.user_offset_), user_offset_);
  }

  // The node whose user area [data(), end()) holds v, or kNoNode; *start is
  // set to whether v is exactly its data().
  uint32_t find(uint64_t v, bool* start) const {
    if (v - lo_ >= width_) [[likely]] return kNoNode;  // below lo_ wraps round
    uint32_t i;
    if (hot_.holds(v)) {
      i = hot_.block_holding(v);
    } else {
      i = index_.containing(chunks_, v);
      if (i == BlockIndex::kNone) return kNoNode;
    }
    const Block& c = chunks_[i];
    if (!((live_kinds_ >> c.kind) & 1) || v < c.address.value + user_offset_[c.kind]) return kNoNode;
    *start = v == c.address.value + user_offset_[c.kind];
    return i;
  }
  bool is_node(uint32_t i) const { return (live_kinds_ >> chunks_[i].kind) & 1; }
  size_t size() const { return chunks_.size(); }
  // What the allocator owns (adjacent ranges merged), address order: not roots.
  const std::vector<AddressRange>& owned() const { return owned_; }
  // Every node byte is in [lo(), lo() + width()).
  uint64_t lo() const { return lo_; }
  uint64_t width() const { return width_; }

  // The heap's spans of touching chunks (see BlockIndex).
  using Span = BlockIndex::Span;
  const std::vector<Span>& spans() const { return index_.spans(); }
  const Span* span_of_block(uint32_t i) const { return index_.span_of_block(i); }

 private:
  std::span<const Block> chunks_;
  const BlockIndex& index_;
  BlockIndex::ExactSpan hot_;  // most lookups land in it
  std::vector<AddressRange> owned_;
  uint32_t user_offset_[kMaxBlockKinds] = {};
  uint32_t live_kinds_ = 0;  // bit k: kind k is handed out to the program
  uint64_t lo_ = 1, width_ = 0;
};

// The leaked graph's vertices (in address order) with their out-edges as
// CSR arrays (edges[first[v]..first[v+1]) are vertex positions): 1 for the
// direct members, 0 for the indirect ones. In each strongly connected
// component that no other leaked vertex points into, the lowest member is
// direct (valgrind's convention: every leaked group has a place to start
// reading); every other vertex is indirect.
std::vector<uint8_t> direct_members(const std::vector<uint32_t>& first, const std::vector<uint32_t>& edges,
                                    const CancelToken& cancel);

// Calls f(address_of_word, value) for each word of a node's user area
// (HeapModel::user_area: glibc's in-use chunk owns the next prev_size too).
template <typename F>
void for_each_chunk_word(const Target& t, const HeapModel& heap, const Block& c, const CancelToken& cancel, F&& f) {
  const AddressRange r = heap.user_area(c);
  if (r.end.value <= r.begin.value) return;
  for_each_word(t, r, cancel, f);
}

// Visits the words of nodes' user areas that could point to a node (the
// words inside [lo, lo + width) of the index; the others cannot). Each span's bytes are viewed once
// (a core file maps them whole), so a chunk costs no lookup in the target;
// a span the target cannot show in one piece goes through for_each_word.
class ChunkWords {
 public:
  ChunkWords(const Target& t, const HeapModel& heap, const NodeIndex& index);
  // The same views for another thread, looking nodes up through `index`
  // (the span cursor is per object).
  ChunkWords(const ChunkWords& other, const NodeIndex& index)
      : t_(other.t_), heap_(other.heap_), chunks_(other.chunks_), index_(index), views_(other.views_),
        runs_ok_(other.runs_ok_), probe_lo_(other.probe_lo_), probe_width_(other.probe_width_),
        probe_(other.probe_), probe_shared_(other.probe_shared_) {}

  template <typename F>
  void scan(uint32_t i, const CancelToken& cancel, F&& f) const {
    const AddressRange r = heap_.user_area(chunks_[i]);
    if (r.end.value <= r.begin.value) return;
    if (const std::byte* p = scan_range(i, r, cancel, f)) {
      if (probe_ && r.size() >= 8) probe_word(i, p);
    } else {
      probe_first_word(i, i);
    }
  }

  // Scans chunks first..last (adjacent nodes of one span) as one range: the
  // words between their user areas are size fields, which are never inside
  // [lo, lo + width) (runs_ok() says so). Cheaper than chunk by chunk.
  template <typename F>
  void scan_run(uint32_t first, uint32_t last, const CancelToken& cancel, F&& f) const {
    const AddressRange r{heap_.user_begin(chunks_[first]), heap_.user_area(chunks_[last]).end};
    if (r.end.value <= r.begin.value) return;
    const std::byte* p = scan_range(first, r, cancel, f);
    if (!p) {
      probe_first_word(first, last);
      return;
    }
    if (!probe_) return;
    for (uint32_t k = first; k <= last; ++k) {
      const AddressRange u = heap_.user_area(chunks_[k]);
      if (u.size() >= 8 && u.begin >= r.begin && u.begin.value + 8 <= r.end.value)
        probe_word(k, p + (u.begin.value - r.begin.value));
    }
  }
  bool runs_ok() const { return runs_ok_; }

  // Starts loading chunk i's first bytes (it will be scanned soon).
  void prefetch(uint32_t i) const {
    const View* v = view_of(i);
    const uint64_t at = heap_.user_begin(chunks_[i]).value;
    if (v && v->bytes && at >= v->begin && at < v->end) __builtin_prefetch(v->bytes + (at - v->begin));
  }

  // While scanning, notes (one bit per chunk in `bits`) the chunks whose
  // first word may be a vtable pointer: inside [lo, lo + width) (the
  // modules' mappings) and not into a node. The words are in cache then;
  // naming types afterwards reads only the chunks noted. `shared`: several
  // threads scan at once (the bits are set atomically).
  void probe_first_words(uint64_t lo, uint64_t width, std::vector<uint64_t>* bits, bool shared) {
    probe_lo_ = lo, probe_width_ = width, probe_ = bits, probe_shared_ = shared;
  }

 private:
  void probe_first_word(uint32_t first, uint32_t last) const {
    if (!probe_) return;
    for (uint32_t k = first; k <= last; ++k) {
      const Block& c = chunks_[k];
      const AddressRange r = heap_.user_area(c);
      if (r.size() < 8) continue;
      uint64_t w = 0;
      const View* v = view_of(k);
      const uint64_t at = r.begin.value;
      if (v && v->bytes && at >= v->begin && at + 8 <= v->end) std::memcpy(&w, v->bytes + (at - v->begin), 8);
      else if (!t_.read_exact(r.begin, &w, 8)) continue;
      probe_value(k, w);
    }
  }
  // Chunk k's first word, at `at` in a view the scan just read.
  void probe_word(uint32_t k, const std::byte* at) const {
    uint64_t w;
    std::memcpy(&w, at, 8);
    probe_value(k, w);
  }
  void probe_value(uint32_t k, uint64_t w) const {
    if (w - probe_lo_ < probe_width_ && w - index_.lo() >= index_.width()) {
      uint64_t& bits = (*probe_)[k >> 6];
      if (probe_shared_) std::atomic_ref<uint64_t>(bits).fetch_or(1ull << (k & 63), std::memory_order_relaxed);
      else bits |= 1ull << (k & 63);
    }
  }
  // The bytes of r it scanned in a view, or nullptr when it read them
  // through the target.
  template <typename F>
  const std::byte* scan_range(uint32_t i, AddressRange r, const CancelToken& cancel, F&& f) const {
    const View* v = view_of(i);
    if (!v || !v->bytes || r.begin.value < v->begin || r.end.value > v->end || (r.begin.value & 7)) {
      for_each_word(t_, r, cancel, f);
      return nullptr;
    }
    const std::byte* p = v->bytes + (r.begin.value - v->begin);
    const uint64_t n = (r.end.value - r.begin.value) / 8;
    if (n >= 0x10000) check_cancel(cancel);
    // Most words point nowhere near a node: rejected here, without a call.
    const uint64_t lo = index_.lo(), width = index_.width();
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t w;
      std::memcpy(&w, p + 8 * k, 8);
      if (w - lo < width) [[unlikely]] f(r.begin.value + 8 * k, w);
    }
    return p;
  }

  struct View {
    uint64_t begin = 0, end = 0;
    const std::byte* bytes = nullptr;
  };
  const View* view_of(uint32_t i) const {
    const auto& spans = index_.spans();
    if (last_ < spans.size() && i >= spans[last_].first && i <= spans[last_].last) return &views_[last_];
    const NodeIndex::Span* s = index_.span_of_block(i);
    if (!s) return nullptr;
    last_ = static_cast<size_t>(s - spans.data());
    return &views_[last_];
  }
  const Target& t_;
  const HeapModel& heap_;
  const Block* chunks_;
  const NodeIndex& index_;
  std::vector<View> views_;  // one per span
  bool runs_ok_ = false;
  mutable size_t last_ = SIZE_MAX;
  uint64_t probe_lo_ = 0, probe_width_ = 0;
  std::vector<uint64_t>* probe_ = nullptr;
  bool probe_shared_ = false;
};

}  // namespace heapscope::analysis
