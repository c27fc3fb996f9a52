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
#include "synthetic_tcmalloc.h"
#include "tcmalloc/layout.h"

namespace heapscope {
namespace {

using namespace synthetic_tcmalloc;

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
