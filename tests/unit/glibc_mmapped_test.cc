// The scan for glibc's mmapped chunks (Builder::scan_mmapped) and heap
// check's second look for damaged ones: only glibc's forms of the size field
// count, mp_'s count decides between candidates of the same shape, and a
// region at the top of the address space neither wraps nor hangs.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "heapscope/analysis/check.h"
#include "heapscope/glibc/heap.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using glibc::ChunkState;
using testing::SyntheticHeap;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kAnon = 0x7f0000500000;

glibc::Heap build(SyntheticHeap& s, const CancelToken& cancel = CancelToken()) {
  auto syms = make_no_symbols();
  return glibc::Heap::build(s.target, *syms, cancel);
}

std::vector<std::pair<uint64_t, uint64_t>> mmapped(const glibc::Heap& h) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& c : h.blocks)
    if (c.kind == ChunkState::kMmapped) out.push_back({c.address.value, c.size});
  return out;
}

void count_in_mp(SyntheticHeap& s, uint64_t n, uint64_t bytes) {
  s.target.write_value(Address(SyntheticHeap::kMp + s.l.mp_n_mmaps), static_cast<int32_t>(n));
  s.w(SyntheticHeap::kMp + s.l.mp_mmapped_mem, bytes);
}

// A heap of one chunk, and an anonymous mapping of `pages` pages at kAnon.
void heap_and_mapping(SyntheticHeap& s, uint64_t pages) {
  s.chunk(0x30);
  s.finish();
  s.target.add_region(Address(kAnon), std::vector<std::byte>(pages * kPage), kPermRead | kPermWrite, "");
}

// A page start that looks like an mmapped chunk with this size field.
void plant(SyntheticHeap& s, uint64_t at, uint64_t size_field) {
  s.w(at, 0);
  s.w(at + 8, size_field | 2);
}

// Runs fn on a thread; a run past the deadline is a hang: the test binary
// cannot go on with it, so it says so and exits.
void finishes_within(std::chrono::seconds limit, CancelToken& cancel, const std::function<void()>& fn) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread t([&] {
    try {
      fn();
    } catch (const Cancelled&) {
    }
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(m);
  if (!cv.wait_for(lock, limit, [&] { return done; })) {
    cancel.cancel();
    if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; })) {
      std::fprintf(stderr, "FAILED: still running after %llds, and deaf to cancellation\n",
                   static_cast<long long>(limit.count()));
      std::_Exit(1);
    }
    ADD_FAILURE() << "did not finish within " << limit.count() << "s (stopped by cancellation)";
  }
  lock.unlock();
  t.join();
}

TEST(GlibcMmapped, OnlyGlibcsFormsOfTheSizeField) {
  SyntheticHeap s;
  heap_and_mapping(s, 16);
  plant(s, kAnon, 3 * kPage);                      // up to 2.42: the whole mapping
  plant(s, kAnon + 3 * kPage, 2 * kPage - 16);     // 2.43+: the mapping less the header
  plant(s, kAnon + 5 * kPage, kPage + 0x1e0);      // neither: someone else's data
  plant(s, kAnon + 7 * kPage, 0x20);               // smaller than a page
  count_in_mp(s, 2, 5 * kPage);
  glibc::Heap h = build(s);
  std::vector<std::pair<uint64_t, uint64_t>> want = {{kAnon, 3 * kPage}, {kAnon + 3 * kPage, 2 * kPage}};
  EXPECT_EQ(mmapped(h), want);
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
}

TEST(GlibcMmapped, MpsCountDecidesBetweenCandidates) {
  SyntheticHeap s;
  heap_and_mapping(s, 16);
  plant(s, kAnon, 3 * kPage);
  plant(s, kAnon + 4 * kPage, kPage);  // a chunk's shape, but glibc counts two chunks of 3 + 5 pages
  plant(s, kAnon + 8 * kPage, 5 * kPage);
  count_in_mp(s, 2, 8 * kPage);
  glibc::Heap h = build(s);
  std::vector<std::pair<uint64_t, uint64_t>> want = {{kAnon, 3 * kPage}, {kAnon + 8 * kPage, 5 * kPage}};
  EXPECT_EQ(mmapped(h), want);
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
  EXPECT_TRUE(check_heap(h, s.target).findings.empty());
}

TEST(GlibcMmapped, NoChunksCountedNoMappingRead) {
  // mp_ counts none: the big mapping is not looked at, whatever it holds.
  SyntheticHeap s;
  heap_and_mapping(s, 4);
  plant(s, kAnon, 2 * kPage);
  glibc::Heap h = build(s);
  EXPECT_TRUE(mmapped(h).empty());
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
}

// Issue 16: an anonymous writable region at the top of the address space
// made `p + page` wrap to 0 and the walk's scan run on for ever, deaf to
// Ctrl-C. Both scans (the walk's and heap check's second look, which runs
// when mp_ counts a chunk the walk did not find) must end, and quickly.
TEST(GlibcMmapped, RegionAtTheTopOfTheAddressSpace) {
  SyntheticHeap s;
  s.chunk(0x30);
  s.finish();
  const uint64_t top = 0xfffffffffffff000;
  s.target.add_region(Address(top), std::vector<std::byte>(0xfff), kPermRead | kPermWrite, "");
  s.target.add_region(Address(top - 2 * kPage), std::vector<std::byte>(2 * kPage), kPermRead | kPermWrite, "");
  count_in_mp(s, 1, kPage);
  CancelToken cancel;
  std::optional<glibc::Heap> h;
  finishes_within(std::chrono::seconds(10), cancel, [&] { h = build(s, cancel); });
  ASSERT_TRUE(h);
  EXPECT_TRUE(mmapped(*h).empty());
  finishes_within(std::chrono::seconds(10), cancel, [&] { check_heap(*h, s.target, {}, cancel); });
}

}  // namespace
}  // namespace heapscope
