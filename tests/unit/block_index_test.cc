// BlockIndex against a plain binary search over the same chunks, on
// heaps shaped like real ones and on the shapes a corrupt heap produces.
#include "heapscope/model/block_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "heapscope/glibc/heap.h"

namespace heapscope::glibc {
namespace {

Chunk chunk(uint64_t at, uint64_t size) { return Chunk(Address(at), size, 0, ChunkState::kInUse, 1); }

uint32_t expected_at(const std::vector<Chunk>& cs, uint64_t a) {
  auto it = std::lower_bound(cs.begin(), cs.end(), a, [](const Chunk& c, uint64_t x) { return c.address.value < x; });
  return it != cs.end() && it->address.value == a ? static_cast<uint32_t>(it - cs.begin()) : BlockIndex::kNone;
}

uint32_t expected_containing(const std::vector<Chunk>& cs, uint64_t a) {
  auto it = std::upper_bound(cs.begin(), cs.end(), a, [](uint64_t x, const Chunk& c) { return x < c.address.value; });
  if (it == cs.begin()) return BlockIndex::kNone;
  --it;
  return a - it->address.value < it->size ? static_cast<uint32_t>(it - cs.begin()) : BlockIndex::kNone;
}

void expect_agrees(const std::vector<Chunk>& cs, const std::vector<uint64_t>& probes) {
  BlockIndex index(cs);
  // The largest exact span answers as a search does for every address inside it.
  const BlockIndex::ExactSpan hot = index.largest_exact_span();
  for (uint64_t a : probes) {
    ASSERT_EQ(index.at(cs, a), expected_at(cs, a)) << std::hex << a;
    ASSERT_EQ(index.containing(cs, a), expected_containing(cs, a)) << std::hex << a;
    if (hot.holds(a)) ASSERT_EQ(hot.block_holding(a), expected_containing(cs, a)) << std::hex << a;
  }
}

std::vector<uint64_t> probes_around(const std::vector<Chunk>& cs) {
  std::vector<uint64_t> ps = {0, 1, UINT64_MAX};
  for (const auto& c : cs)
    for (int64_t d : {-17, -16, -8, -1, 0, 1, 8, 16, 24})
      for (uint64_t base : {c.address.value, c.end().value}) ps.push_back(base + static_cast<uint64_t>(d));
  return ps;
}

TEST(BlockIndex, SegmentsOfSmallChunksAndMmappedOnes) {
  std::mt19937_64 rng(7);
  std::vector<Chunk> cs;
  for (uint64_t seg : {0x555500000000ull, 0x7f0000000000ull}) {
    uint64_t a = seg;
    for (int i = 0; i < 3000; ++i) {
      uint64_t size = 0x20 + 0x10 * (rng() % 40);
      cs.push_back(chunk(a, size));
      a += size;
    }
  }
  cs.push_back(chunk(0x7f8000000000ull, 0x21000));  // mmapped, alone
  cs.push_back(chunk(0x7f8000021000ull, 0x41000));  // and a neighbour
  expect_agrees(cs, probes_around(cs));
}

TEST(BlockIndex, TheLargestExactSpanIsTheBiggestSpanWithABitPerBlock) {
  std::vector<Chunk> cs;
  for (uint64_t i = 0; i < 100; ++i) cs.push_back(chunk(0x10000 + 0x20 * i, 0x20));   // 3.2 KiB
  for (uint64_t i = 0; i < 300; ++i) cs.push_back(chunk(0x90000 + 0x30 * i, 0x30));   // 14.4 KiB: this one
  cs.push_back(chunk(0x100000, 0x18));  // off the grid: not exact
  for (uint64_t i = 0; i < 2000; ++i) cs.push_back(chunk(0x100018 + 0x18 * i, 0x18));
  BlockIndex index(cs);
  const BlockIndex::ExactSpan hot = index.largest_exact_span();
  EXPECT_EQ(hot.begin, 0x90000u);
  EXPECT_EQ(hot.end, 0x90000u + 0x30 * 300);
  EXPECT_EQ(hot.first, 100u);
  EXPECT_EQ(hot.last, 399u);
  EXPECT_FALSE(hot.holds(0x8fff0));
  EXPECT_TRUE(hot.holds(0x90000));
  EXPECT_FALSE(hot.holds(hot.end));
  expect_agrees(cs, probes_around(cs));
  // Overlapping blocks: no exact span is trusted.
  std::vector<Chunk> bad = {chunk(0x20000, 0x1000), chunk(0x20400, 0x40), chunk(0x20440, 0x40)};
  EXPECT_FALSE(BlockIndex(bad).largest_exact_span().holds(0x20400));
}

TEST(BlockIndex, EmptyHeap) {
  std::vector<Chunk> cs;
  BlockIndex index(cs);
  EXPECT_EQ(index.at(cs, 0x1000), BlockIndex::kNone);
  EXPECT_EQ(index.containing(cs, 0x1000), BlockIndex::kNone);
}

TEST(BlockIndex, ChunksOffTheGridShareBits) {
  // A corrupt size puts chunk starts off the 16-byte grid.
  std::vector<Chunk> cs = {chunk(0x10000, 0x18), chunk(0x10018, 0x8), chunk(0x10020, 0x30), chunk(0x10050, 0x20)};
  expect_agrees(cs, probes_around(cs));
}

TEST(BlockIndex, HugeChunksAreSearchedNotIndexed) {
  // Two chunks 1 TiB apart but touching: a bitmap would need a billion words.
  std::vector<Chunk> cs = {chunk(0x100000, 0x10000000000ull), chunk(0x10000100000ull, 0x20), chunk(0x10000100020ull, 0x20)};
  BlockIndex index(cs);
  ASSERT_EQ(index.spans().size(), 1u);
  EXPECT_EQ(index.spans()[0].word, BlockIndex::kNone);
  expect_agrees(cs, probes_around(cs));
}

TEST(BlockIndex, OverlappingChunksFallBackToSearch) {
  // Hostile heap_info sizes: one segment's chunks inside another's.
  std::vector<Chunk> cs = {chunk(0x20000, 0x1000), chunk(0x20400, 0x40), chunk(0x20440, 0x40), chunk(0x21000, 0x40)};
  expect_agrees(cs, probes_around(cs));
}

TEST(BlockIndex, AnIndexOfOtherChunksIsNotTrusted) {
  std::vector<Chunk> cs = {chunk(0x1000, 0x20), chunk(0x1020, 0x20)};
  BlockIndex index(cs);
  cs.push_back(chunk(0x2000, 0x40));  // a model changed after indexing
  EXPECT_EQ(index.at(cs, 0x2000), 2u);
  EXPECT_EQ(index.containing(cs, 0x2010), 2u);
}

TEST(BlockIndex, SpanOfChunk) {
  std::vector<Chunk> cs = {chunk(0x1000, 0x20), chunk(0x1020, 0x20), chunk(0x9000, 0x20)};
  BlockIndex index(cs);
  ASSERT_EQ(index.spans().size(), 2u);
  EXPECT_EQ(index.span_of_block(1), &index.spans()[0]);
  EXPECT_EQ(index.span_of_block(2), &index.spans()[1]);
  EXPECT_EQ(index.span_of_block(3), nullptr);
}

}  // namespace
}  // namespace heapscope::glibc
