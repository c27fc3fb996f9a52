// Tests for the mimalloc model (mimalloc::try_build): a synthetic mimalloc
// 2.0.9 heap built by hand in a BufferTarget (one segment, a page of small
// blocks on all four lists, a large page, a free span), found by shape (no
// symbol but the exported mi_version, as with Debian's library), clean and
// then corrupt: every anomaly is a finding, nothing crashes or loops. The
// real library is held to mi_heap_visit_blocks by
// tests/integration/mimalloc_test.py.
#include "heapscope/mimalloc/heap.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "heapscope/buffer_target.h"
#include "heapscope/error.h"
#include "model_findings.h"
#include "mimalloc/layout.h"
#include "synthetic_mimalloc.h"

namespace heapscope {
namespace {

using namespace synthetic_mimalloc;

// mi_version() (exported), and _mi_heap_main when a debug file would name it.
class VersionSymbol : public SymbolResolver {
 public:
  explicit VersionSymbol(std::optional<Address> main_heap = std::nullopt) : main_heap_(main_heap) {}
  std::optional<Address> find(std::string_view, std::string_view name) const override {
    if (name == "_mi_heap_main") return main_heap_;
    return name == "mi_version" ? std::optional<Address>(Address(kVersionFn)) : std::nullopt;
  }
  std::optional<SymbolAt> at(Address) const override { return std::nullopt; }
  bool has_full_symbols(std::string_view) const override { return main_heap_.has_value(); }

 private:
  std::optional<Address> main_heap_;
};

struct Synthetic : synthetic_mimalloc::SyntheticMimalloc {
  std::unique_ptr<HeapModel> build(std::optional<Address> main_heap_symbol = std::nullopt) {
    VersionSymbol syms(main_heap_symbol);
    CancelToken cancel;
    return mimalloc::try_build(t, syms, cancel);
  }
};

std::map<std::string, std::pair<uint64_t, uint64_t>> kinds(const HeapModel& m) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;  // name: blocks, bytes
  for (const auto& b : m.blocks) {
    auto& k = out[std::string(m.kind_of(b).name)];
    ++k.first;
    k.second += b.size;
  }
  return out;
}

using testing::finding_kinds;
using testing::has_finding;

using Tally = std::pair<uint64_t, uint64_t>;

TEST(MimallocHeap, NoMimallocNoModel) {
  BufferTarget t;
  t.add_region(Address(kSeg), std::vector<std::byte>(0x1000));
  VersionSymbol syms;
  CancelToken cancel;
  EXPECT_EQ(mimalloc::try_build(t, syms, cancel), nullptr);
}

TEST(MimallocHeap, SyntheticHeapFoundByShapeAndTiled) {
  Synthetic s;
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  auto& heap = static_cast<mimalloc::Heap&>(*m);
  EXPECT_EQ(heap.allocator, "mimalloc");
  EXPECT_EQ(heap.version, "2.0.9");
  EXPECT_TRUE(heap.version_known);
  EXPECT_TRUE(heap.found_by_structure);
  EXPECT_EQ(finding_kinds(heap), std::vector<std::string>{});
  EXPECT_EQ(heap.main_heap, Address(kMainHeap));
  auto k = kinds(heap);
  EXPECT_EQ(k["block"], Tally(4, 4 * 64));
  EXPECT_EQ(k["free"], Tally(3, 3 * 64));
  EXPECT_EQ(k["local free"], Tally(1, 64));
  EXPECT_EQ(k["thread free"], Tally(1, 64));
  EXPECT_EQ(k["delayed free"], Tally(1, 64));
  EXPECT_EQ(k["unused"], Tally(1, 10 * 64));
  EXPECT_EQ(k["page pad"], Tally(1, 384));
  EXPECT_EQ(k["page tail"], Tally(2, (0x10000 - 384 - 20 * 64) + (0x40000 - 200 * 1024)));
  EXPECT_EQ(k["large block"], Tally(1, 200 * 1024));
  EXPECT_EQ(k["segment info"], Tally(1, 0x10000));
  EXPECT_EQ(k["free span"], Tally(1, 506 * 0x10000));
  ASSERT_EQ(heap.system.size(), 1u);
  EXPECT_EQ(heap.system[0], (AddressRange{Address(kSeg), Address(kSeg + L.segment_size)}));
  ASSERT_EQ(heap.owners.size(), 1u);
  EXPECT_EQ(heap.owners[0].label, "main heap");
  EXPECT_EQ(heap.owners[0].system_bytes, L.segment_size);
  ASSERT_EQ(heap.pages.size(), 2u);
  const auto& p = heap.pages[0];
  EXPECT_EQ(std::vector<uint32_t>({p.free, p.local_free, p.thread_free, p.delayed_free}),
            std::vector<uint32_t>({3, 1, 1, 1}));
  EXPECT_EQ(heap.block_at(Address(block(1)))->size, 64u);
}

TEST(MimallocHeap, MainHeapBySymbolGivesTheSameModel) {
  Synthetic s;
  auto by_shape = s.build();
  auto by_symbol = s.build(Address(kMainHeap));
  ASSERT_NE(by_symbol, nullptr);
  EXPECT_FALSE(static_cast<mimalloc::Heap&>(*by_symbol).found_by_structure);
  EXPECT_EQ(finding_kinds(*by_symbol), std::vector<std::string>{});
  EXPECT_EQ(kinds(*by_symbol), kinds(*by_shape));
  // A symbol whose cookie is no segment's key: found by shape, and said.
  s.put(kMainHeap + L.heap_cookie, kKey + 1);
  auto wrong = s.build(Address(kMainHeap));
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(wrong->findings[0].kind, "note");
  EXPECT_NE(wrong->findings[0].detail.find("segments found by shape"), std::string::npos);
  EXPECT_EQ(kinds(*wrong), kinds(*by_shape));
}

TEST(MimallocHeap, CachedSegmentIsOneFreeBlock) {
  Synthetic s;  // freed into the segment cache: no thread, nothing used
  s.put(kSeg + L.seg_thread_id, 0);
  s.put(kSeg + L.seg_used, 0);
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(kinds(*m), (std::map<std::string, Tally>{{"cached segment", Tally(1, L.segment_size)}}));
  EXPECT_EQ(m->owners[0].label, "segment cache");
}

TEST(MimallocHeap, CorruptionBecomesFindings) {
  {
    Synthetic s;  // the free list comes back to its first block
    s.put(block(7), block(2));
    EXPECT_TRUE(has_finding(*s.build(), "free-list-cycle"));
  }
  {
    Synthetic s;  // a free list into the middle of a block
    s.put(block(5), block(7) + 8);
    EXPECT_TRUE(has_finding(*s.build(), "bad-free-list"));
  }
  {
    Synthetic s;  // the local free list shares a block with the free list
    s.put(block(9), block(5));
    EXPECT_TRUE(has_finding(*s.build(), "free-list-shared"));
  }
  {
    Synthetic s;  // `used` disagrees with the lists
    s.t.write_value(Address(SyntheticMimalloc::desc(1) + L.page_used), uint32_t{9});
    EXPECT_EQ(finding_kinds(*s.build()), std::vector<std::string>{"page-used"});
  }
  {
    Synthetic s;  // more blocks reserved than the page holds
    s.t.write_value(Address(SyntheticMimalloc::desc(1) + L.page_reserved), uint16_t{5000});
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "bad-page"));
    EXPECT_EQ(kinds(*m)["unknown"], Tally(1, 0x10000));
  }
  {
    Synthetic s;  // the delayed list loops
    s.put(block(0), block(0));
    EXPECT_TRUE(has_finding(*s.build(), "delayed-cycle"));
  }
  {
    Synthetic s;  // a delayed block in no page
    s.put(block(0), kSeg + 0x800000);
    EXPECT_TRUE(has_finding(*s.build(), "delayed-stray"));
  }
  {
    Synthetic s;  // a span of no slices: the rest of the segment is unknown
    s.t.write_value(Address(SyntheticMimalloc::desc(6) + L.page_slice_count), uint32_t{0});
    auto m = s.build();
    EXPECT_TRUE(has_finding(*m, "bad-slice"));
    EXPECT_EQ(kinds(*m)["unknown"], Tally(1, 506 * 0x10000));
  }
  {
    Synthetic s;  // a page names a heap its thread does not list
    s.put(kTld + L.tld_heaps, 0);
    EXPECT_TRUE(has_finding(*s.build(), "bad-heap"));
  }
}

TEST(MimallocHeap, UnknownVersionIsSaid) {
  Synthetic s;
  s.version(9901);
  auto m = s.build();
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(static_cast<mimalloc::Heap&>(*m).version_known);
  ASSERT_FALSE(m->findings.empty());
  EXPECT_NE(m->findings[0].detail.find("99.0.1"), std::string::npos) << m->findings[0].detail;
}

TEST(MimallocHeap, ForeignHeaderIsNoSegment) {
  Synthetic s;  // a header of no slices for itself is no segment: nothing else is there
  s.put(kSeg + L.seg_info_slices, 0);
  EXPECT_EQ(s.build(), nullptr);
}

// Random bytes over the segment header and page descriptors, the blocks
// and the heap: findings or no heap, never a crash or a hang.
TEST(MimallocHeap, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(19);
  for (int round = 0; round < 24; ++round) {
    Synthetic s;
    for (int k = 0; k < 48; ++k) {
      uint64_t at = round % 3 == 0   ? kSeg + L.seg_used + (rng() % 0x300) / 8 * 8
                    : round % 3 == 1 ? kSmall + (rng() % 0x400) / 8 * 8
                                     : kMainHeap + (rng() % L.heap_size) / 8 * 8;
      s.put(at, rng() % 3 == 0 ? kSeg + rng() % 0x40000 : rng() % 2 ? rng() : rng() % 600);
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
