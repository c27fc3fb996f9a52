// compute_model_stats and its renderers over a hand-made model of an
// allocator that is not glibc: kinds, owners, unowned blocks, states.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "heapscope/analysis/stats.h"
#include "render/model_render.h"

namespace heapscope {
namespace {

constexpr BlockKind kKinds[] = {
    {"region", BlockState::kInUse, 0},
    {"tcache", BlockState::kCached, 0},
    {"dirty", BlockState::kFree, 0},
    {"base", BlockState::kMetadata, 0},
    {"huge", BlockState::kMapped, 0},
};

HeapModel two_arenas() {
  HeapModel m;
  m.allocator = "testalloc";
  m.version = "1.0";
  m.kinds = kKinds;
  m.owners = {{"arena 0", Address(0x1000), 0x10000}, {"arena 1", Address(0x2000), 0x8000}};
  m.blocks = {
      Block(Address(0x100000), 48, 0, 0, 0), Block(Address(0x100030), 48, 0, 1, 0),
      Block(Address(0x100060), 0x1000, 0, 2, 0), Block(Address(0x200000), 64, 1, 0, 0),
      Block(Address(0x200040), 0x200, 1, 3, 0), Block(Address(0x300000), 0x5000, kNoOwner, 4, 0),
  };
  // What each arena mapped, and the unowned huge allocation's own mapping.
  m.system = {{Address(0x100000), Address(0x110000)}, {Address(0x200000), Address(0x208000)},
              {Address(0x300000), Address(0x305000)}};
  m.build_index();
  m.findings.push_back({"odd", Address(0x100060), 0, "a finding"});
  return m;
}

TEST(ModelStats, TalliesByOwnerKindAndState) {
  ModelStats s = compute_model_stats(two_arenas());
  ASSERT_EQ(s.owners.size(), 2u);
  EXPECT_EQ(s.system_bytes, 0x1d000u);  // the system ranges, the unowned mapping's included
  EXPECT_EQ(s.owners[0].by_kind[0].bytes, 48u);
  EXPECT_EQ(s.owners[1].by_kind[3].bytes, 0x200u);
  EXPECT_EQ(s.unowned.by_kind[4].chunks, 1u);
  EXPECT_EQ(s.state(BlockState::kInUse).chunks, 2u);
  EXPECT_EQ(s.state(BlockState::kInUse).bytes, 112u);
  EXPECT_EQ(s.state(BlockState::kCached).bytes, 48u);
  EXPECT_EQ(s.findings, 1u);
}

TEST(ModelStats, JsonTotalInUseCountsMappedBlocksAndNotCachedOnes) {
  auto doc = nlohmann::json::parse(model_stats_json(compute_model_stats(two_arenas())));
  EXPECT_EQ(doc["allocator"], "testalloc");
  EXPECT_EQ(doc["total"]["in_use"]["chunks"], 3);
  EXPECT_EQ(doc["total"]["in_use"]["bytes"], 112 + 0x5000);
  EXPECT_EQ(doc["total"]["cached"]["chunks"], 1);
  EXPECT_EQ(doc["total"]["kinds"]["dirty"]["bytes"], 0x1000);
  EXPECT_EQ(doc["owners"][1]["kinds"]["base"]["chunks"], 1);
  EXPECT_EQ(doc["unowned"]["huge"]["bytes"], 0x5000);
}

TEST(ModelStats, TextNamesTheAllocatorAndEveryOwner) {
  std::string text = model_stats_text(compute_model_stats(two_arenas()));
  EXPECT_NE(text.find("testalloc 1.0: 2 owners"), std::string::npos) << text;
  EXPECT_NE(text.find("arena 1 at 0x2000"), std::string::npos) << text;
  EXPECT_NE(text.find("no owner:"), std::string::npos) << text;
  EXPECT_NE(text.find("total by state:"), std::string::npos) << text;
}

TEST(HeapModel, LooksUpBlocksAndUserBytes) {
  HeapModel m = two_arenas();
  ASSERT_NE(m.block_containing(Address(0x100070)), nullptr);
  EXPECT_EQ(m.block_containing(Address(0x100070))->address, Address(0x100060));
  EXPECT_EQ(m.block_at(Address(0x100070)), nullptr);
  EXPECT_NE(m.block_with_user_begin(Address(0x200000)), nullptr);
  EXPECT_EQ(m.block_containing(Address(0x250000)), nullptr);
}

}  // namespace
}  // namespace heapscope
