// Tests for the debugger-callback target's page cache, over a BufferTarget
// standing in for the debugger.
#include "heapscope/callback_target.h"

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"

namespace heapscope {
namespace {

constexpr uint64_t kHeap = 0x555555560000;
constexpr uint64_t kHeapSize = 1 << 20;
constexpr uint64_t kOdd = 0x7f0000001000;  // a region that is not a multiple of 64 KiB
constexpr uint64_t kOddSize = 5 * 4096;

std::vector<std::byte> pattern(uint64_t size, unsigned seed) {
  std::vector<std::byte> v(size);
  for (uint64_t i = 0; i < size; ++i) v[i] = static_cast<std::byte>((i * 13 + seed) ^ (i >> 9));
  return v;
}

struct Fixture {
  BufferTarget debuggee;
  std::vector<std::pair<uint64_t, uint64_t>> bad;  // the "debugger" fails on these ranges
  std::vector<std::pair<uint64_t, size_t>> calls;
  std::unique_ptr<CallbackTarget> target;

  Fixture() {
    debuggee.add_region(Address(kHeap), pattern(kHeapSize, 1));
    debuggee.add_region(Address(kOdd), pattern(kOddSize, 2), kPermRead);
    Thread t;
    t.tid = 42;
    t.sp = Address(kHeap + 100);
    Module m;
    m.path = "/lib/libfake.so";
    m.base = Address(kOdd);
    target = std::make_unique<CallbackTarget>(
        [this](uint64_t addr, void* dst, size_t n) -> size_t {
          calls.push_back({addr, n});
          // Like gdb's read_memory: a read touching a bad byte fails whole.
          for (auto [b, e] : bad)
            if (addr < e && addr + n > b) return 0;
          return debuggee.read(Address(addr), {static_cast<std::byte*>(dst), n});
        },
        debuggee.regions(), std::vector<Thread>{t}, std::vector<Module>{m}, "remote process 42");
  }
};

TEST(CallbackTarget, WalkingAHeapCostsFewCallbacks) {
  Fixture f;
  const Target& t = *f.target;
  auto expect = pattern(kHeapSize, 1);
  size_t bad = 0;
  for (uint64_t off = 0; off + 8 <= kHeapSize; off += 8) {
    auto v = t.read_u64(Address(kHeap + off));
    uint64_t want;
    std::memcpy(&want, expect.data() + off, 8);
    bad += !v || *v != want;
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(f.target->callback_count(), kHeapSize / CallbackTarget::kMaxRun);
  EXPECT_EQ(f.calls.size(), 16u);
  for (auto [addr, n] : f.calls) EXPECT_EQ(n, CallbackTarget::kMaxRun);
  EXPECT_EQ(f.target->bytes_fetched(), kHeapSize);
  // Everything is cached now: a second walk makes no calls.
  std::vector<std::byte> all(kHeapSize);
  EXPECT_EQ(t.read(Address(kHeap), all), kHeapSize);
  EXPECT_EQ(all, expect);
  EXPECT_EQ(f.calls.size(), 16u);
  // A view spans the whole run it came from.
  EXPECT_EQ(t.view(Address(kHeap + 10), kHeapSize).size(), CallbackTarget::kMaxRun - 10);
}

TEST(CallbackTarget, RunsStopAtRegionEndsAndCachedPages) {
  Fixture f;
  const Target& t = *f.target;
  // Touch a page in the middle first; a later run from the start stops there.
  EXPECT_TRUE(t.read_u64(Address(kOdd + 3 * 4096)));
  ASSERT_EQ(f.calls.size(), 1u);
  EXPECT_EQ(f.calls[0], std::make_pair(kOdd + 3 * 4096, size_t{2 * 4096}));  // clipped at region end
  EXPECT_TRUE(t.read_u64(Address(kOdd)));
  ASSERT_EQ(f.calls.size(), 2u);
  EXPECT_EQ(f.calls[1], std::make_pair(kOdd, size_t{3 * 4096}));
  std::vector<std::byte> all(kOddSize);
  EXPECT_EQ(t.read(Address(kOdd), all), kOddSize);
  EXPECT_EQ(all, pattern(kOddSize, 2));
  EXPECT_EQ(f.calls.size(), 2u);
  // Outside every region: nothing, and no callback.
  EXPECT_TRUE(t.view(Address(kOdd + kOddSize), 8).empty());
  EXPECT_TRUE(t.view(Address(0x1000), 8).empty());
  EXPECT_EQ(f.calls.size(), 2u);
}

TEST(CallbackTarget, FailedReadsMarkPagesMissing) {
  Fixture f;
  uint64_t bad_page = kHeap + 5 * 4096;
  f.bad.push_back({bad_page + 100, bad_page + 108});
  const Target& t = *f.target;
  // The 64 KiB run fails as a whole; the first page alone succeeds.
  EXPECT_TRUE(t.read_u64(Address(kHeap)));
  EXPECT_EQ(f.calls.size(), 2u);
  // Reading on: page by page up to the bad one, which becomes a hole.
  std::vector<std::byte> buf(8 * 4096);
  EXPECT_EQ(t.read(Address(kHeap), buf), 5u * 4096);
  size_t calls = f.calls.size();
  EXPECT_TRUE(t.view(Address(bad_page), 8).empty());
  EXPECT_TRUE(t.view(Address(bad_page + 4000), 8).empty());
  EXPECT_EQ(f.calls.size(), calls);  // the miss is remembered
  // The page after the hole reads fine.
  auto expect = pattern(kHeapSize, 1);
  auto after = t.read_u64(Address(bad_page + 4096));
  ASSERT_TRUE(after);
  EXPECT_EQ(std::memcmp(&*after, expect.data() + 6 * 4096, 8), 0);
}

TEST(CallbackTarget, PassesThroughWhatTheFrontEndKnows) {
  Fixture f;
  const Target& t = *f.target;
  EXPECT_EQ(t.description(), "remote process 42");
  ASSERT_EQ(t.regions().size(), 2u);
  ASSERT_EQ(t.threads().size(), 1u);
  EXPECT_EQ(t.threads()[0].stack.begin, Address(kHeap));  // filled from the regions
  ASSERT_NE(t.find_module("libfake"), nullptr);
  EXPECT_EQ(t.pid(), std::nullopt);
  f.target->set_pid(42);
  EXPECT_EQ(t.pid(), 42);
  EXPECT_EQ(f.calls.size(), 0u);
}

TEST(CallbackTarget, NoRegionsMeansAskForAnything) {
  BufferTarget debuggee;
  debuggee.add_region(Address(0x10000), pattern(3 * 4096, 3));
  int calls = 0;
  CallbackTarget t(
      [&](uint64_t addr, void* dst, size_t n) -> size_t {
        ++calls;
        return debuggee.read(Address(addr), {static_cast<std::byte*>(dst), n});
      },
      {});
  EXPECT_EQ(t.read_u64(Address(0x10000 + 8)), debuggee.read_u64(Address(0x10000 + 8)));
  EXPECT_EQ(calls, 1);  // the run read 3 pages, then stopped: pages after are missing
  EXPECT_TRUE(t.view(Address(0x10000 + 3 * 4096), 8).empty());
  EXPECT_EQ(t.view(Address(0x10000 + 2 * 4096), 99999).size(), 4096u);
  EXPECT_TRUE(t.view(Address(UINT64_MAX - 8), 8).empty());
}

}  // namespace
}  // namespace heapscope
