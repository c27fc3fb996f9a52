#include "heapscope/model/block_index.h"

#include <algorithm>

#include "heapscope/model/heap_model.h"

namespace heapscope {

BlockIndex::BlockIndex(std::span<const Block> cs) : count_(cs.size()) {
  // First the spans and how many index words each needs, then the words in
  // one exact allocation: growing the vector would hold two copies of it at
  // its peak, beside the blocks.
  uint64_t total_words = 0, total_counts = 0;
  size_t i = 0;
  while (i < cs.size()) {
    // A span grows while the next block starts where this one ends.
    size_t j = i;
    while (j + 1 < cs.size() && cs[j].size && cs[j + 1].address == cs[j].end()) ++j;
    Span s;
    s.begin = cs[i].address.value;
    s.end = std::max(cs[j].end().value, s.begin + 1);
    s.last_begin = cs[j].address.value;
    s.first = static_cast<uint32_t>(i);
    s.last = static_cast<uint32_t>(j);
    s.word = kNone;
    s.exact = true;
    s.sparse = false;
    // Words reach the last block's start. Huge blocks (or hostile sizes)
    // would make them mostly empty: such a span is binary-searched instead.
    const uint64_t nwords = ((cs[j].address.value - s.begin) >> 10) + 1;
    const uint64_t n = j - i + 1;
    if (j > i && nwords * 4 <= n) {
      s.word = static_cast<uint32_t>(total_words);
      total_words += nwords;
    } else if (j > i && nwords <= 4 * n + 4096) {
      s.sparse = true;
      s.word = static_cast<uint32_t>(total_counts);
      total_counts += nwords + 1;
    }
    if (!spans_.empty() && s.begin < spans_.back().end) overlapping_ = true;
    spans_.push_back(s);
    i = j + 1;
  }
  span_count_ = spans_.size();
  words_.assign(total_words, IndexWord{0, 0});
  counts_.assign(total_counts, 0);
  for (Span& s : spans_) {
    if (s.word == kNone) continue;
    if (s.sparse) {
      // counts_[word + k]: blocks starting before the span's KiB k.
      const uint64_t nwords = ((cs[s.last].address.value - s.begin) >> 10) + 1;
      for (size_t k = s.first; k <= s.last; ++k) ++counts_[s.word + ((cs[k].address.value - s.begin) >> 10) + 1];
      for (uint64_t k = 1; k <= nwords; ++k) counts_[s.word + k] += counts_[s.word + k - 1];
      continue;
    }
    for (size_t k = s.first; k <= s.last; ++k) {
      const uint64_t off = cs[k].address.value - s.begin;
      IndexWord& w = words_[s.word + (off >> 10)];
      const uint64_t m = 1ull << ((off >> 4) & 63);
      if ((off & 15) || (w.starts & m)) s.exact = false;
      w.starts |= m;
    }
    const uint64_t last_word = s.word + ((cs[s.last].address.value - s.begin) >> 10);
    uint64_t before = 0;
    for (uint64_t k = s.word; k <= last_word; ++k) {
      words_[k].before = before;
      before += bits_set(words_[k].starts);
    }
  }
}

BlockIndex::ExactSpan BlockIndex::largest_exact_span() const {
  ExactSpan best;
  if (overlapping_) return best;
  for (const Span& s : spans_) {
    if (!s.exact || s.word == kNone || s.sparse || s.end - s.begin <= best.end - best.begin) continue;
    best = {s.begin, s.end, s.last_begin, s.first, s.last, &words_[s.word]};
  }
  return best;
}

const BlockIndex::Span* BlockIndex::span_for(uint64_t a) const {
  if (const size_t hint = last_span_.get(); hint < spans_.size()) {
    const Span& s = spans_[hint];
    if (a >= s.begin && a < s.end) return &s;
  }
  auto it = std::upper_bound(spans_.begin(), spans_.end(), a, [](uint64_t x, const Span& s) { return x < s.end; });
  if (it == spans_.end() || a < it->begin) return nullptr;
  last_span_.set(static_cast<size_t>(it - spans_.begin()));
  return &*it;
}

uint32_t BlockIndex::last_at_or_before_searched(std::span<const Block> cs, uint64_t a) const {
  if (overlapping_ || cs.size() != count_) {
    // Blocks that overlap (hostile segment sizes): spans are not in order.
    auto it = std::upper_bound(cs.begin(), cs.end(), a, [](uint64_t x, const Block& c) { return x < c.address.value; });
    return it == cs.begin() ? kNone : static_cast<uint32_t>(it - cs.begin() - 1);
  }
  const Span* s = span_for(a);
  if (!s) return kNone;
  const uint64_t last_start = cs[s->last].address.value;
  if (a >= last_start) return s->last;
  uint32_t i;
  if (s->word == kNone) {
    auto first = cs.begin() + s->first, last = cs.begin() + s->last + 1;
    auto it = std::upper_bound(first, last, a, [](uint64_t x, const Block& c) { return x < c.address.value; });
    i = static_cast<uint32_t>(it - cs.begin() - 1);  // a >= the span's begin: never before first
  } else if (s->sparse) {
    // The last block starting before the KiB, or one starting in it.
    const uint64_t k = (a - s->begin) >> 10;
    const uint32_t before = counts_[s->word + k], upto = counts_[s->word + k + 1];
    auto first = cs.begin() + s->first + (before ? before - 1 : 0), last = cs.begin() + s->first + upto;
    auto it = std::upper_bound(first, last, a, [](uint64_t x, const Block& c) { return x < c.address.value; });
    i = static_cast<uint32_t>(it - cs.begin() - 1);
  } else {
    const uint64_t bit = (a - s->begin) >> 4;
    const IndexWord& w = words_[s->word + (bit >> 6)];
    const uint64_t upto = w.starts & (~0ull >> (63 - (bit & 63)));
    i = static_cast<uint32_t>(s->first + w.before + bits_set(upto) - 1);
    if (!s->exact) {
      // Blocks off the 16-byte grid can share a bit: settle by address.
      while (i < s->last && cs[i + 1].address.value <= a) ++i;
      while (i > s->first && cs[i].address.value > a) --i;
    }
  }
  return cs[i].address.value <= a ? i : kNone;
}

const BlockIndex::Span* BlockIndex::span_of_block(uint32_t i) const {
  auto it = std::upper_bound(spans_.begin(), spans_.end(), i, [](uint32_t x, const Span& s) { return x < s.first; });
  if (it == spans_.begin()) return nullptr;
  --it;
  return i <= it->last ? &*it : nullptr;
}

}  // namespace heapscope
