// Tests for the jemalloc model (jemalloc::try_build): a synthetic jemalloc
// 5.3 heap built by hand in a BufferTarget, found by shape (no symbols, as
// with Debian's library), clean and then corrupt in the ways a real core can
// be: every anomaly is a finding, nothing crashes or loops. The real library
// is held to its own figures by tests/integration/jemalloc_test.py.
#include "heapscope/jemalloc/heap.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "heapscope/buffer_target.h"
#include "heapscope/error.h"
#include "jemalloc/layout.h"
#include "model_findings.h"
#include "model_tally.h"

namespace heapscope {
namespace {

constexpr char kPath[] = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
constexpr char kVersion[] = "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c";
const jemalloc::Layout& L = jemalloc::known_layouts().front();

constexpr uint64_t kRodata = 0x0f000000, kData = 0x10000000, kDataSize = 0x300000;
constexpr uint64_t kEmap = kData + 0x1000, kArenas = kData + 0x230000;
constexpr uint64_t kMeta = 0x20000000, kMetaSize = 0x400000;  // one base block
constexpr uint64_t kB0 = kMeta + 0x100, kArena0 = kMeta + 0x10000, kLeaf = kMeta + 0x200000;
constexpr uint64_t kSlabEdata = kMeta + 0x1000, kLargeEdata = kMeta + 0x1080, kDirtyEdata = kMeta + 0x1100;
constexpr uint64_t kTcacheSlow = kMeta + 0x40000, kTcache = kMeta + 0x41000, kStack = kMeta + 0x42000;
constexpr uint64_t kHeap = 0x40000000, kHeapSize = 0x100000;  // root slot 1
constexpr uint64_t kSlab = kHeap, kLarge = kHeap + 0x1000, kLargeUser = kLarge + 64, kDirty = kHeap + 0x6000;

// szind 4 = 64-byte regions, szind 36 = 16 KiB, the first large class.
uint64_t edata_bits(unsigned arena, bool slab, unsigned state, unsigned szind, unsigned nfree) {
  return uint64_t(arena) | uint64_t(slab) << L.bits_slab_shift | uint64_t(state) << L.bits_state_shift |
         uint64_t(szind) << L.bits_szind_shift | uint64_t(nfree) << L.bits_nfree_shift;
}

struct Synthetic {
  BufferTarget t;

  Synthetic() {
    std::vector<std::byte> rodata(0x1000);
    std::memcpy(rodata.data() + 0x100, kVersion, sizeof kVersion);
    t.add_region(Address(kRodata), rodata, kPermRead, kPath);
    t.add_region(Address(kData), std::vector<std::byte>(kDataSize), kPermRead | kPermWrite, kPath);
    t.add_region(Address(kMeta), std::vector<std::byte>(kMetaSize));
    t.add_region(Address(kHeap), std::vector<std::byte>(kHeapSize));
    t.add_module({kPath, Address(kRodata), {{Address(kRodata), Address(kRodata + 0x1000)},
                                             {Address(kData), Address(kData + kDataSize)}}, ""});
    // The emap: its base is b0; root slot 1 covers [1 GiB, 2 GiB).
    put(kEmap + L.rtree_base, kB0);
    put(kEmap + L.rtree_root + 8 * (kHeap >> 30), kLeaf);
    // b0: arena 0's base, one block (this whole region).
    put(kB0 + L.base_blocks, kMeta);
    put(kMeta + L.base_block_size, kMetaSize);
    // Arena 0 and je_arenas.
    t.write_value(Address(kArena0 + L.arena_ind), uint32_t{0});
    put(kArena0 + L.arena_base, kB0);
    put(kArenas, kArena0);
    // jemalloc's counters: ten 64-byte regions, one 16 KiB allocation.
    put(kArena0 + L.arena_bins + 4 * L.bin_size + L.bin_curregs, 10);
    put(kArena0 + L.arena_lstats + L.lstats_nmalloc, 3);
    put(kArena0 + L.arena_lstats + L.lstats_ndalloc, 2);
    // A one-page slab of 64-byte regions, 0..9 allocated (jemalloc stores free as 1).
    put(kSlabEdata + L.edata_bits, edata_bits(0, true, 0, 4, 54));
    put(kSlabEdata + L.edata_addr, kSlab);
    put(kSlabEdata + L.edata_size_esn, 0x1000);
    put(kSlabEdata + L.edata_slab_bitmap, ~uint64_t{0x3ff});
    leaf(kSlab, kSlabEdata);
    // A 16 KiB large allocation at a cache line of its extent's first page.
    put(kLargeEdata + L.edata_bits, edata_bits(0, false, 0, 36, 0));
    put(kLargeEdata + L.edata_addr, kLargeUser);
    put(kLargeEdata + L.edata_size_esn, 0x5000);
    leaf(kLarge, kLargeEdata);
    leaf(kLarge + 0x4000, kLargeEdata);
    // Two dirty pages.
    put(kDirtyEdata + L.edata_bits, edata_bits(0, false, 1, 0, 0));
    put(kDirtyEdata + L.edata_addr, kDirty);
    put(kDirtyEdata + L.edata_size_esn, 0x2000);
    leaf(kDirty, kDirtyEdata);
    leaf(kDirty + 0x1000, kDirtyEdata);
  }

  void put(uint64_t at, uint64_t v) { ASSERT_TRUE(t.write_value(Address(at), v)); }
  void leaf(uint64_t page, uint64_t edata) {
    put(kLeaf + 8 * ((page >> 12) & 0x3ffff), edata | uint64_t{1} << 2);  // state bits: not read
  }
  // One thread's cache holding `items` in its bin 4 (64 bytes).
  void tcache(std::vector<uint64_t> items) {
    put(kArena0 + L.arena_tcache_ql, kTcacheSlow);
    put(kTcacheSlow + L.tcache_slow_link, kTcacheSlow);  // a ring of one
    put(kTcacheSlow + L.tcache_slow_tcache, kTcache);
    for (int b = 0; b < L.tcache_nbins_max; ++b) {
      uint64_t bin = kTcache + L.tcache_bins + b * L.cache_bin_size;
      uint64_t empty = kStack + 0x100 * (b + 1);  // every bin empty: head == empty
      uint64_t head = b == 4 ? empty - 8 * items.size() : empty;
      put(bin + L.cache_bin_stack_head, head);
      t.write_value(Address(bin + L.cache_bin_low_bits_empty), uint16_t(empty));
      if (b == 4)
        for (size_t k = 0; k < items.size(); ++k) put(head + 8 * k, items[k]);
    }
  }

  std::unique_ptr<HeapModel> build() {
    auto syms = make_no_symbols();
    CancelToken cancel;
    return jemalloc::try_build(t, *syms, cancel);
  }
};

using testing::finding_kinds, testing::has_finding;

TEST(JemallocHeap, NoJemallocNoModel) {
  BufferTarget t;
  t.add_region(Address(kHeap), std::vector<std::byte>(0x1000));
  auto syms = make_no_symbols();
  CancelToken cancel;
  EXPECT_EQ(jemalloc::try_build(t, *syms, cancel), nullptr);
}

TEST(JemallocHeap, SyntheticHeapFoundByShapeAndTiled) {
  Synthetic s;
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  auto& heap = static_cast<jemalloc::Heap&>(*m);
  EXPECT_EQ(heap.allocator, "jemalloc");
  EXPECT_EQ(heap.version, kVersion);
  EXPECT_TRUE(heap.version_known);
  EXPECT_TRUE(heap.found_by_structure);
  EXPECT_EQ(heap.emap, Address(kEmap));
  EXPECT_EQ(heap.arenas, Address(kArenas));
  EXPECT_EQ(finding_kinds(heap), std::vector<std::string>{});
  ModelTally t = tally(heap);
  EXPECT_EQ(t.in_use_blocks, 11u);
  EXPECT_EQ(t.in_use_bytes, 10 * 64 + 16384u);
  EXPECT_EQ(t.kinds["free region"], std::make_pair(uint64_t{54}, uint64_t{54 * 64}));
  EXPECT_EQ(t.kinds["large pad"], std::make_pair(uint64_t{2}, uint64_t{0x5000 - 16384}));
  EXPECT_EQ(t.kinds["dirty"], std::make_pair(uint64_t{1}, uint64_t{0x2000}));
  EXPECT_EQ(t.kinds["base"], std::make_pair(uint64_t{1}, kMetaSize));
  // The large allocation's user bytes start at its cache-line offset.
  const Block* large = nullptr;
  for (const auto& b : heap.blocks)
    if (heap.kind_of(b).name == "large") large = &b;
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(heap.user_begin(*large), Address(kLargeUser));
  // Blocks in address order, touching: [slab, large, dirty) then the base block.
  for (size_t i = 1; i < heap.blocks.size(); ++i) EXPECT_LE(heap.blocks[i - 1].end(), heap.blocks[i].address);
  ASSERT_EQ(heap.system.size(), 2u);
  EXPECT_EQ(heap.system[1], (AddressRange{Address(kHeap), Address(kDirty + 0x2000)}));
  ASSERT_EQ(heap.owners.size(), 1u);
  EXPECT_EQ(heap.owners[0].label, "arena 0");
  EXPECT_EQ(heap.owners[0].address, Address(kArena0));
}

TEST(JemallocHeap, ThreadCacheItemsAreCached) {
  Synthetic s;
  s.tcache({kSlab + 3 * 64, kLargeUser});
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(finding_kinds(*m), std::vector<std::string>{});
  ModelTally t = tally(*m);
  EXPECT_EQ(t.in_use_blocks, 9u);
  EXPECT_EQ(t.kinds["tcache"], std::make_pair(uint64_t{2}, uint64_t{64 + 16384}));
}

TEST(JemallocHeap, CorruptionBecomesFindings) {
  {
    Synthetic s;  // nfree disagrees with the bitmap
    s.put(kSlabEdata + L.edata_bits, edata_bits(0, true, 0, 4, 50));
    EXPECT_TRUE(has_finding(*s.build(), "slab-nfree"));
  }
  {
    Synthetic s;  // a leaf names a descriptor nobody mapped
    s.leaf(kHeap + 0x9000, 0x50000000);
    EXPECT_TRUE(has_finding(*s.build(), "bad-edata"));
  }
  {
    Synthetic s;  // an extent larger than any mapping
    s.put(kDirtyEdata + L.edata_size_esn, uint64_t{1} << 40);
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "extent-unmapped"));
    EXPECT_EQ(tally(*m).kinds.count("dirty"), 0u);  // left out, not a 1 TiB block
  }
  {
    Synthetic s;  // the base's block list loops
    s.put(kMeta + L.base_block_next, kMeta);
    EXPECT_TRUE(has_finding(*s.build(), "base-cycle"));
  }
  {
    Synthetic s;  // a tcache list that never comes back to its head
    s.tcache({});
    s.put(kTcacheSlow + L.tcache_slow_link, kTcacheSlow + 0x200);
    s.put(kTcacheSlow + 0x200 + L.tcache_slow_link, kTcacheSlow + 0x200);
    s.put(kTcacheSlow + 0x200 + L.tcache_slow_tcache, kTcache);
    EXPECT_TRUE(has_finding(*s.build(), "tcache-list-cycle"));
  }
  {
    Synthetic s;  // a cached pointer that is no allocation, and one free in its slab
    s.tcache({kSlab + 8, kSlab + 20 * 64});
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "tcache-stray"));
    EXPECT_TRUE(has_finding(*m, "tcache-free-region"));
  }
  {
    Synthetic s;  // jemalloc counts a region the bitmap does not have
    s.put(kArena0 + L.arena_bins + 4 * L.bin_size + L.bin_curregs, 11);
    auto m = s.build();
    ASSERT_EQ(finding_kinds(*m), std::vector<std::string>{"counter-mismatch"});
    EXPECT_NE(m->findings[0].detail.find("jemalloc counts 11 allocated, the walk found 10"), std::string::npos);
  }
  {
    Synthetic s;  // a slab whose size class is a large one
    s.put(kSlabEdata + L.edata_bits, edata_bits(0, true, 0, 200, 0));
    EXPECT_TRUE(has_finding(*s.build(), "bad-slab"));
  }
}

TEST(JemallocHeap, UnknownVersionIsSaid) {
  Synthetic s;
  const char other[] = "9.1.0-0-g0000000000000000000000000000000000000000";
  ASSERT_TRUE(s.t.write(Address(kRodata + 0x100), other, sizeof other));
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(static_cast<jemalloc::Heap&>(*m).version_known);
  ASSERT_FALSE(m->findings.empty());
  EXPECT_NE(m->findings[0].detail.find("9.1.0"), std::string::npos);
}

TEST(JemallocHeap, NeverInitialisedIsNoHeap) {
  Synthetic s;  // loaded beside another malloc: its extent map is empty
  s.put(kEmap + L.rtree_root + 8 * (kHeap >> 30), 0);
  EXPECT_EQ(s.build(), nullptr);
}

TEST(JemallocHeap, UnreadableEmapIsOneLine) {
  Synthetic s;  // a leaf pointer, but the array around it is no extent map
  s.put(kEmap + L.rtree_root + 8 * 5, 0x60000000);
  auto syms = make_no_symbols();
  CancelToken cancel;
  try {
    jemalloc::try_build(s.t, *syms, cancel);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("je_arena_emap_global"), std::string::npos) << e.message;
  }
}

// Random bytes over the metadata: findings, no heap or a one-line error,
// never a crash or a hang.
TEST(JemallocHeap, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 40; ++round) {
    Synthetic s;
    for (int k = 0; k < 64; ++k) {
      uint64_t at = kMeta + (rng() % 0x2000) / 8 * 8;
      if (round % 2) at = kLeaf + (rng() % 0x8000) / 8 * 8;
      s.put(at, rng() % 3 == 0 ? kHeap + rng() % kHeapSize : rng());
    }
    try {
      auto m = s.build();
      if (!m) continue;  // no leaf left that fits: no heap
      for (size_t i = 1; i < m->blocks.size(); ++i) ASSERT_LE(m->blocks[i - 1].end(), m->blocks[i].address);
    } catch (const UserError&) {
    }
  }
}

}  // namespace
}  // namespace heapscope
