#include "heapscope/analysis/frag.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "render/frag_render.h"

namespace heapscope {
namespace {

using glibc::Chunk;
using glibc::ChunkState;

// A hand-made heap model: chunks laid end to end from `base`.
struct ModelHeap {
  glibc::Heap heap;
  Address cursor;

  ModelHeap(uint64_t base, bool main, uint64_t end) {
    heap.layout = glibc::layout_for_version(2, 36).layout;
    heap.version = "2.36";
    glibc::Arena a;
    a.index = 0;
    a.main = main;
    a.address = Address(0x7f0000000100);
    a.heaps.push_back({{Address(base), Address(end)}, main ? Address() : Address(base)});
    a.system_mem = end - base;
    heap.arenas.push_back(a);
    cursor = Address(base);
  }
  Address add(uint64_t size, ChunkState s, int arena = 0) {
    Address at = cursor;
    heap.blocks.push_back({at, size, arena, s, 1});
    cursor = cursor + size;
    return at;
  }
  void finish_with_top() {
    auto& a = heap.arenas[0];
    a.top = cursor;
    a.top_size = a.heaps[0].range.end - cursor;
    heap.blocks.push_back({cursor, a.top_size, 0, ChunkState::kTop, 1});
  }
};

// Layout (page 0x1000), main arena heap [0x10000, 0x40000):
//   0x10000 metadata 0x290
//   0x10290 in_use   0xd70
//   0x11000 large    0x1fe0   alone: page-aligned interior 0x12000.. is 0xfe0 long: nothing
//   0x12fe0 fast     0x20     joins both neighbours: one chunk 0x11000 + 0x3000
//   0x13000 large    0x1000   alone: nothing; merged: [0x12000, 0x14000) = 0x2000
//   0x14000 in_use   0x100
//   0x14100 large    0x2000   alone: interior from ALIGN_UP(0x14130) = 0x15000 to 0x16100: 0x1000
//   0x16100 tcache   0x20     in use to malloc: stops the run
//   0x16120 fast     0x20     alone (tcache before it, in_use after): 32 bytes, nothing
//   0x16140 in_use   0x40
//   0x16180 small    0x100    nothing
//   0x16280 in_use   0x40
//   0x162c0 fast     0x40     next is top: merges into top
//   0x16300 top      0x29d00  + 0x40 = 0x29d40; systrim: ALIGN_DOWN(0x29d40 - 33, 0x1000) = 0x29000
ModelHeap fragmented(bool main) {
  ModelHeap m(0x10000, main, 0x40000);
  m.add(0x290, ChunkState::kMetadata);
  m.add(0xd70, ChunkState::kInUse);
  m.add(0x1fe0, ChunkState::kLarge);
  m.add(0x20, ChunkState::kFast);
  m.add(0x1000, ChunkState::kLarge);
  m.add(0x100, ChunkState::kInUse);
  m.add(0x2000, ChunkState::kLarge);
  m.add(0x20, ChunkState::kTcache);
  m.add(0x20, ChunkState::kFast);
  m.add(0x40, ChunkState::kInUse);
  m.add(0x100, ChunkState::kSmall);
  m.add(0x40, ChunkState::kInUse);
  m.add(0x40, ChunkState::kFast);
  m.finish_with_top();
  return m;
}

TEST(Frag, ClassesLargestAndExternalFragmentation) {
  ModelHeap m = fragmented(true);
  FragReport r = compute_frag(m.heap);
  ASSERT_EQ(r.arenas.size(), 1u);
  const FragFigures& f = r.arenas[0];
  EXPECT_EQ(f.free[ChunkState::kTcache].chunks, 1u);
  EXPECT_EQ(f.free[ChunkState::kTcache].bytes, 0x20u);
  EXPECT_EQ(f.free[ChunkState::kFast].chunks, 3u);
  EXPECT_EQ(f.free[ChunkState::kFast].bytes, 0x80u);
  EXPECT_EQ(f.free[ChunkState::kLarge].chunks, 3u);
  EXPECT_EQ(f.free[ChunkState::kLarge].bytes, 0x1fe0u + 0x1000 + 0x2000);
  EXPECT_EQ(f.free[ChunkState::kSmall].bytes, 0x100u);
  EXPECT_EQ(f.free[ChunkState::kTop].bytes, 0x29d00u);
  const uint64_t total = 0x20 + 0x80 + 0x4fe0 + 0x100 + 0x29d00;
  EXPECT_EQ(f.free_bytes, total);
  EXPECT_EQ(f.largest_free, 0x29d00u);
  EXPECT_EQ(f.largest_free_at.value, 0x16300u);
  EXPECT_EQ(f.largest_free_state, ChunkState::kTop);
  EXPECT_DOUBLE_EQ(f.external_fragmentation, 1.0 - double(0x29d00) / double(total));
  // Histograms: top is not in the free one.
  EXPECT_EQ(f.free_sizes.chunks(), 8u);
  EXPECT_EQ(f.free_sizes.buckets[5].chunks, 3u);   // three 0x20
  EXPECT_EQ(f.free_sizes.buckets[6].chunks, 1u);   // 0x40
  EXPECT_EQ(f.free_sizes.buckets[8].chunks, 1u);   // 0x100
  EXPECT_EQ(f.free_sizes.buckets[12].chunks, 2u);  // 0x1fe0, 0x1000
  EXPECT_EQ(f.free_sizes.buckets[13].chunks, 1u);  // 0x2000
  EXPECT_EQ(f.in_use_sizes.chunks(), 4u);          // metadata is not in use
}

TEST(Frag, MallocTrimModelConsolidatesThenReleasesPages) {
  ModelHeap m = fragmented(true);
  FragReport r = compute_frag(m.heap);
  const FragFigures& f = r.arenas[0];
  EXPECT_EQ(f.trim_bins, 0x2000u + 0x1000u);
  EXPECT_EQ(f.trim_top, 0x29000u);
  EXPECT_EQ(f.trim_bytes(), 0x2c000u);
  EXPECT_EQ(f.fast_consolidated, 3u);
  EXPECT_EQ(f.fast_into_top, 0x40u);
  ASSERT_EQ(r.trim_ranges.size(), 3u);
  EXPECT_EQ(r.trim_ranges[0].range.begin.value, 0x12000u);
  EXPECT_EQ(r.trim_ranges[0].range.end.value, 0x14000u);
  EXPECT_EQ(r.trim_ranges[1].range.begin.value, 0x15000u);
  EXPECT_EQ(r.trim_ranges[1].range.end.value, 0x16000u);
  EXPECT_TRUE(r.trim_ranges[2].top);
  EXPECT_EQ(r.trim_ranges[2].range.begin.value, 0x40000u - 0x29000u);
  EXPECT_EQ(r.trim_ranges[2].range.end.value, 0x40000u);
  EXPECT_EQ(r.total.trim_bytes(), f.trim_bytes());
}

TEST(Frag, OtherArenasKeepTheirTop) {
  ModelHeap m = fragmented(false);
  FragReport r = compute_frag(m.heap);
  EXPECT_EQ(r.arenas[0].trim_top, 0u);
  EXPECT_EQ(r.arenas[0].trim_bins, 0x3000u);
  EXPECT_EQ(r.arenas[0].fast_into_top, 0x40u);  // merged into top, so not madvised either
}

TEST(Frag, NonContiguousMainArenaIsNotSbrkTrimmed) {
  ModelHeap m = fragmented(true);
  m.heap.arenas[0].flags = 2;  // NONCONTIGUOUS_BIT
  EXPECT_EQ(compute_frag(m.heap).arenas[0].trim_top, 0u);
}

TEST(Frag, SmallTopReleasesNothing) {
  ModelHeap m(0x10000, true, 0x11000);
  m.add(0xfc0, ChunkState::kInUse);
  m.finish_with_top();  // 0x40 bytes of top
  FragReport r = compute_frag(m.heap);
  EXPECT_EQ(r.arenas[0].trim_top, 0u);
  EXPECT_EQ(r.arenas[0].external_fragmentation, 0.0);  // one free chunk: no fragmentation
}

TEST(Frag, PageSizeIsAParameter) {
  ModelHeap m = fragmented(true);
  FragReport r = compute_frag(m.heap, 0x4000);
  // 16 KiB pages: the merged run [0x11000, 0x14000) holds no whole page past its header.
  EXPECT_EQ(r.arenas[0].trim_bins, 0u);
  EXPECT_EQ(r.arenas[0].trim_top, (0x29d40u - 33) & ~0x3fffu);
}

TEST(Frag, SizeBuckets) {
  EXPECT_EQ(size_bucket(32), 5);
  EXPECT_EQ(size_bucket(63), 5);
  EXPECT_EQ(size_bucket(64), 6);
  EXPECT_EQ(size_bucket(1), 0);
  EXPECT_EQ(size_bucket(UINT64_MAX), 63);
}

TEST(FragRender, JsonCarriesTheFigures) {
  ModelHeap m = fragmented(true);
  FragReport r = compute_frag(m.heap);
  auto j = nlohmann::json::parse(frag_json(m.heap, r, std::nullopt, 3));
  EXPECT_EQ(j["findings"], 3);
  EXPECT_EQ(j["arenas"][0]["free"]["fast"]["bytes"], 0x80);
  EXPECT_EQ(j["arenas"][0]["trim"]["bytes"], 0x2c000);
  EXPECT_EQ(j["arenas"][0]["largest_free"]["address"], "0x16300");
  EXPECT_EQ(j["total"]["free_bytes"], j["arenas"][0]["free_bytes"]);
  EXPECT_EQ(j["arenas"][0]["histograms"]["free"][0]["from"], 32);
  EXPECT_EQ(j["arenas"][0]["histograms"]["free"][0]["chunks"], 3);
  std::string text = frag_text(m.heap, r, std::nullopt);
  EXPECT_NE(text.find("external fragmentation"), std::string::npos);
  EXPECT_NE(text.find("malloc_trim(0) would release: 180224 (176.0 KiB)"), std::string::npos) << text;
  EXPECT_NE(text.find("[32, 64)"), std::string::npos) << text;
}

}  // namespace
}  // namespace heapscope
