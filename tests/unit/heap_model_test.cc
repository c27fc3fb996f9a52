#include "heapscope/model/heap_model.h"

#include <gtest/gtest.h>

namespace heapscope {
namespace {

// Block's constructor writes its bit-fields as one packed word: each field
// must read back what it was given, at both ends of its range.
TEST(BlockTest, FieldsReadBack) {
  struct Case {
    uint64_t size;
    int owner;
    uint8_t kind, bits;
  };
  for (const Case& c : {Case{0, 0, 0, 0}, Case{kMaxBlockSize, kMaxOwners - 1, 15, 7}, Case{0x20, kNoOwner, 3, 5},
                        Case{0x123456789a0, 4095, 9, 1}, Case{1, -4096, 15, 0}}) {
    const Block b(Address(0x7f0012345670), c.size, c.owner, c.kind, c.bits);
    SCOPED_TRACE(::testing::Message() << std::hex << c.size << " " << std::dec << c.owner << " " << int{c.kind});
    EXPECT_EQ(b.address.value, 0x7f0012345670u);
    EXPECT_EQ(uint64_t{b.size}, c.size);
    EXPECT_EQ(int{b.owner}, c.owner);
    EXPECT_EQ(int{b.kind}, c.kind);
    EXPECT_EQ(int{b.bits}, c.bits);
  }
  // Allocator bits beyond three are dropped, as the field always did.
  EXPECT_EQ(int{Block(Address(0), 16, 0, 0, 0xff).bits}, 7);
}

// A field set through plain member syntax afterwards leaves the others alone.
TEST(BlockTest, MemberWritesKeepTheOtherFields) {
  Block b(Address(0x1000), 0x40, 12, 4, 1);
  b.kind = 6;
  b.size = 0x80;
  EXPECT_EQ(uint64_t{b.size}, 0x80u);
  EXPECT_EQ(int{b.owner}, 12);
  EXPECT_EQ(int{b.kind}, 6);
  EXPECT_EQ(int{b.bits}, 1);
  EXPECT_EQ(b.end().value, 0x1080u);
}

}  // namespace
}  // namespace heapscope
