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

// WordReader keeps the last run the target showed; whatever the order of
// the reads, up, down, across two adjacent regions (a word straddling them)
// or into a gap, it answers as read_u64 does.
TEST(WordReader, AnswersAsReadU64InAnyOrder) {
  BufferTarget t;
  std::vector<std::byte> a(2 * 4096), b(4096);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::byte(i * 7 + 1);
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::byte(i * 13 + 5);
  t.add_region(Address(0x10000), a);
  t.add_region(Address(0x12000), b);  // adjacent: a word can straddle them
  std::vector<uint64_t> at;
  for (uint64_t x = 0xfff0; x < 0x13010; x += 4) at.push_back(x);
  for (uint64_t x = 0x13010; x > 0xfff0; x -= 12) at.push_back(x);  // downwards
  at.insert(at.end(), {0x12000 - 4, 0x10008, 0x12ff8, 0x11ffc, 0x13000, 0x10000, 0xffff});
  WordReader r(t);
  for (uint64_t x : at) EXPECT_EQ(r.u64(Address(x)), t.read_u64(Address(x))) << std::hex << x;
}

}  // namespace
}  // namespace heapscope
