// HeapWords answers every read as the target does: through a heap's view
// inside it, through the target outside it and across a view's end.
#include "glibc/heap_words.h"

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"

namespace heapscope::glibc {
namespace {

TEST(HeapWords, ReadsAsTheTargetDoesInsideOutsideAndAcrossAHeap) {
  BufferTarget t;
  std::vector<std::byte> heap_bytes(0x100), other(0x40);
  for (size_t i = 0; i < heap_bytes.size(); ++i) heap_bytes[i] = std::byte(i);
  for (size_t i = 0; i < other.size(); ++i) other[i] = std::byte(0xa0 + i);
  t.add_region(Address(0x10000), heap_bytes);
  t.add_region(Address(0x20000), other);
  Arena a;
  a.heaps.push_back({{Address(0x10000), Address(0x10100)}, Address()});
  // A heap the target cannot show: no view, reads go through the target.
  a.heaps.push_back({{Address(0x30000), Address(0x31000)}, Address()});
  HeapWords words(t, {a});
  for (uint64_t at : {0x10000ull, 0x10008ull, 0x100f8ull, 0x100f9ull, 0x100fcull, 0x10100ull, 0x20000ull,
                      0x20038ull, 0x2003cull, 0x30000ull, 0x0ull, 0xffffffffffffffffull}) {
    EXPECT_EQ(words.u64(Address(at)), t.read_u64(Address(at))) << std::hex << at;
  }
  EXPECT_NE(words.bytes(Address(0x10010), 16), nullptr);
  EXPECT_EQ(words.bytes(Address(0x100f8), 16), nullptr);  // past the heap's end
  EXPECT_EQ(words.bytes(Address(0x20000), 8), nullptr);   // not a heap
}

}  // namespace
}  // namespace heapscope::glibc
