// Tests for the tcmalloc model (tcmalloc::try_build): a synthetic gperftools
// 2.10 heap built by hand in a BufferTarget, its statics found by shape with
// only the symbols Debian's library exports, clean and then corrupt in the
// ways a real core can be: every anomaly is a finding, nothing crashes or
// loops. The real library is held to its own figures by
// tests/integration/tcmalloc_test.py.
#include "heapscope/tcmalloc/heap.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "heapscope/buffer_target.h"
#include "heapscope/error.h"
#include "model_findings.h"
#include "model_tally.h"
#include "tcmalloc/layout.h"

namespace heapscope {
namespace {

constexpr char kPath[] = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
const tcmalloc::Layout& L = tcmalloc::known_layouts().front();

constexpr uint64_t kRodata = 0x0f000000, kData = 0x10000000, kDataSize = 0x200000;
constexpr uint64_t kPageheap = kData + 0x1000, kSizemap = kData + 0x190000, kCentral = kData + 0x192000;
constexpr uint64_t kThreadHeapsVar = kData + 0x1f0000, kSystemTakenVar = kData + 0x1f0008, kInitedVar = kData + 0x1f0010;
constexpr uint64_t kMeta = 0x20000000, kChunk = 8 << 20;  // one metadata chunk: a leaf, spans, a thread cache
constexpr uint64_t kLeaf = kMeta, kSpans = kMeta + 0x200000, kThreadCache = kMeta + 0x210000;
constexpr uint64_t kHeap = 0x40000000, kHeapSize = 0x10000;  // eight 8 KiB pages
constexpr uint64_t kPage0 = kHeap >> 13;
// Size classes 0, 8, 16, 1024, 4096 bytes; class 3 moves two objects a batch.
constexpr int32_t kSizes[] = {0, 8, 16, 1024, 4096};
constexpr uint64_t kObj = 1024;

uint64_t span_at(int k) { return kSpans + uint64_t(k) * L.span_size; }
uint64_t object(int k) { return kHeap + uint64_t(k) * kObj; }

// Names only what Debian's library exports.
class ExportedSymbols : public SymbolResolver {
 public:
  std::optional<Address> find(std::string_view, std::string_view name) const override {
    if (name == "_ZN8tcmalloc11ThreadCache13thread_heaps_E") return Address(kThreadHeapsVar);
    if (name == "TCMalloc_SystemTaken") return Address(kSystemTakenVar);
    if (name == "_ZN8tcmalloc6Static7inited_E") return Address(kInitedVar);
    return std::nullopt;
  }
  std::optional<SymbolAt> at(Address) const override { return std::nullopt; }
  bool has_full_symbols(std::string_view) const override { return false; }
};

struct Synthetic {
  BufferTarget t;

  explicit Synthetic(const char* version = "gperftools 2.10") {
    std::vector<std::byte> rodata(0x1000);
    std::memcpy(rodata.data() + 0x100, version, std::strlen(version) + 1);
    t.add_region(Address(kRodata), rodata, kPermRead, kPath);
    t.add_region(Address(kData), std::vector<std::byte>(kDataSize), kPermRead | kPermWrite, kPath);
    t.add_region(Address(kMeta), std::vector<std::byte>(kChunk));
    t.add_region(Address(kHeap), std::vector<std::byte>(kHeapSize));
    t.add_module({kPath, Address(kRodata), {{Address(kRodata), Address(kRodata + 0x1000)},
                                             {Address(kData), Address(kData + kDataSize)}}, ""});
    put(kSizemap + L.sizemap_num_size_classes, std::size(kSizes));
    for (size_t c = 0; c < std::size(kSizes); ++c) {
      t.write_value(Address(kSizemap + L.sizemap_class_to_size + 4 * c), kSizes[c]);
      t.write_value(Address(kSizemap + L.sizemap_num_objects_to_move + 4 * c), int32_t{2});
      put(kSizemap + L.sizemap_class_to_pages + 8 * c, 1);
      uint64_t central = kCentral + c * L.central_size;
      put(central + L.central_size_class, c);
      put(central + L.central_empty + L.span_next, central + L.central_empty);  // empty rings
      put(central + L.central_nonempty + L.span_next, central + L.central_nonempty);
    }
    put(kPageheap + L.pageheap_pagemap_root, kLeaf);  // root slot 0 covers the heap
    // Span 0: one page of 1024-byte objects. 1 on its free list, 2 and 3 in
    // the transfer cache, 4 in the thread cache, the others in use.
    span(0, kPage0, 1, 3 << L.bits_sizeclass_shift | 7);
    put(span_at(0) + L.span_objects, object(1));
    leaf(kPage0, 0);
    uint64_t central3 = kCentral + 3 * L.central_size;
    put(central3 + L.central_counter, 1);
    put(central3 + L.central_num_spans, 1);
    t.write_value(Address(central3 + L.central_used_slots), int32_t{1});
    put(central3 + L.central_tc_slots, object(2));
    put(central3 + L.central_tc_slots + 8, object(3));
    put(object(2), object(3));
    // Span 1: a 16 KiB large allocation; span 2: free; span 3: returned.
    span(1, kPage0 + 1, 2, 0);
    leaf(kPage0 + 1, 1), leaf(kPage0 + 2, 1);
    span(2, kPage0 + 3, 2, tcmalloc::kOnNormalFreelist << L.bits_location_shift);
    leaf(kPage0 + 3, 2), leaf(kPage0 + 4, 2);
    span(3, kPage0 + 5, 3, tcmalloc::kOnReturnedFreelist << L.bits_location_shift);
    leaf(kPage0 + 5, 3), leaf(kPage0 + 7, 3);
    put(kPageheap + L.pageheap_stats + L.stats_system_bytes, kHeapSize);
    put(kPageheap + L.pageheap_stats + L.stats_free_bytes, 0x4000);
    put(kPageheap + L.pageheap_stats + L.stats_unmapped_bytes, 0x6000);
    // One thread cache holding object 4.
    put(kThreadHeapsVar, kThreadCache);
    put(kThreadCache + 3 * L.freelist_size + L.freelist_list, object(4));
    t.write_value(Address(kThreadCache + 3 * L.freelist_size + L.freelist_length), uint32_t{1});
    t.write_value(Address(kThreadCache + L.threadcache_size_bytes), int32_t{kObj});
    put(kSystemTakenVar, kHeapSize + kChunk);
    put(kInitedVar, 1);
  }

  void put(uint64_t at, uint64_t v) { ASSERT_TRUE(t.write_value(Address(at), v)); }
  void span(int k, uint64_t start, uint64_t length, uint32_t bits) {
    put(span_at(k) + L.span_start, start);
    put(span_at(k) + L.span_length, length);
    t.write_value(Address(span_at(k) + L.span_bits), bits);
  }
  void leaf(uint64_t page, int k) { put(kLeaf + 8 * (page & ((1u << L.pagemap_leaf_bits) - 1)), span_at(k)); }

  std::unique_ptr<HeapModel> build() {
    ExportedSymbols syms;
    CancelToken cancel;
    return tcmalloc::try_build(t, syms, cancel);
  }
};

using testing::finding_kinds, testing::has_finding;

TEST(TcmallocHeap, NoTcmallocNoModel) {
  BufferTarget t;
  t.add_region(Address(kHeap), std::vector<std::byte>(kHeapSize));
  ExportedSymbols syms;
  CancelToken cancel;
  EXPECT_EQ(tcmalloc::try_build(t, syms, cancel), nullptr);
}

TEST(TcmallocHeap, SyntheticHeapFoundByShapeAndTiled) {
  Synthetic s;
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  auto& h = static_cast<tcmalloc::Heap&>(*m);
  EXPECT_EQ(h.allocator, "tcmalloc");
  EXPECT_EQ(h.version, "2.10");
  EXPECT_TRUE(h.version_known);
  EXPECT_TRUE(h.found_by_structure);
  EXPECT_EQ(h.pageheap, Address(kPageheap));
  EXPECT_EQ(h.sizemap, Address(kSizemap));
  EXPECT_EQ(h.central_cache, Address(kCentral));
  EXPECT_EQ(finding_kinds(h), std::vector<std::string>{});
  auto k = tally(h).kinds;
  EXPECT_EQ(k["object"], std::make_pair(uint64_t{4}, 4 * kObj));
  EXPECT_EQ(k["central free"], std::make_pair(uint64_t{1}, kObj));
  EXPECT_EQ(k["transfer cache"], std::make_pair(uint64_t{2}, 2 * kObj));
  EXPECT_EQ(k["thread cache"], std::make_pair(uint64_t{1}, kObj));
  EXPECT_EQ(k["large"], std::make_pair(uint64_t{1}, uint64_t{0x4000}));
  EXPECT_EQ(k["page heap free"], std::make_pair(uint64_t{1}, uint64_t{0x4000}));
  EXPECT_EQ(k["returned"], std::make_pair(uint64_t{1}, uint64_t{0x6000}));
  EXPECT_EQ(k["metadata"], std::make_pair(uint64_t{1}, kChunk));
  EXPECT_EQ(h.system, (std::vector<AddressRange>{{Address(kMeta), Address(kMeta + kChunk)},
                                                 {Address(kHeap), Address(kHeap + kHeapSize)}}));
  EXPECT_EQ(h.system_taken, kHeapSize + kChunk);
  ASSERT_EQ(h.lists.size(), 4u);
  EXPECT_EQ(h.lists[2].object_size, kObj);
  EXPECT_EQ(h.lists[2].central_free, 1u);
  EXPECT_EQ(h.lists[2].transfer, 2u);
  EXPECT_EQ(h.lists[2].thread_caches, std::vector<uint32_t>{1});
  const Block* b = h.block_with_user_begin(Address(object(4)));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(h.state(*b), BlockState::kCached);
}

TEST(TcmallocHeap, CorruptionBecomesFindings) {
  {  // A span's free list loops on itself.
    Synthetic s;
    s.put(object(1), object(1));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "free-list-cycle")) << ::testing::PrintToString(finding_kinds(*m));
  }
  {  // A thread cache's list is longer than its length says, into another list.
    Synthetic s;
    s.put(object(4), object(2));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "free-list-repeat")) << ::testing::PrintToString(finding_kinds(*m));
  }
  {  // A page map entry names a descriptor of another page.
    Synthetic s;
    s.put(span_at(2) + L.span_start, kPage0 + 100);
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "bad-span"));
    EXPECT_TRUE(has_finding(*m, "counter-mismatch"));  // the page heap's free bytes no longer add up
  }
  {  // A span far outside mapped memory.
    Synthetic s;
    s.put(span_at(1) + L.span_length, 0x100000);
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "span-unmapped"));
  }
  {  // The same object in the transfer cache and on its span's free list.
    Synthetic s;
    s.put(kCentral + 3 * L.central_size + L.central_tc_slots, object(1));
    s.put(object(1), object(3));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "free-twice")) << ::testing::PrintToString(finding_kinds(*m));
  }
  {  // The thread caches' list loops.
    Synthetic s;
    s.put(kThreadCache + L.threadcache_next, kThreadCache);
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "thread-cache-cycle") || has_finding(*m, "bad-thread-cache"));
  }
}

TEST(TcmallocHeap, UnknownVersionIsSaid) {
  Synthetic s("gperftools 2.15");
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  auto& h = static_cast<tcmalloc::Heap&>(*m);
  EXPECT_EQ(h.version, "2.15");
  EXPECT_FALSE(h.version_known);
  ASSERT_FALSE(h.findings.empty());
  EXPECT_EQ(h.findings[0].kind, "note");
  EXPECT_NE(h.findings[0].detail.find("2.15"), std::string::npos);
}

TEST(TcmallocHeap, NeverInitialisedIsNoHeap) {
  Synthetic s;
  for (uint64_t c = 0; c < std::size(kSizes); ++c) s.t.write_value(Address(kSizemap + L.sizemap_class_to_size + 4 * c), 0);
  s.put(kInitedVar, 0);
  EXPECT_EQ(s.build(), nullptr);
}

TEST(TcmallocHeap, DamagedSizeMapIsOneLine) {
  Synthetic s;
  s.put(kSizemap + L.sizemap_num_size_classes, 1000);  // initialised (inited_ is set), then damaged
  try {
    s.build();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("size map"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find('\n'), std::string::npos);
  }
}

TEST(TcmallocHeap, PageMapNotFoundIsOneLine) {
  Synthetic s;
  s.put(kPageheap + L.pageheap_pagemap_root, 0);
  try {
    s.build();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("_ZN8tcmalloc6Static9pageheap_E"), std::string::npos) << e.message;
  }
}

// Random words over tcmalloc's own structures and the objects: findings,
// no heap or a one-line error, never a crash or a hang.
TEST(TcmallocHeap, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(19);
  for (int round = 0; round < 60; ++round) {
    Synthetic s;
    for (int k = 0; k < 32; ++k) {
      uint64_t at;
      switch (round % 4) {
        case 0: at = kSpans + (rng() % (4 * L.span_size)) / 8 * 8; break;
        case 1: at = kLeaf + 8 * (kPage0 % (1u << L.pagemap_leaf_bits)) + (rng() % 64) / 8 * 8; break;
        case 2: at = kCentral + 3 * L.central_size + (rng() % L.central_size) / 8 * 8; break;
        default: at = (rng() % 2 ? kHeap + rng() % 0x2000 : kThreadCache + rng() % 0x1100) / 8 * 8;
      }
      uint64_t v = rng();
      if (rng() % 3 == 0) v = kHeap + rng() % kHeapSize;
      if (rng() % 5 == 0) v = kPage0 + rng() % 16;
      s.put(at, v);
    }
    try {
      auto m = s.build();
      if (!m) continue;
      for (size_t i = 1; i < m->blocks.size(); ++i) ASSERT_LE(m->blocks[i - 1].end(), m->blocks[i].address);
    } catch (const UserError&) {
    }
  }
}

}  // namespace
}  // namespace heapscope
