// sites::mems_site_tables on hand-made MeMS walks: PROCESS segments become
// records with one-frame stacks shared by equal sites; HOLEs, arena
// segments and pool blocks have none. And how a record without a thread
// renders in heap chunk.
#include "heapscope/sites/mems_sites.h"

#include <gtest/gtest.h>

#include "heapscope/sites/site_groups.h"
#include "heapscope/sites/site_tree.h"
#include "render/sites_render.h"

namespace heapscope {
namespace {

mems::Segment segment(mems::SegmentType type, uint64_t pstart, uint64_t size, uint64_t site, uint64_t seq,
                      uint32_t flags = 0) {
  mems::Segment s;
  s.type = type;
  s.pstart = Address(pstart);
  s.size = size;
  s.site = Address(site);
  s.seq = seq;
  s.flags = flags;
  return s;
}

mems::SegmentHeap walk() {
  using T = mems::SegmentType;
  mems::SegmentHeap h;
  h.root.address = Address(0x9000);
  h.root.next_seq = 8;
  mems::Node a, b;
  // The second node's mapping is lower: records still come in address order.
  a.segments = {segment(T::kProcess, 0x50000, 64, 0x401111, 3), segment(T::kHole, 0x50040, 4032, 0, 0),
                segment(T::kProcess, 0x51000, 1 << 20, 0x402222, 5, 1)};  // a pool arena
  b.segments = {segment(T::kProcess, 0x20000, 128, 0x401111, 1), segment(T::kProcess, 0x20080, 32, 0x403333, 2),
                segment(T::kProcess, 0x200a0, 48, 0, 7), segment(T::kInvalid, 0x200d0, 16, 0x404444, 4)};
  h.nodes = {a, b};
  return h;
}

TEST(MemsSiteTables, ProcessSegmentsAreRecordsWithOneFrameStacks) {
  sites::RecordTables t = sites::mems_site_tables(walk());
  EXPECT_EQ(t.origin, "MeMS");
  EXPECT_EQ(t.root, Address(0x9000));
  EXPECT_EQ(t.pid, 0u);
  EXPECT_EQ(t.allocations, 7u);
  ASSERT_EQ(t.records.size(), 4u);
  EXPECT_EQ(t.records[0].address, Address(0x20000));
  EXPECT_EQ(t.records[1].address, Address(0x20080));
  EXPECT_EQ(t.records[2].address, Address(0x200a0));
  EXPECT_EQ(t.records[3].address, Address(0x50000));
  EXPECT_EQ(t.records[3].seq, 3u);
  EXPECT_EQ(t.records[0].thread, 0u);
  // 0x401111 is one stack for both of its segments; a segment with no site has none.
  EXPECT_EQ(t.records[0].stack, t.records[3].stack);
  EXPECT_NE(t.records[0].stack, t.records[1].stack);
  EXPECT_EQ(t.records[2].stack, sites::kNoStack);
  ASSERT_EQ(t.stacks.size(), 2u);
  EXPECT_EQ(t.stacks[t.records[0].stack], std::vector<Address>{Address(0x401111)});
  EXPECT_EQ(t.stacks[t.records[1].stack], std::vector<Address>{Address(0x403333)});
  EXPECT_EQ(sites::record_at(t, Address(0x20080))->seq, 2u);
  EXPECT_EQ(sites::record_at(t, Address(0x51000)), nullptr);  // the arena
}

TEST(MemsSiteTables, GroupsAndTreeCountSegmentsBySite) {
  sites::RecordTables t = sites::mems_site_tables(walk());
  auto sizes = [](Address a) -> std::optional<uint64_t> {
    if (a == Address(0x20000)) return 128;
    if (a == Address(0x50000)) return 64;
    if (a == Address(0x20080)) return 32;
    return std::nullopt;  // 0x200a0: not counted
  };
  auto g = sites::group_by_site(t, sizes, sites::SiteOrder::kBytes);
  ASSERT_EQ(g.groups.size(), 2u);
  EXPECT_EQ(t.stacks[g.groups[0].stack][0], Address(0x401111));
  EXPECT_EQ(g.groups[0].count, 2u);
  EXPECT_EQ(g.groups[0].bytes, 192u);
  EXPECT_EQ(g.groups[0].first_seq, 1u);
  EXPECT_EQ(g.groups[0].last_seq, 3u);
  EXPECT_EQ(g.not_in_heap, 1u);
  auto tree = sites::build_site_tree(t, g);
  ASSERT_EQ(tree.nodes.size(), 3u);  // the root and one frame per site
  EXPECT_EQ(tree.nodes[0].bytes, 224u);
  EXPECT_EQ(tree.nodes[tree.nodes[0].children[0]].self_bytes, 192u);
}

TEST(MemsSiteTables, ChunkAllocationWithoutThreadOrRecord) {
  ChunkAllocation a;
  a.record = sites::SiteRecord{Address(0x20000), 4, 0, 0};
  a.frames = {NamedFrame{Address(0x401111), std::nullopt}};
  EXPECT_EQ(chunk_allocation_text(a), "  allocation #4, at:\n    #0  0x401111  0x401111\n");
  EXPECT_TRUE(chunk_allocation_json(a)["thread"].is_null());
  ChunkAllocation none;
  none.unrecorded = "MeMS keeps no site for pool blocks";
  EXPECT_EQ(chunk_allocation_text(none), "  allocated at: not recorded (MeMS keeps no site for pool blocks)\n");
}

}  // namespace
}  // namespace heapscope
