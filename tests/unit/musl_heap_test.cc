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

namespace heapscope {
namespace {

using namespace musl;

constexpr char kPath[] = "/usr/lib/x86_64-linux-musl/libc.so";
constexpr uint64_t kSecret = 0x1234567890abcdefull;
constexpr uint64_t kData = 0x10000000, kCtx = kData + 0x400;
constexpr uint64_t kArea = 0x20000000;
constexpr uint64_t kMeta0 = kArea + meta_area::kSlots, kMeta1 = kMeta0 + meta::kSize, kMeta2 = kMeta1 + meta::kSize,
                   kMeta3 = kMeta2 + meta::kSize;
constexpr uint64_t kGroupA = 0x30000000;            // one page, class 3: four 64-byte slots
constexpr uint64_t kSlotA = kGroupA + kUnit;        // slot i at kSlotA + 64 i
constexpr uint64_t kGroupB = kSlotA + 3 * 64;       // nested in A's slot 3: class 0, two 16-byte slots
constexpr uint64_t kGroupC = 0x30100000;            // malloc's own mapping: two pages, one slot

uint64_t meta_bits(unsigned last_idx, bool freeable, unsigned sc, uint64_t maplen) {
  return last_idx | uint64_t(freeable) << 5 | uint64_t(sc) << 6 | maplen << 12;
}

struct Synthetic {
  BufferTarget t;

  Synthetic() {
    t.add_region(Address(kData), std::vector<std::byte>(0x1000), kPermRead | kPermWrite, kPath);
    t.add_region(Address(kArea), std::vector<std::byte>(kPage));
    t.add_region(Address(kGroupA), std::vector<std::byte>(kPage));
    t.add_region(Address(kGroupC), std::vector<std::byte>(2 * kPage));
    t.add_module({kPath, Address(kData), {{Address(kData), Address(kData + 0x1000)}}, ""});
    // The context: one meta area, four metas handed out (the fourth freed).
    put(kCtx + context::kSecret, kSecret);
    put32(kCtx + context::kInitDone, 1);
    put(kCtx + context::kFreeMetaHead, kMeta3);
    put(kCtx + context::kAvailMeta, kMeta3 + meta::kSize);
    put(kCtx + context::kAvailMetaCount, kMetasPerArea - 4);
    put(kCtx + context::kMetaAreaHead, kArea);
    put(kCtx + context::kMetaAreaTail, kArea);
    put(kCtx + context::kActive + 8 * 3, kMeta0);
    put(kCtx + context::kActive + 8 * 0, kMeta1);
    put(kCtx + context::kUsageByClass + 8 * 3, 4);
    put(kCtx + context::kUsageByClass + 8 * 0, 2);
    put(kArea + meta_area::kCheck, kSecret);
    put32(kArea + meta_area::kNslots, uint32_t(kMetasPerArea));
    // Group A: slot 0 holds 40 bytes, slot 1 10 bytes two units in, slot 2
    // is freed, slot 3 holds group B.
    meta(kMeta0, kMeta0, kGroupA, 0, 1u << 2, meta_bits(3, true, 3, 1));
    slot_header(kSlotA, 0, 0, 40, 64);
    t.write_value(Address(kSlotA + 64 - 3), uint8_t(slot::kOffsetStart << 5));
    t.write_value(Address(kSlotA + 64 - 2), uint16_t(2));
    slot_header(kSlotA + 64 + 32, 1, 4 + 2, 10, 64 - 32);
    slot_header(kSlotA + 3 * 64, 3, 12, 0, 64);
    t.write_value(Address(kSlotA + 3 * 64 - 3), uint8_t(3 | slot::kNestedGroup << 5));
    // Group B: slot 0 holds 5 bytes, slot 1 is ready to hand out.
    meta(kMeta1, kMeta1, kGroupB, 1u << 1, 0, meta_bits(1, true, 0, 0));
    slot_header(kGroupB + kUnit, 0, 0, 5, 16);
    // Group C: 5000 bytes in a mapping of their own.
    meta(kMeta2, 0, kGroupC, 0, 0, meta_bits(0, true, kMmappedClass, 2));
    slot_header(kGroupC + kUnit, 0, 0, 5000, 2 * kPage - kUnit);
    // A freed meta: zeroed, alone on the free list.
    put(kMeta3 + meta::kPrev, kMeta3);
    put(kMeta3 + meta::kNext, kMeta3);
  }

  void put(uint64_t at, uint64_t v) { ASSERT_TRUE(t.write_value(Address(at), v)); }
  void put32(uint64_t at, uint32_t v) { ASSERT_TRUE(t.write_value(Address(at), v)); }
  // A meta alone on its ring (ring = itself) or on none (ring = 0).
  void meta(uint64_t at, uint64_t ring, uint64_t mem, uint32_t avail, uint32_t freed, uint64_t bits) {
    put(at + meta::kPrev, ring);
    put(at + meta::kNext, ring);
    put(at + meta::kMem, mem);
    put32(at + meta::kAvailMask, avail);
    put32(at + meta::kFreedMask, freed);
    put(at + meta::kBits, bits);
    put(mem + group::kMeta, at);
  }
  // The header in front of p, slot `index` at `offset` units into its group,
  // holding n of the `room` bytes from p to the slot's end.
  void slot_header(uint64_t p, unsigned index, uint16_t offset, uint64_t n, uint64_t room) {
    const uint64_t end = p + room - kInBand;
    uint64_t reserved = end - p - n;
    if (reserved >= slot::kReservedInTail) {
      put32(end - 4, uint32_t(reserved));
      reserved = slot::kReservedInTail;
    }
    t.write_value(Address(p - 3), uint8_t(index | reserved << 5));
    t.write_value(Address(p - 2), offset);
  }

  std::unique_ptr<HeapModel> build() {
    auto syms = make_no_symbols();
    CancelToken cancel;
    return musl::try_build(t, *syms, cancel);
  }
};

std::map<std::string, std::pair<uint64_t, uint64_t>> kinds(const HeapModel& m) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  for (const auto& b : m.blocks) {
    auto& k = out[std::string(m.kind_of(b).name)];
    ++k.first;
    k.second += b.size;
  }
  return out;
}

std::vector<std::string> finding_kinds(const HeapModel& m) {
  std::vector<std::string> out;
  for (const auto& f : m.findings) out.push_back(f.kind);
  return out;
}

bool has_finding(const HeapModel& m, std::string_view kind) {
  for (const auto& f : m.findings)
    if (f.kind == kind) return true;
  return false;
}

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
