#include "render/style.h"

#include <gtest/gtest.h>

namespace heapscope {
namespace {

TEST(Style, OffReturnsTheTextUntouched) {
  Style off;
  EXPECT_EQ(off.paint(Hue::kFast, "fast"), "fast");
  EXPECT_EQ(off.address(Address(0x1234)), "0x1234");
  EXPECT_EQ(off.left(Hue::kTcache, "tcache", 10), "tcache    ");
  EXPECT_EQ(off.right(Hue::kTcache, "tcache", 8), "  tcache");
}

TEST(Style, OnWrapsInTheHuesEscapeAndPadsOutsideIt) {
  Style on(true);
  EXPECT_EQ(on.paint(Hue::kFast, "fast"), "\x1b[36mfast\x1b[0m");
  EXPECT_EQ(on.left(Hue::kFast, "fast", 6), "\x1b[36mfast\x1b[0m  ");
  EXPECT_EQ(on.right(Hue::kFast, "fast", 6), "  \x1b[36mfast\x1b[0m");
  EXPECT_EQ(on.paint(Hue::kPlain, "x"), "x");
  EXPECT_EQ(on.paint(Hue::kFinding, ""), "");
}

TEST(Style, EveryStateHasItsOwnHue) {
  const char* states[] = {"in_use", "tcache", "fast", "unsorted", "small", "large", "top", "mmapped", "metadata"};
  Style on(true);
  for (size_t i = 0; i < std::size(states); ++i)
    for (size_t j = i + 1; j < std::size(states); ++j)
      EXPECT_NE(on.paint(state_hue(states[i]), "x"), on.paint(state_hue(states[j]), "x")) << states[i] << states[j];
  EXPECT_EQ(state_hue("region", Hue::kMetadata), Hue::kMetadata);  // another allocator's kind
  EXPECT_EQ(block_state_hue(BlockState::kCached), Hue::kTcache);
}

}  // namespace
}  // namespace heapscope
