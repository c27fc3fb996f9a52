// ChunkIndex: the chunk at or around an address, in one cache line. Every
// lookup of the heap model goes through it: the walk's list checks, the
// commands' chunk_at/chunk_containing, and the reference scans' test of
// every word of memory. Spans are maximal runs of chunks that touch (a heap
// segment, or one mmapped chunk); inside a span one bit per 16 bytes marks
// where chunks start and a running count per 64-bit word turns a set bit
// into the chunk's position: 16 bytes of index per KiB of heap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "heapscope/address.h"

namespace heapscope::glibc {

struct Chunk;

class ChunkIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  ChunkIndex() = default;
  // `chunks` in address order. Chunks off the 16-byte grid (a corrupt heap)
  // are indexed too; their span is marked inexact and lookups settle them.
  explicit ChunkIndex(std::span<const Chunk> chunks);

  // Positions in the same `chunks`: the chunk whose header is at a, and the
  // chunk whose [address, end) holds a; kNone when there is none. A vector
  // of another length than the one indexed (a model built by hand) is
  // binary-searched.
  uint32_t at(std::span<const Chunk> chunks, uint64_t a) const;
  uint32_t containing(std::span<const Chunk> chunks, uint64_t a) const;

  struct Span {
    uint64_t begin, end;
    uint32_t first, last;  // chunk positions [first, last]
    uint32_t word;         // this span's first index word; kNone: one chunk, no words
    bool exact;            // every chunk has a bit of its own
  };
  const std::vector<Span>& spans() const { return spans_; }
  // The span holding chunk position i (every chunk is in one).
  const Span* span_of_chunk(uint32_t i) const;

  // The last chunk starting at or before a inside a's span, or kNone.
  uint32_t last_at_or_before(std::span<const Chunk> chunks, uint64_t a) const;

  // Starts loading the index word a lookup of a will read: a walk down a
  // list asks for the next node while it still checks this one.
  void prefetch(uint64_t a) const {
    const Span* s = span_for(a);
    if (s && s->word != kNone) __builtin_prefetch(&words_[s->word + ((a - s->begin) >> 10)]);
  }

 private:
  struct IndexWord {
    uint64_t starts;  // bit k: a chunk starts at the word's base + 16 * k
    uint64_t before;  // chunks of the span starting before the word's base
  };
  // Inline: the baseline x86-64 target has no popcnt instruction, and the
  // library call costs more than this.
  static uint64_t bits_set(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
  }
  const Span* span_for(uint64_t a) const;

  std::vector<Span> spans_;
  std::vector<IndexWord> words_;
  // The span of the last lookup: scans ask about neighbouring addresses.
  // One heap model is read by one thread at a time.
  mutable size_t last_span_ = SIZE_MAX;
  bool overlapping_ = false;  // chunks overlap: lookups search the chunks instead
  size_t count_ = 0;          // the chunks indexed; lookups in others search them
};

}  // namespace heapscope::glibc
