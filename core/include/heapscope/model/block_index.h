// BlockIndex: the block at or around an address, in one cache line. Every
// lookup of a heap model goes through it: the walks' list checks, the
// commands' block_at/block_containing, and the reference scans' test of
// every word of memory. Spans are maximal runs of blocks that touch (a heap
// segment, a slab, one mmapped block); inside a span one bit per 16 bytes
// marks where blocks start and a running count per 64-bit word turns a set
// bit into the block's position: 16 bytes of index per KiB of heap. Blocks
// closer than 16 bytes (8-byte size classes) share a bit: such a span is
// inexact and lookups settle by address. A span of larger blocks (fewer
// than four a KiB) keeps only the running count, 4 bytes per KiB, and
// searches the few blocks of the KiB: its bitmap would cost more than the
// blocks themselves.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "heapscope/address.h"

namespace heapscope {

struct Block;

class BlockIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  BlockIndex() = default;
  // `blocks` in address order. Blocks off the 16-byte grid (a corrupt heap,
  // small size classes) are indexed too; their span is marked inexact and lookups settle them.
  explicit BlockIndex(std::span<const Block> blocks);

  // Positions in the same `blocks`: the block whose header is at a, and the
  // block whose [address, end) holds a; kNone when there is none. A vector
  // of another length than the one indexed (a model built by hand) is
  // binary-searched.
  // Inline (defined in heap_model.h, beside Block): the reference scans ask
  // containing() for every word that looks like a pointer.
  inline uint32_t at(std::span<const Block> blocks, uint64_t a) const;
  inline uint32_t containing(std::span<const Block> blocks, uint64_t a) const;

  struct Span {
    uint64_t begin, end;
    uint64_t last_begin;   // where block `last` starts
    uint32_t first, last;  // block positions [first, last]
    uint32_t word;         // this span's first index word (or count); kNone: searched, no words
    bool exact;            // every block has a bit of its own
    bool sparse;           // counts per KiB only (in counts_), no bitmap
  };
  const std::vector<Span>& spans() const { return spans_; }
  // Some blocks overlap (hostile sizes): the block ending at an address
  // need not be the only one.
  bool overlapping() const { return overlapping_; }
  // The span holding block position i (every block is in one).
  const Span* span_of_block(uint32_t i) const;

  struct IndexWord {
    uint64_t starts;  // bit k: a block starts at the word's base + 16 * k
    uint64_t before;  // blocks of the span starting before the word's base
  };
  // The largest span with a bit of its own for every block (most of a
  // heap, as a rule), for a scan that looks up millions of addresses: its
  // lookups read no span table and no hint. Empty (begin == end) when
  // there is none or blocks overlap.
  struct ExactSpan {
    uint64_t begin = 0, end = 0, last_begin = 0;
    uint32_t first = 0, last = 0;
    const IndexWord* words = nullptr;
    bool holds(uint64_t a) const { return a - begin < end - begin; }
    // For a inside: the block holding a (the span's blocks touch).
    uint32_t block_holding(uint64_t a) const { return last_in_bitmap(begin, last_begin, first, last, words, a); }
  };
  ExactSpan largest_exact_span() const;

  // The last block starting at or before a inside a's span, or kNone.
  // Inline for the common case (a in the span of the last lookup, an exact
  // one): the reference scans ask this for every word that looks like a pointer.
  uint32_t last_at_or_before(std::span<const Block> blocks, uint64_t a) const {
    const size_t hint = last_span_.get();
    if (hint < span_count_ && blocks.size() == count_ && !overlapping_) {
      const Span& s = spans_[hint];
      if (a >= s.begin && a < s.end && s.exact && s.word != kNone && !s.sparse)
        return last_in_bitmap(s.begin, s.last_begin, s.first, s.last, &words_[s.word], a);
    }
    return last_at_or_before_searched(blocks, a);
  }

  // Starts loading the index word a lookup of a will read: a walk down a
  // list asks for the next node while it still checks this one.
  void prefetch(uint64_t a) const {
    const Span* s = span_for(a);
    if (s && s->word != kNone)
      __builtin_prefetch(s->sparse ? static_cast<const void*>(&counts_[s->word + ((a - s->begin) >> 10)])
                                   : &words_[s->word + ((a - s->begin) >> 10)]);
  }

 private:
  // Inline: the baseline x86-64 target has no popcnt instruction, and the
  // library call costs more than this.
  static uint64_t bits_set(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
  }
  // The last block starting at or before a, for a in [begin, the span's
  // end) of an exact span with a bitmap: `words` is the span's first word.
  static uint32_t last_in_bitmap(uint64_t begin, uint64_t last_begin, uint32_t first, uint32_t last,
                                 const IndexWord* words, uint64_t a) {
    if (a >= last_begin) return last;
    const uint64_t bit = (a - begin) >> 4;
    const IndexWord& w = words[bit >> 6];
    return static_cast<uint32_t>(first + w.before + bits_set(w.starts & (~0ull >> (63 - (bit & 63)))) - 1);
  }
  const Span* span_for(uint64_t a) const;
  uint32_t last_at_or_before_searched(std::span<const Block> blocks, uint64_t a) const;

  std::vector<Span> spans_;
  std::vector<IndexWord> words_;
  std::vector<uint32_t> counts_;  // sparse spans: blocks starting before each KiB, and the span's count
  // The span of the last lookup: scans ask about neighbouring addresses.
  // Only a hint, checked before use, so threads reading one model (heap
  // check beside a command) share it with relaxed loads and stores: on
  // x86-64 and AArch64 plain moves.
  class SpanHint {
   public:
    SpanHint() = default;
    SpanHint(const SpanHint& o) : v_(o.get()) {}
    SpanHint& operator=(const SpanHint& o) {
      set(o.get());
      return *this;
    }
    size_t get() const { return v_.load(std::memory_order_relaxed); }
    void set(size_t v) const { v_.store(v, std::memory_order_relaxed); }

   private:
    mutable std::atomic<size_t> v_{SIZE_MAX};
  };
  SpanHint last_span_;
  bool overlapping_ = false;  // blocks overlap: lookups search the blocks instead
  size_t count_ = 0;          // the blocks indexed; lookups in others search them
  size_t span_count_ = 0;     // spans_.size(), without a division by sizeof(Span) per lookup
};

}  // namespace heapscope
