#include "heapscope/analysis/leaks.h"

#include <gtest/gtest.h>

#include "analysis/leak_marking.h"
#include "analysis/pointer_scan.h"
#include "heapscope/buffer_target.h"
#include "heapscope/analysis/refs.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;

glibc::Heap build(SyntheticHeap& s) {
  auto syms = make_no_symbols();
  return glibc::Heap::build(s.target, *syms);
}

LeakClass class_of(const glibc::Heap& h, const LeakAnalysis& a, uint64_t chunk) {
  const glibc::Chunk* c = h.chunk_at(Address(chunk));
  EXPECT_NE(c, nullptr);
  return c ? a.classes[static_cast<size_t>(c - h.blocks.data())] : LeakClass::kNotNode;
}

constexpr uint64_t kGlobal = SyntheticHeap::kLibcData + 0x1800;  // a module global
constexpr uint64_t kSp = SyntheticHeap::kTls + 0x800;            // thread 42's sp

TEST(Leaks, ClassifiesEveryKind) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x30), b = s.chunk(0x30);        // reachable: global -> a -> b
  uint64_t c = s.chunk(0x40), d = s.chunk(0x20);        // possible: stack -> c+0x18, c -> d
  uint64_t e = s.chunk(0x30), f = s.chunk(0x30), g = s.chunk(0x30);  // leaked chain e -> f -> g
  uint64_t hh = s.chunk(0x20), ii = s.chunk(0x20);      // leaked cycle
  uint64_t j = s.chunk(0x30);                           // only a freed chunk points here
  uint64_t t1 = s.chunk(0x40);                          // freed (tcache), full of stale pointers
  uint64_t k = s.chunk(0x30);                           // only below the red zone points here
  uint64_t y = s.chunk(0x20), z = s.chunk(0x20), x = s.chunk(0x20);  // x -> y <-> z
  uint64_t r = s.chunk(0x20);                           // a register points here
  uint64_t guard = s.chunk(0x20);
  s.finish();
  s.tcache_push(2, t1);
  s.w(kGlobal, a + 16);
  s.w(a + 16 + 8, b + 16);
  s.w(kSp + 0x40, c + 16 + 0x18);
  s.w(c + 16, d + 16);
  s.w(e + 16, f + 16);
  s.w(f + 16 + 8, g + 16 + 8);  // interior pointers count between leaked chunks
  s.w(hh + 16, ii + 16);
  s.w(ii + 16, hh + 16);
  for (uint64_t off = 16; off < 0x30; off += 8) s.w(t1 + 16 + off, j + 16);
  s.w(kSp - kRedZone - 8, k + 16);
  s.w(kSp - 8, guard + 16);  // inside the red zone: a root
  s.w(x + 16, y + 16);
  s.w(y + 16, z + 16);
  s.w(z + 16, y + 16);
  Thread t2;
  t2.tid = 43;
  t2.registers = {{"rbx", r + 16}, {"rip", 0x1234}};
  t2.sp = Address(0x7f0000400800);
  s.target.add_region(Address(0x7f0000400000), std::vector<std::byte>(0x1000));
  s.target.add_thread(t2);

  glibc::Heap h = build(s);
  ASSERT_TRUE(h.findings.empty()) << h.findings.front().detail;
  LeakAnalysis an = analyze_leaks(s.target, h, CancelToken());
  EXPECT_EQ(class_of(h, an, a), LeakClass::kReachable);
  EXPECT_EQ(class_of(h, an, b), LeakClass::kReachable);
  EXPECT_EQ(class_of(h, an, c), LeakClass::kPossible);
  EXPECT_EQ(class_of(h, an, d), LeakClass::kPossible);
  EXPECT_EQ(class_of(h, an, e), LeakClass::kDirect);
  EXPECT_EQ(class_of(h, an, f), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, an, g), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, an, hh), LeakClass::kDirect);
  EXPECT_EQ(class_of(h, an, ii), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, an, j), LeakClass::kDirect);
  EXPECT_EQ(class_of(h, an, t1), LeakClass::kNotNode);
  EXPECT_EQ(class_of(h, an, k), LeakClass::kDirect);
  // x points into the y-z cycle: the cycle is not a source, x is.
  EXPECT_EQ(class_of(h, an, x), LeakClass::kDirect);
  EXPECT_EQ(class_of(h, an, y), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, an, z), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, an, r), LeakClass::kReachable);
  EXPECT_EQ(class_of(h, an, guard), LeakClass::kReachable);
  EXPECT_EQ(an.direct.chunks, 5u);
  EXPECT_EQ(an.indirect.chunks, 5u);
  EXPECT_EQ(an.possible.chunks, 2u);
  EXPECT_EQ(an.direct.bytes, 0x30u + 0x20 + 0x30 + 0x30 + 0x20);
  EXPECT_EQ(an.listed.size(), 12u);
  EXPECT_TRUE(std::is_sorted(an.listed.begin(), an.listed.end()));
  // The metadata chunk (tcache_perthread_struct) and top are not nodes.
  EXPECT_EQ(class_of(h, an, SyntheticHeap::kHeap), LeakClass::kNotNode);
}

TEST(Leaks, StartPointerUpgradesAnInteriorSeed) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x30), b = s.chunk(0x30), c = s.chunk(0x30);
  s.finish();
  s.w(kGlobal, a + 16 + 8);  // interior to a first (address order of roots)
  s.w(kGlobal + 8, b + 16);  // b -> a at the start: a is reachable after all
  s.w(b + 16, a + 16);
  s.w(a + 16, c + 16);
  glibc::Heap h = build(s);
  LeakAnalysis an = analyze_leaks(s.target, h, CancelToken());
  EXPECT_EQ(class_of(h, an, a), LeakClass::kReachable);
  EXPECT_EQ(class_of(h, an, c), LeakClass::kReachable);
  EXPECT_EQ(an.possible.chunks, 0u);
}

TEST(Leaks, CancelStops) {
  SyntheticHeap s;
  for (int i = 0; i < 100; ++i) s.chunk(0x400);
  s.finish();
  glibc::Heap h = build(s);
  CancelToken t;
  t.cancel();
  EXPECT_THROW(analyze_leaks(s.target, h, t), Cancelled);
}

// A second allocator beside glibc, laid out by hand: one region of
// in-use objects of `size` bytes.
constexpr BlockKind kOtherKinds[] = {{"object", BlockState::kInUse}};
constexpr uint64_t kOther = 0x7e0000000000;

HeapModel other_heap(SyntheticHeap& s, uint32_t objects, uint32_t size = 0x40) {
  s.target.add_region(Address(kOther), std::vector<std::byte>(uint64_t{size} * objects));
  HeapModel m;
  m.allocator = "other";
  m.kinds = kOtherKinds;
  for (uint32_t i = 0; i < objects; ++i) m.blocks.emplace_back(Address(kOther + uint64_t{size} * i), size, 0, 0, 0);
  m.system = {{Address(kOther), Address(kOther + uint64_t{size} * objects)}};
  m.build_index();
  return m;
}

TEST(UnionLeaks, PointersAcrossHeapsCountAndNoHeapIsARoot) {
  SyntheticHeap s;
  uint64_t a = s.chunk(0x30), b = s.chunk(0x30), c = s.chunk(0x30);
  s.finish();
  HeapModel o = other_heap(s, 3);
  const uint64_t x = kOther, y = kOther + 0x40, z = kOther + 0x80;
  s.w(kGlobal, a + 16);  // global -> a -> x: both reachable
  s.w(a + 16, x);
  s.w(y + 8, b + 16);    // leaked y -> b: b is indirect, not kept by y's memory
  s.w(c + 16, z + 0x10); // leaked c -> into z: z is indirect
  glibc::Heap h = build(s);
  UnionLeakAnalysis u = analyze_union_leaks(s.target, {&h, &o}, CancelToken());
  ASSERT_EQ(u.per_model.size(), 2u);
  const LeakAnalysis& g = u.per_model[0];
  const LeakAnalysis& m = u.per_model[1];
  EXPECT_EQ(class_of(h, g, a), LeakClass::kReachable);
  EXPECT_EQ(class_of(h, g, b), LeakClass::kIndirect);
  EXPECT_EQ(class_of(h, g, c), LeakClass::kDirect);
  EXPECT_EQ(m.classes[0], LeakClass::kReachable);
  EXPECT_EQ(m.classes[1], LeakClass::kDirect);
  EXPECT_EQ(m.classes[2], LeakClass::kIndirect);
  EXPECT_EQ(m.listed, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(u.total(&LeakAnalysis::direct).chunks, 2u);
  // Alone, glibc's heap gets analyze_leaks' answer; there the other heap's
  // memory is anonymous memory, a root, so y keeps b alive.
  UnionLeakAnalysis alone = analyze_union_leaks(s.target, {&h}, CancelToken());
  LeakAnalysis direct = analyze_leaks(s.target, h, CancelToken());
  EXPECT_EQ(alone.per_model[0].classes, direct.classes);
  EXPECT_EQ(class_of(h, direct, b), LeakClass::kReachable);
}

// A graph too big for tiny queues: a binary tree from one root (the bench's
// tree shape: one thread must share its queue), random start and interior
// pointers over every object (reachable, possible and leaked ones).
constexpr uint32_t kGraphObjects = 20000;
HeapModel random_graph(SyntheticHeap& s) {
  s.finish();
  HeapModel m = other_heap(s, kGraphObjects, 0x20);
  auto at = [](uint32_t i) { return kOther + 0x20 * uint64_t{i}; };
  s.w(kGlobal, at(0));
  for (uint32_t i = 0; i < kGraphObjects / 2; ++i)
    for (uint32_t c = 2 * i + 1; c <= 2 * i + 2 && c < kGraphObjects / 2; ++c) s.w(at(i) + 8 * (c - 2 * i - 1), at(c));
  uint64_t x = 12345;
  auto next = [&x] { return (x = x * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (uint32_t i = 0; i < kGraphObjects; ++i) {
    if (next() % 4 == 0) s.w(at(i) + 16, at(static_cast<uint32_t>(next() % kGraphObjects)));
    if (next() % 8 == 0) s.w(at(i) + 24, at(static_cast<uint32_t>(next() % kGraphObjects)) + 8);
  }
  return m;
}

// Any thread count and queue size gives the same classes, tallies and list.
TEST(Leaks, SameAnswerWhateverTheThreadCount) {
  SyntheticHeap s;
  const HeapModel m = random_graph(s);
  const LeakAnalysis one = analyze_leaks(s.target, m, CancelToken(), {.threads = 1});
  EXPECT_GT(one.reachable.chunks, kGraphObjects / 2);
  EXPECT_GT(one.possible.chunks, 0u);
  EXPECT_GT(one.direct.chunks, 0u);
  EXPECT_GT(one.indirect.chunks, 0u);
  EXPECT_EQ(one.reachable.chunks + one.possible.chunks + one.leaked().chunks, kGraphObjects);
  for (unsigned threads : {1u, 2u, 4u, 7u}) {
    for (uint32_t queue : {uint32_t{1} << 16, uint32_t{4}}) {
      const LeakAnalysis an = analyze_leaks(s.target, m, CancelToken(), {.threads = threads, .queue_limit = queue});
      SCOPED_TRACE(::testing::Message() << threads << " threads, queue " << queue);
      EXPECT_EQ(an.classes, one.classes);
      EXPECT_EQ(an.listed, one.listed);
      EXPECT_EQ(an.maybe_typed, one.maybe_typed);
      for (auto field : {&LeakAnalysis::reachable, &LeakAnalysis::possible, &LeakAnalysis::direct,
                         &LeakAnalysis::indirect}) {
        EXPECT_EQ((an.*field).chunks, (one.*field).chunks);
        EXPECT_EQ((an.*field).bytes, (one.*field).bytes);
      }
    }
  }
}

// One thread sweeps in address order and leaves the chunks ahead of it to
// the sweep, queueing only those behind it. Two chains from one root, one
// running up the addresses and one down, with an interior pointer in each
// (the rest of the down chain only possibly reachable), under any queue
// size and thread count, reach what following every pointer one by one does.
TEST(Leaks, ChainsUpAndDownTheAddressesReachWhatAPlainWalkDoes) {
  constexpr uint32_t kObjects = 4000, kHalf = kObjects / 2, kSize = 0x20;
  SyntheticHeap s;
  s.finish();
  HeapModel m = other_heap(s, kObjects, kSize);
  auto at = [](uint32_t i) { return kOther + uint64_t{kSize} * i; };
  // Up: 0 -> 1 -> ... -> kHalf-1. Down: kObjects-1 -> ... -> kHalf, with
  // 300's link (up) and kObjects-700's (down) pointing inside their next.
  std::vector<uint64_t> link(kObjects, 0);
  for (uint32_t i = 0; i + 1 < kHalf; ++i) link[i] = at(i + 1) + (i == 300 ? 8 : 0);
  for (uint32_t i = kObjects - 1; i > kHalf; --i) link[i] = at(i - 1) + (i == kObjects - 700 ? 8 : 0);
  for (uint32_t i = 0; i < kObjects; ++i)
    if (link[i]) s.w(at(i), link[i]);
  s.w(kGlobal, at(0));
  s.w(kGlobal + 8, at(kObjects - 1));
  // The plain walk: start pointers reach, interior ones only possibly.
  std::vector<LeakClass> expected(kObjects, LeakClass::kDirect);
  auto walk = [&](uint32_t from, LeakClass c, bool interior_stops) {
    for (uint32_t i = from;;) {
      expected[i] = c;
      if (!link[i]) break;
      const uint32_t next = static_cast<uint32_t>((link[i] - kOther) / kSize);
      if (interior_stops && link[i] != at(next)) {
        c = LeakClass::kPossible;
        interior_stops = false;
      }
      i = next;
    }
  };
  walk(0, LeakClass::kReachable, true);
  walk(kObjects - 1, LeakClass::kReachable, true);
  ASSERT_EQ(expected[301], LeakClass::kPossible);
  ASSERT_EQ(expected[kObjects - 701], LeakClass::kPossible);
  ASSERT_EQ(expected[kObjects - 700], LeakClass::kReachable);
  for (unsigned threads : {1u, 2u})
    for (uint32_t queue : {uint32_t{1} << 16, uint32_t{4}}) {
      SCOPED_TRACE(::testing::Message() << threads << " threads, queue " << queue);
      const LeakAnalysis an = analyze_leaks(s.target, m, CancelToken(), {.threads = threads, .queue_limit = queue});
      EXPECT_EQ(an.classes, expected);
    }
}

// A scan on several threads whose token fires on the way stops every
// thread (the test would hang otherwise); one that ends before it fires is
// whole.
TEST(Leaks, CancelStopsEveryThread) {
  SyntheticHeap s;
  const HeapModel m = random_graph(s);
  const LeakAnalysis whole = analyze_leaks(s.target, m, CancelToken(), {.threads = 1});
  int stopped = 0;
  for (int after : {0, 1, 2, 3, 4}) {
    int polls = 0;
    CancelToken t([&] { return ++polls > after; });
    try {
      EXPECT_EQ(analyze_leaks(s.target, m, t, {.threads = 4, .queue_limit = 4}).classes, whole.classes);
    } catch (const Cancelled&) {
      ++stopped;
    }
  }
  EXPECT_GT(stopped, 0);
}

// A range spanning most of the address space (a corrupt mems segment size,
// found by fuzz_mems) is scanned region by region: only the words the target
// has are visited, and the gaps between regions cost nothing (page by page,
// this scan would not end).
TEST(ForEachWord, SkipsTheGapsBetweenRegions) {
  BufferTarget t;
  t.add_region(Address(0x10000), std::vector<std::byte>(64, std::byte{1}));
  t.add_region(Address(0x7f0000000000), std::vector<std::byte>(32, std::byte{2}));
  std::vector<uint64_t> at;
  for_each_word(t, {Address(8), Address(UINT64_MAX - 7)}, CancelToken(),
                          [&](uint64_t a, uint64_t) { at.push_back(a); });
  ASSERT_EQ(at.size(), 12u);
  EXPECT_EQ(at.front(), 0x10000u);
  EXPECT_EQ(at[8], 0x7f0000000000u);
  EXPECT_EQ(at.back(), 0x7f0000000018u);
}

TEST(NodeIndex, AgreesWithChunkContainingOnEveryWord) {
  SyntheticHeap s;
  uint64_t sizes[] = {0x20, 0x30, 0x100, 0x20, 0x410, 0x40, 0x20, 0x1000, 0x50};
  for (int round = 0; round < 20; ++round)
    for (uint64_t z : sizes) s.chunk(z);
  uint64_t freed = s.chunk(0x30);
  s.chunk(0x20);
  s.finish();
  s.tcache_push(1, freed);
  glibc::Heap h = build(s);
  analysis::NodeIndex index(h);
  size_t starts = 0;
  for (uint64_t v = SyntheticHeap::kHeap - 64; v < SyntheticHeap::kHeap + SyntheticHeap::kHeapSize + 64; v += 8) {
    bool start = false;
    uint32_t n = index.find(v, &start);
    const glibc::Chunk* c = h.chunk_containing(Address(v));
    bool want = c && is_node(*c) && v >= glibc::chunk_data(*c).value;
    ASSERT_EQ(n != analysis::kNoNode, want) << std::hex << v;
    if (want) {
      ASSERT_EQ(&h.blocks[n], c);
      ASSERT_EQ(start, v == glibc::chunk_data(*c).value);
      starts += start;
    }
  }
  EXPECT_EQ(starts, 20u * 9 + 1);
}

TEST(Roots, StacksModulesAndAnonymousButNotHeap) {
  SyntheticHeap s;
  s.chunk(0x30);
  s.finish();
  s.target.add_region(Address(0x7f0000500000), std::vector<std::byte>(0x1000), kPermRead);  // read-only
  glibc::Heap h = build(s);
  Roots roots = find_roots(s.target, h);
  bool stack = false, module = false;
  for (const auto& r : roots.ranges) {
    EXPECT_FALSE(r.range.contains(Address(SyntheticHeap::kHeap)));
    EXPECT_NE(r.range.begin.value, 0x7f0000500000u);
    if (r.kind == RootKind::kStack) {
      stack = true;
      EXPECT_EQ(r.tid, 42);
      EXPECT_EQ(r.range.begin.value, kSp - kRedZone);
      EXPECT_EQ(r.range.end.value, SyntheticHeap::kTls + 0x2000);
    }
    if (r.kind == RootKind::kModule && r.range.begin.value == SyntheticHeap::kLibcData) module = true;
  }
  EXPECT_TRUE(stack);
  EXPECT_TRUE(module);
}

}  // namespace
}  // namespace heapscope
