#include "heapscope/glibc/heap.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "glibc/builder.h"
#include "heapscope/analysis/stats.h"
#include "heapscope/error.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using glibc::ChunkState;
using testing::SyntheticHeap;

glibc::Heap build(SyntheticHeap& s) {
  auto syms = make_no_symbols();
  return glibc::Heap::build(s.target, *syms);
}

bool has_finding(const glibc::Heap& h, std::string_view kind) {
  for (const auto& f : h.findings)
    if (f.kind == kind) return true;
  return false;
}

void expect_bytes_partition_system(const glibc::Heap& h) {
  HeapStats st = compute_stats(h);
  for (const auto& a : st.arenas) EXPECT_EQ(a.states.bytes(), a.system_bytes) << "arena " << a.index;
}

TEST(GlibcHeap, ClassifiesEveryListOfACleanHeap) {
  SyntheticHeap s;
  uint64_t used = s.chunk(0x30);
  uint64_t t1 = s.chunk(0x20), t2 = s.chunk(0x20);
  uint64_t f1 = s.chunk(0x30);
  uint64_t guard1 = s.chunk(0x20);
  uint64_t small = s.chunk(0x100);
  uint64_t guard2 = s.chunk(0x20);
  uint64_t large = s.chunk(0x800);
  uint64_t guard3 = s.chunk(0x20);
  uint64_t unsorted = s.chunk(0x90);
  uint64_t guard4 = s.chunk(0x20);
  s.finish();
  s.tcache_push(0, t1);
  s.tcache_push(0, t2);
  s.fast_push(1, f1);
  s.bin_push(0x100 >> 4, small);
  s.bin_push(glibc::bin_index_for_size(0x800), large);
  s.bin_push(1, unsorted);

  glibc::Heap h = build(s);
  EXPECT_EQ(h.version, "2.36");
  EXPECT_FALSE(h.found_by_symbols);
  ASSERT_EQ(h.arenas.size(), 1u);
  EXPECT_EQ(h.arenas[0].address.value, SyntheticHeap::kMainArena);
  EXPECT_EQ(h.mp.address.value, SyntheticHeap::kMp);
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
  ASSERT_EQ(h.tcaches.size(), 1u);
  EXPECT_EQ(h.tcaches[0].tid, 42);
  EXPECT_EQ(h.chunk_at(Address(used))->kind, ChunkState::kInUse);
  EXPECT_EQ(h.chunk_at(Address(t1))->kind, ChunkState::kTcache);
  EXPECT_EQ(h.chunk_at(Address(t2))->kind, ChunkState::kTcache);
  EXPECT_EQ(h.chunk_at(Address(f1))->kind, ChunkState::kFast);
  EXPECT_EQ(h.chunk_at(Address(small))->kind, ChunkState::kSmall);
  EXPECT_EQ(h.chunk_at(Address(large))->kind, ChunkState::kLarge);
  EXPECT_EQ(h.chunk_at(Address(unsorted))->kind, ChunkState::kUnsorted);
  EXPECT_EQ(h.chunk_at(Address(SyntheticHeap::kHeap))->kind, ChunkState::kMetadata);
  for (uint64_t g : {guard1, guard2, guard3, guard4})
    EXPECT_EQ(h.chunk_at(Address(g))->kind, ChunkState::kInUse);
  EXPECT_EQ(h.chunk_containing(Address(small + 0x50))->address.value, small);
  EXPECT_EQ(h.chunk_containing(Address(0x1000)), nullptr);
  HeapStats st = compute_stats(h);
  EXPECT_EQ(st.arenas[0].states[ChunkState::kTcache].chunks, 2u);
  EXPECT_EQ(st.arenas[0].states[ChunkState::kTcache].bytes, 0x40u);
  EXPECT_EQ(st.arenas[0].states[ChunkState::kTop].chunks, 1u);
  expect_bytes_partition_system(h);
}

TEST(GlibcHeap, TcacheCycleIsAFindingNotAHang) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x20), b = s.chunk(0x20);
  s.finish();
  s.tcache_push(0, a);
  s.tcache_push(0, b);
  s.w(a + 16, s.mangle(a + 16, b + 16));  // a -> b -> a
  glibc::Heap h = build(s);
  EXPECT_TRUE(has_finding(h, "tcache-cycle"));
  expect_bytes_partition_system(h);
}

TEST(GlibcHeap, FastbinPointerToUnmappedMemoryIsAFinding) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x20);
  s.finish();
  s.fast_push(0, a);
  s.w(a + 16, s.mangle(a + 16, 0x4141414141410));
  glibc::Heap h = build(s);
  EXPECT_TRUE(has_finding(h, "fast-stray"));
  EXPECT_EQ(h.chunk_at(Address(a))->kind, ChunkState::kFast);
}

TEST(GlibcHeap, SizeRunningPastTheHeapIsMarkedUnknown) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x20);
  s.chunk(0x40);
  s.finish();
  s.w(a + 8, 0x100000 | 1);  // an overflow smashed the size
  glibc::Heap h = build(s);
  EXPECT_TRUE(has_finding(h, "bad-size"));
  EXPECT_EQ(h.chunk_at(Address(a))->kind, ChunkState::kUnknown);
  expect_bytes_partition_system(h);
}

TEST(GlibcHeap, BrokenBackLinkAndBinCycle) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x100);
  s.chunk(0x20);
  uint64_t b = s.chunk(0x100);
  s.chunk(0x20);
  s.finish();
  s.bin_push(0x10, a);
  s.bin_push(0x10, b);
  s.w(a + 24, 0x1234560);  // bk no longer points at b
  glibc::Heap h = build(s);
  EXPECT_TRUE(has_finding(h, "bin-backlink"));
  s.w(a + 16, b);  // a -> b -> a, never back to the bin
  glibc::Heap h2 = build(s);
  EXPECT_TRUE(has_finding(h2, "bin-cycle"));
}

// The lists as walked and every finding, in order.
std::string lists_and_findings(const glibc::Heap& h) {
  std::string out;
  for (const auto& fl : h.lists) {
    out += fmt::format("list {} {} {}:", int(fl.kind), fl.arena, fl.bin);
    for (Address a : fl.chunks) out += " " + to_hex(a);
    out += "\n";
  }
  for (const auto& f : h.findings) out += fmt::format("{} {} {}\n", f.kind, to_hex(f.address), f.detail);
  return out;
}

// With a second thread chasing the lists ahead (the default on a machine of
// two or more hardware threads) and without (HEAPSCOPE_THREADS=1): the same
// lists and findings, on sound lists and on lists that loop, stray or lose
// a back link, and on links stored plain where the version mangles them
// (the chase ahead guessed wrong and the walk chases again).
TEST(GlibcHeap, ListsChasedAheadOrNotWalkTheSame) {
  auto both_ways = [](SyntheticHeap& s) {
    unsetenv("HEAPSCOPE_THREADS");
    const std::string ahead = lists_and_findings(build(s));
    setenv("HEAPSCOPE_THREADS", "1", 1);
    const std::string alone = lists_and_findings(build(s));
    unsetenv("HEAPSCOPE_THREADS");
    EXPECT_EQ(ahead, alone);
    return ahead;
  };
  for (bool plain_links : {false, true}) {
    SCOPED_TRACE(plain_links);
    SyntheticHeap s;
    std::vector<uint64_t> fast, bin;
    for (int i = 0; i < 40; ++i) {
      fast.push_back(s.chunk(0x20));
      bin.push_back(s.chunk(0x100));
      s.chunk(0x20);  // keeps the bin chunks apart
    }
    s.finish();
    auto link = [&](uint64_t c, uint64_t next) { s.w(c + 16, plain_links ? next : s.mangle(c + 16, next)); };
    for (size_t i = 0; i < fast.size(); ++i) link(fast[i], i + 1 < fast.size() ? fast[i + 1] : 0);
    s.w(SyntheticHeap::kMainArena + s.l.ms_fastbins, fast.front());
    for (uint64_t c : bin) s.bin_push(0x10, c);
    const std::string sound = both_ways(s);
    EXPECT_NE(sound.find(to_hex(Address(fast.back()))), std::string::npos);
    link(fast[10], fast[30]);  // the fastbin loops
    s.w(bin[5] + 24, 0x1234560);  // a broken back link
    EXPECT_NE(both_ways(s), sound);
    s.w(bin[20] + 16, bin[25]);  // the bin loops, never back to the bin
    link(fast[3], 0x4141414141410);  // a stray fastbin link
    both_ways(s);
  }
}

TEST(GlibcHeap, FreeChunkOnNoListIsReported) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x100);
  uint64_t b = s.chunk(0x20);
  s.finish();
  s.w(b + 8, 0x20);  // PREV_INUSE cleared, yet a is on no list
  glibc::Heap h = build(s);
  EXPECT_EQ(h.chunk_at(Address(a))->kind, ChunkState::kFreeUnlisted);
  EXPECT_TRUE(has_finding(h, "free-unlisted"));
}

TEST(GlibcHeap, TcacheCountMismatchIsReported) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x30);
  s.finish();
  s.tcache_push(1, a);
  s.target.write_value<uint16_t>(Address(s.tcache + 2), 5);
  glibc::Heap h = build(s);
  EXPECT_TRUE(has_finding(h, "tcache-count"));
}

TEST(GlibcHeap, NoLibcIsAUserError) {
  BufferTarget t;
  t.add_region(Address(0x1000), std::vector<std::byte>(0x1000));
  auto syms = make_no_symbols();
  EXPECT_THROW(glibc::Heap::build(t, *syms), UserError);
}

TEST(GlibcHeap, LibcWithoutArenaIsAUserError) {
  SyntheticHeap s;
  s.finish();
  // Wipe the arena's bins: nothing looks like main_arena any more.
  for (uint64_t off = 0; off < 0x1000; off += 8) s.w(SyntheticHeap::kMainArena + off, 0);
  EXPECT_THROW(build(s), UserError);
}

// A long-running program's main arena: nearly every bin holds a chunk. The
// structural search (no symbols) must find it whatever its bins hold.
TEST(GlibcHeap, MainArenaWithMostBinsInUseIsFoundByStructure) {
  SyntheticHeap s;
  std::vector<std::pair<int, uint64_t>> binned;
  for (int bin = 2; bin <= 100; ++bin) {
    binned.push_back({bin, s.chunk(glibc::bin_size_range(bin).first)});
    s.chunk(0x20);  // guard: no two free chunks touch
  }
  s.finish();
  for (auto [bin, c] : binned) s.bin_push(bin, c);
  glibc::Heap h = build(s);
  EXPECT_FALSE(h.found_by_symbols);
  EXPECT_EQ(h.arenas.front().address, Address(SyntheticHeap::kMainArena));
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
  size_t small = 0, large = 0;
  for (const auto& c : h.blocks) small += c.kind == ChunkState::kSmall, large += c.kind == ChunkState::kLarge;
  EXPECT_EQ(small, 62u);
  EXPECT_EQ(large, 37u);
}

// Random words in libc's data are no arena: bins that link chunks whose sizes
// fit no bin are refused.
TEST(GlibcHeap, BinsLinkingMisfitChunksAreNoArena) {
  SyntheticHeap s;
  std::vector<std::pair<int, uint64_t>> binned;
  for (int bin = 2; bin <= 40; ++bin) {
    binned.push_back({bin, s.chunk(0x20 + glibc::bin_size_range(bin).first)});  // one step too big
    s.chunk(0x20);
  }
  s.finish();
  for (auto [bin, c] : binned) s.bin_push(bin, c);
  EXPECT_THROW(build(s), UserError);
}

TEST(GlibcBins, SizeRangesAgreeWithTheIndex) {
  for (int bin = 2; bin < 126; ++bin) {
    auto [lo, hi] = glibc::bin_size_range(bin);
    EXPECT_EQ(glibc::bin_index_for_size(lo), bin);
    EXPECT_EQ(glibc::bin_index_for_size(hi), bin);
    EXPECT_NE(glibc::bin_index_for_size(lo - 16), bin);
    EXPECT_NE(glibc::bin_index_for_size(hi + 16), bin);
  }
}

}  // namespace
}  // namespace heapscope
