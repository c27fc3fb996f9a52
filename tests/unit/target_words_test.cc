// for_each_word visits the words the target has and skips what the target
// says holds only zeros (Target::next_populated): untouched pages of a live
// process cost a scan nothing.
#include "target_words.h"

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"

namespace heapscope {
namespace {

// A buffer whose pages [4, 12) of the first region count as never touched.
class SparseBuffer final : public BufferTarget {
 public:
  AddressRange untouched;
  mutable int calls = 0;
  AddressRange next_populated(AddressRange range) const override {
    ++calls;
    if (range.begin >= untouched.begin && range.begin < untouched.end) range.begin = untouched.end;
    if (range.begin < untouched.begin && range.end > untouched.begin) range.end = untouched.begin;
    return range;
  }
};

TEST(ForEachWord, SkipsWhatTheTargetCallsUntouched) {
  SparseBuffer t;
  std::vector<std::byte> bytes(16 * 4096);
  for (size_t i = 0; i < bytes.size(); i += 8) bytes[i] = std::byte{1};
  t.add_region(Address(0x10000), bytes);
  t.untouched = {Address(0x10000 + 4 * 4096), Address(0x10000 + 12 * 4096)};
  size_t seen = 0, inside = 0;
  for_each_word(t, {Address(0x10000), Address(0x10000 + 16 * 4096)}, CancelToken(), [&](uint64_t a, uint64_t) {
    ++seen;
    inside += t.untouched.contains(Address(a));
  });
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(seen, 8u * 4096 / 8);
  EXPECT_GE(t.calls, 2);
}

TEST(ForEachWord, DefaultVisitsEverything) {
  BufferTarget t;
  t.add_region(Address(0x10000), std::vector<std::byte>(3 * 4096));
  size_t seen = 0;
  for_each_word(t, {Address(0x10000 - 4096), Address(0x10000 + 4 * 4096)}, CancelToken(),
                [&](uint64_t, uint64_t) { ++seen; });
  EXPECT_EQ(seen, 3u * 4096 / 8);
}

// A backend that answers with an empty or out-of-range stretch ends the scan.
class BrokenBuffer final : public BufferTarget {
 public:
  AddressRange next_populated(AddressRange range) const override { return {range.begin, range.begin}; }
};

TEST(ForEachWord, EmptyAnswerEndsTheScan) {
  BrokenBuffer t;
  t.add_region(Address(0x10000), std::vector<std::byte>(4096));
  size_t seen = 0;
  for_each_word(t, {Address(0x10000), Address(0x11000)}, CancelToken(), [&](uint64_t, uint64_t) { ++seen; });
  EXPECT_EQ(seen, 0u);
}

}  // namespace
}  // namespace heapscope
