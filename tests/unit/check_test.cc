// heap check on synthetic heaps: a clean heap has no findings; each classic
// corruption is named at the right chunk with the right kind and glibc message.
#include "heapscope/analysis/check.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "check_dump.h"
#include "glibc/builder.h"
#include "heapscope/command.h"
#include "heapscope/session.h"
#include "render/check_render.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;
using testing::dump;

CheckReport check(SyntheticHeap& s, CheckOptions opt = {}) {
  auto syms = make_no_symbols();
  glibc::Heap h = glibc::Heap::build(s.target, *syms);
  return check_heap(h, s.target, opt);
}

// The finding of this kind at this address, or nullptr.
const CheckFinding* find(const CheckReport& r, std::string_view kind, uint64_t at) {
  for (const auto& f : r.findings)
    if (f.kind == kind && f.address.value == at) return &f;
  return nullptr;
}

// A heap with one chunk of every state, as glibc leaves it.
struct CleanHeap {
  SyntheticHeap s;
  uint64_t used, t1, t2, f1, small, large, unsorted;
  CleanHeap() {
    used = s.chunk(0x30);
    t1 = s.chunk(0x20);
    t2 = s.chunk(0x20);
    f1 = s.chunk(0x30);
    s.chunk(0x20);
    small = s.chunk(0x100);
    s.chunk(0x20);
    large = s.chunk(0x800);
    s.chunk(0x20);
    unsorted = s.chunk(0x90);
    s.chunk(0x20);
    s.finish();
    s.tcache_push(0, t1);
    s.tcache_push(0, t2);
    s.fast_push(1, f1);
    s.bin_push(0x100 >> 4, small);
    s.bin_push(glibc::bin_index_for_size(0x800), large);
    s.bin_push(1, unsorted);
  }
};

TEST(Check, CleanHeapHasNoFindings) {
  CleanHeap c;
  CheckReport r = check(c.s);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  EXPECT_GT(r.chunks_checked, 10u);
  ASSERT_TRUE(r.tcache_key.has_value());
  EXPECT_EQ(*r.tcache_key, 0xdeadbeefcafeu);
  EXPECT_NE(dump(r).find("no problems found in"), std::string::npos);
}

TEST(Check, TcacheDoubleFree) {
  CleanHeap c;
  // t1 freed again: it is pushed on top of itself's list (a -> ... -> a).
  c.s.tcache_push(0, c.t1);
  CheckReport r = check(c.s);
  auto* f = find(r, "tcache-double-free", c.t1);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "free(): double free detected in tcache 2");
  EXPECT_NE(f->cause.find("double free"), std::string::npos);
}

TEST(Check, FastbinDoubleFree) {
  CleanHeap c;
  uint64_t g = c.s.cursor;  // (no new chunks: reuse f1 and a second fast chunk)
  (void)g;
  c.s.fast_push(1, c.used);   // fastbin 1: used -> f1
  c.s.fast_push(1, c.f1);     // f1 -> used -> f1: loops
  CheckReport r = check(c.s);
  auto* f = find(r, "fastbin-double-free", c.f1);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "double free or corruption (fasttop)");
}

TEST(Check, TcachePoisoningNamesTheChunkWhoseNextWasOverwritten) {
  CleanHeap c;
  // t2 is the head; its next (to t1) becomes garbage.
  c.s.w(c.t2 + 16, 0x4141414141414141);
  CheckReport r = check(c.s);
  auto* f = find(r, "tcache-next-corrupt", c.t2);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): unaligned tcache chunk detected");
  EXPECT_NE(f->cause.find("write after free"), std::string::npos);
}

TEST(Check, FastbinFdOverwritten) {
  CleanHeap c;
  c.s.w(c.f1 + 16, c.s.mangle(c.f1 + 16, 0x4141414141414148));
  CheckReport r = check(c.s);
  auto* f = find(r, "fastbin-fd-corrupt", c.f1);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): unaligned fastbin chunk detected 2");
}

TEST(Check, UnsortedBkOverwritten) {
  CleanHeap c;
  c.s.w(c.unsorted + 24, SyntheticHeap::kLibcData + 0x1800);
  CheckReport r = check(c.s);
  auto* f = find(r, "bin-link", c.unsorted);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): unsorted double linked list corrupted");
}

TEST(Check, LinearOverflowIntoNextSizeResynchronises) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x30), b = s.chunk(0x40), c = s.chunk(0x20);
  s.finish();
  s.w(b, 0x4141414141414141);
  s.w(b + 8, 0x4141414141414141);
  CheckReport r = check(s);
  auto* f = find(r, "invalid-size", b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_NE(f->cause.find("overflow from the chunk before it"), std::string::npos) << f->cause;
  EXPECT_NE(f->cause.find(to_hex(Address(a))), std::string::npos) << f->cause;
  // The walk resumed at c: it is still a chunk.
  auto syms = make_no_symbols();
  glibc::Heap h = glibc::Heap::build(s.target, *syms);
  ASSERT_NE(h.chunk_at(Address(c)), nullptr);
  EXPECT_EQ(h.chunk_at(Address(c))->kind, glibc::ChunkState::kInUse);
}

TEST(Check, OffByOneNulByteNamesTheShrunkChunk) {
  SyntheticHeap s;
  s.chunk(0x110);
  uint64_t b = s.chunk(0x110);
  uint64_t c = s.chunk(0x20);
  s.chunk(0x20);
  s.finish();
  s.w(b + 8, 0x100);  // 0x111 -> 0x100
  CheckReport r = check(s);
  auto* f = find(r, "off-by-one-size", b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "corrupted size vs. prev_size");
  EXPECT_NE(f->detail.find("0x110"), std::string::npos) << f->detail;
  (void)c;
}

TEST(Check, SmashedTopSize) {
  SyntheticHeap s;
  s.chunk(0x30);
  s.finish();
  uint64_t top = s.cursor;
  s.w(top + 8, 0xffffffffffffffff);
  CheckReport r = check(s);
  auto* f = find(r, "top-size", top);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): corrupted top size");
}

TEST(Check, ForgedPrevSize) {
  SyntheticHeap s;
  s.chunk(0x30);
  uint64_t a = s.chunk(0x40), b = s.chunk(0x100);
  s.chunk(0x20);
  s.finish();
  s.w(b, 0x200);       // prev_size forged
  s.w(b + 8, 0x100);   // PREV_INUSE cleared
  CheckReport r = check(s);
  auto* f = find(r, "forged-prev-size", b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "corrupted size vs. prev_size while consolidating");
  EXPECT_NE(find(r, "free-unlisted", a), nullptr) << dump(r);
}

TEST(Check, FreedFakeChunk) {
  SyntheticHeap s;
  uint64_t big = s.chunk(0x100);
  s.finish();
  uint64_t fake = big + 0x40;
  s.w(fake + 8, 0x41);
  s.tcache_push(2, fake);
  CheckReport r = check(s);
  auto* f = find(r, "fake-chunk", fake);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_NE(f->detail.find(to_hex(Address(big))), std::string::npos) << f->detail;
}

TEST(Check, InUseChunkWithTheTcacheKey) {
  CleanHeap c;
  c.s.w(c.used + 24, 0xdeadbeefcafe);
  CheckReport r = check(c.s);
  auto* f = find(r, "tcache-key-in-use", c.used);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "free(): double free detected in tcache 2");
}

TEST(Check, TcacheEntryKeyOverwritten) {
  CleanHeap c;
  c.s.tcache_push(0, c.used - 0);  // a third entry keeps the key majority
  c.s.w(c.t1 + 24, 0);
  CheckReport r = check(c.s);
  EXPECT_NE(find(r, "tcache-key", c.t1), nullptr) << dump(r);
}

TEST(Check, SmallBinPrevSizeMismatch) {
  CleanHeap c;
  c.s.w(c.small + 0x100, 0x1234);
  CheckReport r = check(c.s);
  auto* f = find(r, "prev-size-mismatch", c.small);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "corrupted size vs. prev_size");
}

// The walk compares prev_sizes once and lists the exceptions; a model
// without them (prev_sizes_walked false) makes heap check read every
// prev_size itself. Both must report the same.
TEST(Check, WalkedPrevSizesReportWhatReadingThemReports) {
  for (int corruption = 0; corruption < 3; ++corruption) {
    CleanHeap c;
    if (corruption == 1) c.s.w(c.small + 0x100, 0x1234);                // the next chunk's prev_size
    if (corruption == 2) c.s.w(c.unsorted + 0x90, 0x40);                // the same after the unsorted chunk
    auto syms = make_no_symbols();
    glibc::Heap walked = glibc::Heap::build(c.s.target, *syms);
    EXPECT_TRUE(walked.prev_sizes_walked);
    EXPECT_EQ(walked.prev_size_exceptions.size(), corruption == 0 ? 0u : 1u);
    glibc::Heap read = walked;
    read.prev_sizes_walked = false;
    read.prev_size_exceptions.clear();
    const CheckReport a = check_heap(walked, c.s.target, {}), b = check_heap(read, c.s.target, {});
    EXPECT_EQ(dump(a), dump(b)) << "corruption " << corruption;
    if (corruption) {
      EXPECT_NE(dump(a).find("prev-size-mismatch"), std::string::npos) << dump(a);
    }
  }
}

TEST(Check, ArenaFilter) {
  CleanHeap c;
  c.s.tcache_push(0, c.t1);
  CheckOptions o;
  o.arena = 0;
  EXPECT_FALSE(check(c.s, o).findings.empty());
}

TEST(Check, CommandJsonAndText) {
  CleanHeap c;
  c.s.tcache_push(0, c.t1);
  auto target = std::make_unique<BufferTarget>(std::move(c.s.target));
  Session session(std::move(target));
  CancelToken cancel;
  auto out = run_command(session, "heap", {"check", "--json"}, cancel);
  ASSERT_EQ(out.status, 0) << out.error;
  auto j = nlohmann::json::parse(out.out);
  ASSERT_TRUE(j["findings"].is_array());
  ASSERT_FALSE(j["findings"].empty());
  bool found = false;
  for (const auto& f : j["findings"]) {
    for (const char* key : {"kind", "address", "arena", "glibc_message", "detail", "cause"})
      EXPECT_TRUE(f.contains(key)) << key;
    if (f["kind"] == "tcache-double-free" && f["address"] == to_hex(Address(c.t1))) found = true;
  }
  EXPECT_TRUE(found) << out.out;
  EXPECT_GT(j["chunks_checked"].get<uint64_t>(), 0u);
  auto text = run_command(session, "heap", {"check"}, cancel);
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("tcache-double-free"), std::string::npos);
  EXPECT_NE(text.out.find("problems found in"), std::string::npos);
  auto stats = run_command(session, "heap", {"stats"}, cancel);
  EXPECT_NE(stats.out.find("run 'heap check'"), std::string::npos) << stats.out;
  auto bad = run_command(session, "heap", {"check", "--arena", "7"}, cancel);
  EXPECT_EQ(bad.status, 2);
}

TEST(Check, ChunkRunningIntoTheTop) {
  SyntheticHeap s;
  s.chunk(0x30);
  uint64_t a = s.chunk(0x40);
  s.finish();
  s.w(a + 8, 0x1000 | 1);
  CheckReport r = check(s);
  auto* f = find(r, "overlaps-top", a);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_NE(f->detail.find("into the top chunk"), std::string::npos);
}

// Sizes from the target are hostile: a huge system_mem and top size must not
// turn into huge allocations (chunk vector reservation, the chunk index).
TEST(Check, HugeArenaSizesAllocateNothingHuge) {
  SyntheticHeap s;
  s.chunk(0x30);
  s.finish();
  s.w(SyntheticHeap::kMainArena + s.l.ms_system_mem, uint64_t{1} << 60);
  s.w(s.cursor + 8, (uint64_t{1} << 50) | 1);
  CheckReport r = check(s);
  EXPECT_FALSE(r.findings.empty());
}

// Large bin 80 (sizes 0x800..0x83f) as glibc keeps it: a (0x830), then b and
// c (both 0x820; b first of its size), then d (0x800); the nextsize ring is
// a -> b -> d -> a.
struct LargeBinHeap {
  SyntheticHeap s;
  uint64_t a, b, c, d, u1, u2;
  int bin = glibc::bin_index_for_size(0x800);
  LargeBinHeap() {
    s.chunk(0x20);
    a = s.chunk(0x830);
    s.chunk(0x20);
    b = s.chunk(0x820);
    s.chunk(0x20);
    c = s.chunk(0x820);
    s.chunk(0x20);
    d = s.chunk(0x800);
    s.chunk(0x20);
    u1 = s.chunk(0x90);
    s.chunk(0x20);
    u2 = s.chunk(0xa0);
    s.chunk(0x20);
    s.finish();
    s.bin_push(bin, d);
    s.bin_push(bin, b);
    s.bin_push(bin, a);
    s.bin_push(bin, c);
    s.bin_push(1, u1);
    s.bin_push(1, u2);  // unsorted: u2 (first), u1 (last)
  }
  uint64_t bin_header() const { return SyntheticHeap::kMainArena + s.l.ms_bins + (bin - 1) * 16 - 16; }
};

TEST(Check, LargeBinAsGlibcKeepsItHasNoFindings) {
  LargeBinHeap h;
  // The helper's sorting is what the check relies on: make sure of it.
  EXPECT_EQ(h.s.r(h.bin_header() + 16), h.a);
  EXPECT_EQ(h.s.r(h.a + 16), h.b);
  EXPECT_EQ(h.s.r(h.b + 16), h.c);
  EXPECT_EQ(h.s.r(h.c + 16), h.d);
  EXPECT_EQ(h.s.r(h.a + 32), h.b);
  EXPECT_EQ(h.s.r(h.b + 32), h.d);
  EXPECT_EQ(h.s.r(h.d + 32), h.a);
  EXPECT_EQ(h.s.r(h.c + 32), 0u);
  CheckReport r = check(h.s);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Check, LargeBinBkNextsizeOverwritten) {
  LargeBinHeap h;
  h.s.w(h.b + 40, SyntheticHeap::kLibcData + 0x1800 - 32);  // the largebin attack's target
  CheckReport r = check(h.s);
  auto* f = find(r, "largebin-nextsize", h.b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): largebin double linked list corrupted (nextsize)");
  EXPECT_NE(f->detail.find("bk_nextsize"), std::string::npos) << f->detail;
  EXPECT_NE(f->detail.find(to_hex(Address(h.a))), std::string::npos) << f->detail;  // where it should lead
  EXPECT_NE(f->cause.find("largebin attack"), std::string::npos) << f->cause;
  EXPECT_EQ(r.findings.size(), 1u) << dump(r);
}

TEST(Check, LargeBinFdNextsizeOverwritten) {
  LargeBinHeap h;
  h.s.w(h.d + 32, h.c);  // the smallest's ring link should wrap to a
  CheckReport r = check(h.s);
  auto* f = find(r, "largebin-nextsize", h.d);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): largebin double linked list corrupted (nextsize)");
  EXPECT_NE(f->detail.find("fd_nextsize"), std::string::npos) << f->detail;
}

TEST(Check, LargeBinSecondOfASizeOffTheRing) {
  LargeBinHeap h;
  h.s.w(h.c + 32, h.d);  // only the first of each size is on the ring
  CheckReport r = check(h.s);
  auto* f = find(r, "largebin-nextsize", h.c);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "corrupted double-linked list (not small)");
}

TEST(Check, LargeBinOutOfOrder) {
  LargeBinHeap h;
  // Relink the bin as a, d, b, c (fd and bk consistent, sizes not sorted).
  uint64_t bin = h.bin_header();
  std::vector<uint64_t> order{bin, h.a, h.d, h.b, h.c, bin};
  for (size_t i = 0; i + 1 < order.size(); ++i) {
    h.s.w(order[i] + 16, order[i + 1]);
    h.s.w(order[i + 1] + 24, order[i]);
  }
  CheckReport r = check(h.s);
  auto* f = find(r, "largebin-order", h.b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_NE(f->detail.find("largest first"), std::string::npos) << f->detail;
  EXPECT_EQ(find(r, "largebin-nextsize", h.a), nullptr) << dump(r);  // no ring noise on an unsorted bin
}

TEST(Check, LargeBinBkOverwritten) {
  LargeBinHeap h;
  h.s.w(h.c + 24, SyntheticHeap::kLibcData + 0x1800);
  CheckReport r = check(h.s);
  auto* f = find(r, "bin-link", h.c);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "malloc(): largebin double linked list corrupted (bk)");
}

TEST(Check, UnsortedFirstChunkBkOverwritten) {
  LargeBinHeap h;
  h.s.w(h.u2 + 24, SyntheticHeap::kLibcData + 0x1800);  // first, not last
  CheckReport r = check(h.s);
  auto* f = find(r, "bin-link", h.u2);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "free(): corrupted unsorted chunks");
  EXPECT_NE(f->detail.find("malloc(): corrupted unsorted chunks"), std::string::npos) << f->detail;
}

TEST(Check, UnsortedChunkFollowedByAnInvalidSize) {
  LargeBinHeap h;
  uint64_t next = h.u1 + 0x90;
  h.s.w(next + 8, 0x4141414141414141);  // more than system_mem
  CheckReport r = check(h.s);
  bool named = false;
  for (const auto& f : r.findings) named |= f.glibc_message == "malloc(): invalid next size (unsorted)";
  EXPECT_TRUE(named) << dump(r);
}

// One mmapped chunk of 0x21000 bytes in its own anonymous mapping, counted by mp_.
struct MmappedHeap {
  SyntheticHeap s;
  static constexpr uint64_t kMap = 0x7f0000400000, kLen = 0x21000;
  MmappedHeap() {
    s.chunk(0x30);
    s.finish();
    s.target.add_region(Address(kMap), std::vector<std::byte>(kLen), kPermRead | kPermWrite, "");
    s.w(kMap + 8, kLen | 2);
    s.w(SyntheticHeap::kMp + s.l.mp_n_mmaps, 1);
    s.w(SyntheticHeap::kMp + s.l.mp_mmapped_mem, kLen);
  }
};

TEST(Check, MmappedChunkClean) {
  MmappedHeap m;
  CheckReport r = check(m.s);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Check, MmappedChunkSizeNotPages) {
  MmappedHeap m;
  m.s.w(MmappedHeap::kMap + 8, (MmappedHeap::kLen - 0x10) | 2);
  CheckReport r = check(m.s);
  auto* f = find(r, "mmapped-header", MmappedHeap::kMap);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "munmap_chunk(): invalid pointer");
}

TEST(Check, MmappedChunkPrevSizeSmashed) {
  MmappedHeap m;
  m.s.w(MmappedHeap::kMap, 0x41);
  CheckReport r = check(m.s);
  auto* f = find(r, "mmapped-header", MmappedHeap::kMap);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "munmap_chunk(): invalid pointer");
  EXPECT_NE(f->detail.find("prev_size 0x41"), std::string::npos) << f->detail;
}

TEST(Check, MmappedChunkLostItsMmappedBit) {
  MmappedHeap m;
  m.s.w(MmappedHeap::kMap + 8, MmappedHeap::kLen | 1);
  CheckReport r = check(m.s);
  auto* f = find(r, "mmapped-header", MmappedHeap::kMap);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_EQ(f->glibc_message, "double free or corruption (out)");
}

TEST(Check, NoMmappedChunkMissingNoSearch) {
  // The same damaged-looking page, but mp_ counts nothing missing: no finding.
  MmappedHeap m;
  m.s.w(MmappedHeap::kMap, 0x41);
  m.s.w(SyntheticHeap::kMp + m.s.l.mp_n_mmaps, 0);
  m.s.w(SyntheticHeap::kMp + m.s.l.mp_mmapped_mem, 0);
  CheckReport r = check(m.s);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

// glibc 2.29..2.33: each entry's key is its own tcache's address (one per
// thread), not one process-wide key.
TEST(Check, PerThreadTcacheKeysBefore234) {
  SyntheticHeap s(31);
  uint64_t a = s.chunk(0x20), b = s.chunk(0x20), c = s.chunk(0x30);
  s.chunk(0x20);
  s.finish();
  s.tcache_push(0, a);
  s.tcache_push(0, b);
  s.tcache_push(1, c);
  CheckReport r = check(s);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  s.w(b + 24, 0);  // the key wiped by a write after free
  r = check(s);
  auto* f = find(r, "tcache-key", b);
  ASSERT_NE(f, nullptr) << dump(r);
  EXPECT_NE(f->detail.find("its tcache's address"), std::string::npos) << f->detail;
}

}  // namespace
}  // namespace heapscope
