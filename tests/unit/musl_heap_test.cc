// Tests for the musl mallocng model (musl::try_build): a synthetic heap
// built by hand in a BufferTarget beside a musl libc.so without symbols, so
// the context is found by shape; clean, then corrupt in the ways a real
// core can be: every anomaly is a finding, nothing crashes or loops. Real
// programs are held to their own records by tests/integration/musl_test.py.
#include "heapscope/musl/heap.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "heapscope/buffer_target.h"
#include "heapscope/error.h"
#include "musl/layout.h"
#include "model_findings.h"
#include "musl_synthetic.h"

namespace heapscope {
namespace {

using namespace musl;
using Synthetic = testing::MuslSynthetic;
using testing::kArea, testing::kCtx, testing::kData, testing::kGroupA, testing::kGroupB, testing::kGroupC,
    testing::kMeta0, testing::kMeta1, testing::kMeta2, testing::kMeta3, testing::kSecret, testing::kSlotA,
    testing::meta_bits;

std::map<std::string, std::pair<uint64_t, uint64_t>> kinds(const HeapModel& m) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  for (const auto& b : m.blocks) {
    auto& k = out[std::string(m.kind_of(b).name)];
    ++k.first;
    k.second += b.size;
  }
  return out;
}

using testing::finding_kinds, testing::has_finding;

TEST(MuslHeap, NoMuslNoModel) {
  BufferTarget t;
  t.add_region(Address(kData), std::vector<std::byte>(0x1000), kPermRead | kPermWrite, "/usr/bin/true");
  auto syms = make_no_symbols();
  CancelToken cancel;
  EXPECT_EQ(musl::try_build(t, *syms, cancel), nullptr);
}

TEST(MuslHeap, SyntheticHeapFoundByShapeAndTiled) {
  Synthetic s;
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  auto& heap = static_cast<musl::Heap&>(*m);
  EXPECT_EQ(heap.allocator, "musl");
  EXPECT_TRUE(heap.found_by_structure);
  EXPECT_EQ(heap.context, Address(kCtx));
  EXPECT_EQ(heap.secret, kSecret);
  EXPECT_EQ(finding_kinds(heap), std::vector<std::string>{});
  auto k = kinds(heap);
  using P = std::pair<uint64_t, uint64_t>;
  EXPECT_EQ(k["slot"], P(3, 40 + 10 + 5));
  EXPECT_EQ(k["mmapped"], P(1, 5000));
  EXPECT_EQ(k["freed slot"], P(1, 64));
  EXPECT_EQ(k["avail slot"], P(1, 16));
  EXPECT_EQ(k["slot offset"], P(1, 32));
  EXPECT_EQ(k["group header"], P(3, 48));
  EXPECT_EQ(k["meta area"], P(1, kPage));
  // Every byte of the meta area, group A's page and C's two pages, once.
  uint64_t total = 0;
  for (const auto& b : heap.blocks) total += b.size;
  EXPECT_EQ(total, 4 * kPage);
  for (size_t i = 1; i < heap.blocks.size(); ++i) EXPECT_LE(heap.blocks[i - 1].end(), heap.blocks[i].address);
  ASSERT_EQ(heap.system.size(), 3u);
  EXPECT_EQ(heap.system[1], (AddressRange{Address(kGroupA), Address(kGroupA + kPage)}));
  // The allocation at an offset starts where malloc returned it.
  ASSERT_NE(heap.block_at(Address(kSlotA + 64 + 32)), nullptr);
  EXPECT_EQ(heap.block_at(Address(kSlotA + 64 + 32))->size, 10u);
  // Groups as their metas say, B nested in A and both on their active lists.
  ASSERT_EQ(heap.groups.size(), 3u);
  EXPECT_TRUE(heap.groups[1].nested);
  EXPECT_TRUE(heap.groups[0].active && heap.groups[1].active);
  EXPECT_FALSE(heap.groups[2].active);
}

TEST(MuslHeap, CorruptionBecomesFindings) {
  {
    Synthetic s;  // group A no longer points back at its meta
    s.put(kGroupA + group::kMeta, kMeta2);
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "bad-meta"));
    EXPECT_TRUE(has_finding(*m, "orphan-group"));  // B's slot is in a group nobody reads
  }
  {
    Synthetic s;  // the meta area's check word is not the secret: by shape, no context fits
    s.put(kArea + meta_area::kCheck, 1);
    try {
      s.build();
      FAIL() << "expected a UserError";
    } catch (const UserError& e) {
      EXPECT_NE(e.message.find("__malloc_context"), std::string::npos) << e.message;
    }
  }
  {
    Synthetic s;  // a slot in use whose header names another index
    s.t.write_value(Address(kSlotA - 3), uint8_t(2 | 5 << 5));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "bad-slot"));
    EXPECT_EQ(kinds(*m)["bad slot"].first, 1u);
  }
  {
    Synthetic s;  // the program wrote one byte past its 40
    s.t.write_value(Address(kSlotA + 40), uint8_t(0x41));
    auto m = s.build();
    ASSERT_EQ(finding_kinds(*m), std::vector<std::string>{"slot-overflow"});
    EXPECT_EQ(m->findings[0].address, Address(kSlotA));
  }
  {
    Synthetic s;  // mallocng counts a slot more than its groups have
    s.put(kCtx + context::kUsageByClass + 8 * 3, 5);
    EXPECT_EQ(finding_kinds(*s.build()), std::vector<std::string>{"usage-mismatch"});
  }
  {
    Synthetic s;  // an active list whose next and prev disagree
    s.put(kMeta0 + meta::kNext, kMeta2);
    EXPECT_TRUE(has_finding(*s.build(), "meta-list-link"));
  }
  {
    Synthetic s;  // the parent slot says freed: the nested group is in no slot
    s.put32(kMeta0 + meta::kFreedMask, (1u << 2) | (1u << 3));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "orphan-group"));
    EXPECT_EQ(kinds(*m)["slot"].first, 2u);
  }
  {
    Synthetic s;  // a mapping larger than memory
    s.put(kMeta2 + meta::kBits, meta_bits(0, true, kMmappedClass, uint64_t{1} << 30));
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "group-unmapped"));
    EXPECT_EQ(kinds(*m).count("mmapped"), 0u);
  }
  {
    Synthetic s;  // the meta area list loops
    s.put(kArea + meta_area::kNext, kArea);
    EXPECT_TRUE(has_finding(*s.build(), "meta-area-cycle"));
  }
}

// Random bytes over the context, the metas and the slot headers: findings,
// no heap or a one-line error, never a crash or a hang; blocks never overlap.
TEST(MuslHeap, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(19);
  int built = 0;
  const uint64_t targets[] = {kArea, kGroupA, kGroupC, kCtx};
  for (int round = 0; round < 200; ++round) {
    Synthetic s;
    for (int k = 0; k < 8; ++k) {
      // One round in four damages the context too (then often no context fits).
      const uint64_t base = targets[rng() % (round % 4 ? std::size(targets) - 1 : std::size(targets))];
      const uint64_t at = base + rng() % (base == kCtx ? context::kSize : 512);
      switch (rng() % 3) {
        case 0: s.t.write_value(Address(at), uint8_t(rng())); break;
        case 1: s.t.write_value(Address(at & ~7ull), kGroupA + rng() % kPage); break;
        default: s.t.write_value(Address(at & ~3ull), uint32_t(rng())); break;
      }
    }
    try {
      auto m = s.build();
      ASSERT_NE(m, nullptr);  // musl's libc is mapped: a model, or a UserError
      ++built;
      for (size_t i = 1; i < m->blocks.size(); ++i) ASSERT_LE(m->blocks[i - 1].end(), m->blocks[i].address);
    } catch (const UserError&) {
    }
  }
  EXPECT_GT(built, 120);  // most rounds damage the heap, not the way to it
}

}  // namespace
}  // namespace heapscope
