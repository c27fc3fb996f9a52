// Finding each thread's tcache on aarch64: the `tcache` TLS variable lies
// above the thread pointer (TLS variant I), and without thread pointers (qemu
// cores have no NT_ARM_TLS) a tcache is known by its shape. Synthetic heaps
// seen through a target that says it is aarch64.
#include <gtest/gtest.h>

#include "glibc/builder.h"
#include "heapscope/error.h"
#include "heapscope/glibc/heap.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using glibc::ChunkState;
using testing::SyntheticHeap;

// The synthetic heap's memory with another architecture and other threads.
class Relabelled : public Target {
 public:
  Relabelled(const Target& t, Arch arch, std::vector<Thread> threads)
      : t_(t), arch_(arch), threads_(std::move(threads)) {}
  std::span<const std::byte> view(Address a, uint64_t n) const override { return t_.view(a, n); }
  const std::vector<Region>& regions() const override { return t_.regions(); }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return t_.modules(); }
  Arch arch() const override { return arch_; }
  std::string description() const override { return "relabelled"; }

 private:
  const Target& t_;
  Arch arch_;
  std::vector<Thread> threads_;
};

Thread thread(int tid, uint64_t tp) {
  Thread t;
  t.tid = tid;
  t.thread_pointer = Address(tp);
  t.sp = Address(SyntheticHeap::kTls + 0x800);
  return t;
}

// A second tcache_perthread_struct, not the heap's first chunk (as 2.43's
// lazily allocated ones are), holding chunk `c` (size 0x20) in bin 0.
struct SecondTcache {
  uint64_t chunk = 0, data = 0, held = 0;
  explicit SecondTcache(SyntheticHeap& s) {
    s.chunk(0x30);
    chunk = s.chunk((s.l.tcache_struct_size + 8 + 15) & ~15ull);
    data = chunk + 16;
    held = s.chunk(0x20);
    s.chunk(0x20);  // keeps `held` off the top
  }
  void fill(SyntheticHeap& s) {
    const uint64_t entries = data + s.l.tcache_bins * s.l.tcache_counts_width;
    s.w(held + 16, s.mangle(held + 16, 0));
    s.w(entries, held + 16);
    for (int i = 0; i < s.l.tcache_bins; ++i) {
      uint16_t n = s.l.tcache_counts_free_slots ? SyntheticHeap::kTcacheCount - (i == 0) : (i == 0);
      s.target.write_value(Address(data + 2 * i), n);
    }
  }
};

glibc::Heap build(const Target& t) {
  auto syms = make_no_symbols();
  return glibc::Heap::build(t, *syms);
}

const glibc::Tcache* tcache_at(const glibc::Heap& h, uint64_t data) {
  for (const auto& t : h.tcaches)
    if (t.address.value == data) return &t;
  return nullptr;
}

class TcacheTls : public ::testing::TestWithParam<int> {};

TEST_P(TcacheTls, AArch64LooksAboveTheThreadPointer) {
  SyntheticHeap s(GetParam());
  SecondTcache second(s);
  s.finish();
  second.fill(s);
  // Thread 7's TCB is 16 bytes at its thread pointer; libc's TLS follows.
  const uint64_t tp = SyntheticHeap::kTls + 0x1800;
  s.w(tp + 0x40, second.data);
  std::vector<Thread> threads = {thread(7, tp)};

  glibc::Heap arm = build(Relabelled(s.target, Arch::kAArch64, threads));
  EXPECT_TRUE(arm.findings.empty()) << arm.findings.front().detail;
  const glibc::Tcache* t = tcache_at(arm, second.data);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tid, 7);
  EXPECT_EQ(arm.chunk_at(Address(second.held))->kind, ChunkState::kTcache);
  EXPECT_EQ(arm.chunk_at(Address(second.chunk))->kind, ChunkState::kMetadata);

  // x86-64 (variant II) looks below the thread pointer only: not found.
  glibc::Heap x86 = build(Relabelled(s.target, Arch::kX86_64, threads));
  EXPECT_EQ(tcache_at(x86, second.data), nullptr);
  EXPECT_EQ(x86.chunk_at(Address(second.held))->kind, ChunkState::kInUse);
}

TEST_P(TcacheTls, WithoutThreadPointersTcachesAreKnownByShape) {
  SyntheticHeap s(GetParam());
  SecondTcache second(s);
  // A decoy of the same size whose bin 0 points at a chunk of another size.
  uint64_t decoy = s.chunk((s.l.tcache_struct_size + 8 + 15) & ~15ull);
  uint64_t wrong = s.chunk(0x40);
  s.chunk(0x20);
  s.finish();
  second.fill(s);
  s.w(decoy + 16 + s.l.tcache_bins * s.l.tcache_counts_width, wrong + 16);
  s.target.write_value(Address(decoy + 16), static_cast<uint16_t>(1));

  glibc::Heap h = build(Relabelled(s.target, Arch::kAArch64, {thread(7, 0)}));
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
  const glibc::Tcache* t = tcache_at(h, second.data);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tid, 0);
  EXPECT_EQ(h.chunk_at(Address(second.held))->kind, ChunkState::kTcache);
  EXPECT_EQ(tcache_at(h, decoy + 16), nullptr);
  EXPECT_EQ(h.chunk_at(Address(decoy))->kind, ChunkState::kInUse);
  EXPECT_EQ(h.chunk_at(Address(wrong))->kind, ChunkState::kInUse);
  // The heap's first chunk (the synthetic heap's own tcache) is found too.
  EXPECT_NE(tcache_at(h, s.tcache), nullptr);

  // With every thread pointer known, the shape is not enough.
  glibc::Heap known = build(Relabelled(s.target, Arch::kAArch64, {thread(7, SyntheticHeap::kThreadPointer)}));
  EXPECT_EQ(tcache_at(known, second.data), nullptr);
}

// Issue 22: the tcache_perthread_struct of an exited thread, freed into a
// bin or (taken and freed again) into a live thread's tcache, with a stale
// pointer to it left in that thread's stack just below its TLS. It is a free
// chunk, not a second tcache of that thread.
TEST_P(TcacheTls, AFreedStructPointedAtFromTheTlsAreaIsNotATcache) {
  for (bool in_tcache : {true, false}) {
    SCOPED_TRACE(in_tcache ? "freed into a tcache bin" : "freed into the unsorted bin");
    SyntheticHeap s(GetParam());
    const uint64_t size = (s.l.tcache_struct_size + 8 + 15) & ~15ull;
    const int bin = static_cast<int>((size - s.l.min_chunk) / s.l.malloc_alignment);
    s.chunk(0x30);
    const uint64_t freed = s.chunk(size);
    s.chunk(0x30);  // keeps it off the top
    s.finish();
    // Its old contents: entries that pointed at chunks since reused.
    for (int i = 0; i < s.l.tcache_bins; ++i)
      s.w(freed + 16 + s.l.tcache_bins * s.l.tcache_counts_width + 8 * i, 0);
    if (in_tcache) {
      if (bin >= s.l.tcache_bins) GTEST_SKIP() << "no tcache bin of that size";
      s.tcache_push(bin, freed);
    } else {
      s.bin_push(1, freed);
    }
    s.w(SyntheticHeap::kThreadPointer - 0x700, freed + 16);  // a stale word in the stack
    glibc::Heap h = build(s.target);
    EXPECT_TRUE(h.findings.empty()) << h.findings.front().kind << ": " << h.findings.front().detail;
    ASSERT_EQ(h.tcaches.size(), 1u);
    EXPECT_EQ(h.tcaches[0].address.value, s.tcache);
    EXPECT_EQ(h.tcaches[0].tid, 42);
    EXPECT_EQ(h.chunk_at(Address(freed))->kind, in_tcache ? ChunkState::kTcache : ChunkState::kUnsorted);
  }
}

// Every thread's `tcache` is at the same distance from its thread pointer;
// another thread's tcache-sized chunk in a stack is not that thread's.
TEST_P(TcacheTls, EveryThreadAtTheSameSlot) {
  SyntheticHeap s(GetParam());
  SecondTcache second(s);
  s.finish();
  second.fill(s);
  const uint64_t tls2 = SyntheticHeap::kTls + 0x10000, tp2 = tls2 + 0x1000;
  s.target.add_region(Address(tls2), std::vector<std::byte>(0x2000), kPermRead | kPermWrite, "");
  s.w(tp2 - 0x48, second.data);
  s.w(tp2 - 0x600, s.tcache);  // thread 43's stack holds thread 42's tcache
  std::vector<Thread> threads = {thread(42, SyntheticHeap::kThreadPointer), thread(43, tp2)};
  glibc::Heap h = build(Relabelled(s.target, Arch::kX86_64, threads));
  EXPECT_TRUE(h.findings.empty()) << h.findings.front().detail;
  ASSERT_EQ(h.tcaches.size(), 2u);
  EXPECT_EQ(tcache_at(h, s.tcache)->tid, 42);
  EXPECT_EQ(tcache_at(h, second.data)->tid, 43);
  EXPECT_EQ(h.chunk_at(Address(second.held))->kind, ChunkState::kTcache);
}

INSTANTIATE_TEST_SUITE_P(Glibc, TcacheTls, ::testing::Values(31, 36, 42, 43, 44));

}  // namespace
}  // namespace heapscope
