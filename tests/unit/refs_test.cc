#include "heapscope/analysis/refs.h"

#include <gtest/gtest.h>

#include "heapscope/analysis/leaks.h"
#include "heapscope/error.h"
#include "heapscope/output.h"
#include "render/leak_render.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;

constexpr uint64_t kGlobal = SyntheticHeap::kLibcData + 0x1800;
constexpr uint64_t kSp = SyntheticHeap::kTls + 0x800;

// Names module memory like an ELF symbol table would.
class FakeSymbols : public SymbolResolver {
 public:
  std::optional<Address> find(std::string_view, std::string_view) const override { return {}; }
  std::optional<SymbolAt> at(Address a) const override {
    if (a.value >= kGlobal && a.value < kGlobal + 0x100)
      return SymbolAt{"g_table", "libc.so.6", a.value - kGlobal, "", 0};
    return std::nullopt;
  }
  bool has_full_symbols(std::string_view) const override { return false; }
};

struct Fixture {
  SyntheticHeap s;
  uint64_t a, b, c, leaked;
  FakeSymbols syms;
  glibc::Heap h;
  Fixture() {
    a = s.chunk(0x30), b = s.chunk(0x40), c = s.chunk(0x30), leaked = s.chunk(0x30);
    s.finish();
    s.w(kGlobal + 0x10, a + 16);      // g_table+0x10 -> a
    s.w(a + 16 + 8, b + 16 + 0x10);   // a -> b+0x10 (interior)
    s.w(c + 16, b + 16);              // c -> b
    s.w(kSp + 0x20, c + 16);          // stack -> c
    s.w(leaked + 16, b + 16);         // a leaked chunk -> b: still a holder
    h = glibc::Heap::build(s.target, *make_no_symbols());
  }
};

TEST(Refs, ListsEveryHolder) {
  Fixture f;
  RefsReport r = find_refs(f.s.target, f.h, f.syms, Address(f.b + 0x28), false, CancelToken());
  EXPECT_EQ(f.h.blocks[static_cast<size_t>(r.chunk)].address.value, f.b);
  ASSERT_EQ(r.refs.size(), 3u);
  std::vector<uint64_t> holders;
  for (const auto& ref : r.refs) {
    ASSERT_EQ(ref.from, Reference::From::kChunk);
    holders.push_back(f.h.blocks[static_cast<size_t>(ref.chunk)].address.value);
  }
  EXPECT_EQ(holders, (std::vector<uint64_t>{f.a, f.c, f.leaked}));
  EXPECT_FALSE(r.refs[0].start);
  EXPECT_EQ(r.refs[0].where.value, f.a + 16 + 8);
  EXPECT_TRUE(r.refs[1].start);
  EXPECT_TRUE(r.path.empty());
}

TEST(Refs, RootsAreNamed) {
  Fixture f;
  RefsReport ra = find_refs(f.s.target, f.h, f.syms, Address(f.a + 16), false, CancelToken());
  ASSERT_EQ(ra.refs.size(), 1u);
  EXPECT_EQ(ra.refs[0].from, Reference::From::kModule);
  EXPECT_EQ(ra.refs[0].name, "g_table+0x10 in libc.so.6");
  RefsReport rc = find_refs(f.s.target, f.h, f.syms, Address(f.c + 16), false, CancelToken());
  ASSERT_EQ(rc.refs.size(), 1u);
  EXPECT_EQ(rc.refs[0].from, Reference::From::kStack);
  EXPECT_EQ(rc.refs[0].tid, 42);
  EXPECT_EQ(rc.refs[0].where.value - rc.refs[0].thread_sp.value, 0x20u);
}

TEST(Refs, ShortestPathFromARoot) {
  Fixture f;
  RefsReport r = find_refs(f.s.target, f.h, f.syms, Address(f.b + 16), true, CancelToken());
  // Stack -> c -> b (two hops) beats global -> a -> b only by root order;
  // both are two hops, and stacks are searched first.
  ASSERT_EQ(r.path.size(), 2u);
  EXPECT_EQ(r.path[0].via.from, Reference::From::kStack);
  EXPECT_EQ(f.h.blocks[static_cast<size_t>(r.path[0].chunk)].address.value, f.c);
  EXPECT_EQ(r.path[1].via.from, Reference::From::kChunk);
  EXPECT_EQ(r.path[1].via.where.value, f.c + 16);
  EXPECT_EQ(f.h.blocks[static_cast<size_t>(r.path[1].chunk)].address.value, f.b);
  // A leaked chunk has no path.
  RefsReport rl = find_refs(f.s.target, f.h, f.syms, Address(f.leaked + 16), true, CancelToken());
  EXPECT_TRUE(rl.path.empty());
  EXPECT_TRUE(rl.refs.empty());
  // A global holds a directly.
  RefsReport ra = find_refs(f.s.target, f.h, f.syms, Address(f.a + 16), true, CancelToken());
  ASSERT_EQ(ra.path.size(), 1u);
  EXPECT_EQ(ra.path[0].via.name, "g_table+0x10 in libc.so.6");
}

TEST(Refs, AddressOutsideTheHeapIsAUserError) {
  Fixture f;
  EXPECT_THROW(find_refs(f.s.target, f.h, f.syms, Address(0x1000), false, CancelToken()), UserError);
}


// A second allocator beside glibc, laid out by hand: in-use objects of 0x20
// bytes in one region it got from the system (so no root).
constexpr BlockKind kPoolKinds[] = {{"object", BlockState::kInUse}};
constexpr uint64_t kPool = 0x7d0000000000;

struct UnionFixture {
  SyntheticHeap s;
  uint64_t p, q, lost;                       // glibc chunks
  uint64_t x = kPool, y = kPool + 0x20, z = kPool + 0x40;  // the pool's objects
  FakeSymbols syms;
  glibc::Heap h;
  HeapModel pool;
  std::vector<const HeapModel*> heaps;
  UnionFixture() {
    p = s.chunk(0x30), q = s.chunk(0x30), lost = s.chunk(0x30);
    s.finish();
    s.target.add_region(Address(kPool), std::vector<std::byte>(0x60));
    pool.allocator = "pool";
    pool.kinds = kPoolKinds;
    for (uint64_t o : {x, y, z}) pool.blocks.emplace_back(Address(o), 0x20, 0, 0, 0);
    pool.system = {{Address(kPool), Address(kPool + 0x60)}};
    pool.build_index();
    s.w(kGlobal + 0x10, p + 16);  // g_table+0x10 -> p -> x+8 -> q: reachable across heaps
    s.w(p + 16 + 8, x + 8);
    s.w(x + 0x10, q + 16);
    s.w(y, q + 16);               // leaked y -> q: a holder, and no root
    s.w(lost + 16, z);            // leaked lost -> z
    h = glibc::Heap::build(s.target, *make_no_symbols());
    heaps = {&h, &pool};
  }
  uint64_t at(const RefsReport& r, const Reference& ref) const {
    return r.heaps[ref.heap]->blocks[static_cast<size_t>(ref.chunk)].address.value;
  }
};

TEST(UnionRefs, HoldersInEveryHeapAndNoHeapIsARoot) {
  UnionFixture f;
  RefsReport r = find_union_refs(f.s.target, f.heaps, nullptr, f.syms, Address(f.q + 20), false, CancelToken());
  EXPECT_EQ(r.heap, 0u);
  EXPECT_EQ(f.h.blocks[static_cast<size_t>(r.chunk)].address.value, f.q);
  ASSERT_EQ(r.refs.size(), 2u);
  for (const auto& ref : r.refs) {
    EXPECT_EQ(ref.from, Reference::From::kChunk);
    EXPECT_EQ(ref.heap, 1u);
    EXPECT_TRUE(ref.start);
  }
  EXPECT_EQ(f.at(r, r.refs[0]), f.x);
  EXPECT_EQ(r.refs[0].where.value, f.x + 0x10);
  EXPECT_EQ(f.at(r, r.refs[1]), f.y);
  // glibc's heap alone: the pool's memory is anonymous memory, a root.
  RefsReport alone = find_refs(f.s.target, f.h, f.syms, Address(f.q + 16), false, CancelToken());
  ASSERT_EQ(alone.refs.size(), 2u);
  EXPECT_EQ(alone.refs[0].from, Reference::From::kAnonymous);
  // A block of the other heap, held by a glibc chunk.
  RefsReport rz = find_union_refs(f.s.target, f.heaps, nullptr, f.syms, Address(f.z), false, CancelToken());
  EXPECT_EQ(rz.heap, 1u);
  ASSERT_EQ(rz.refs.size(), 1u);
  EXPECT_EQ(rz.refs[0].heap, 0u);
  EXPECT_EQ(f.at(rz, rz.refs[0]), f.lost);
}

TEST(UnionRefs, PathThroughEveryHeapAsHeapLeaksReaches) {
  UnionFixture f;
  RefsReport r = find_union_refs(f.s.target, f.heaps, nullptr, f.syms, Address(f.q + 16), true, CancelToken());
  ASSERT_EQ(r.path.size(), 3u);  // g_table -> p -> x -> q
  EXPECT_EQ(r.path[0].via.name, "g_table+0x10 in libc.so.6");
  EXPECT_EQ(r.path[1].via.heap, 0u);
  EXPECT_EQ(r.path[1].heap, 1u);
  EXPECT_EQ(r.path[1].via.value, f.x + 8);
  EXPECT_FALSE(r.path[1].via.start);
  EXPECT_EQ(r.path[2].via.heap, 1u);
  EXPECT_EQ(r.path[2].heap, 0u);
  // Every block has a path exactly when heap leaks does not call it leaked.
  UnionLeakAnalysis u = analyze_union_leaks(f.s.target, f.heaps, CancelToken());
  for (size_t m = 0; m < f.heaps.size(); ++m)
    for (size_t i = 0; i < f.heaps[m]->blocks.size(); ++i) {
      const LeakClass c = u.per_model[m].classes[i];
      if (c == LeakClass::kNotNode) continue;
      const Block& b = f.heaps[m]->blocks[i];
      RefsReport ri = find_union_refs(f.s.target, f.heaps, f.heaps[m], f.syms, f.heaps[m]->user_begin(b), true,
                                      CancelToken());
      EXPECT_EQ(ri.path.empty(), c == LeakClass::kDirect || c == LeakClass::kIndirect) << m << " " << i;
    }
  EXPECT_EQ(u.per_model[1].classes[2], LeakClass::kIndirect);  // z, held only by lost
}

TEST(UnionRefs, BlocksAreNamedWithTheirAllocator) {
  UnionFixture f;
  RefsReport r = find_union_refs(f.s.target, f.heaps, nullptr, f.syms, Address(f.z), false, CancelToken());
  StringSink sink;
  OutputWriter out(sink);
  refs_text(out, *r.heaps[r.heap], r);
  out.flush();
  EXPECT_EQ(sink.take(), fmt::format("pool chunk {:#x} (data {:#x}, 32 bytes, object): 1 reference\n"
                                     "  glibc chunk {:#x} (data {:#x}, 48 bytes, in_use) at data -> data\n",
                                     f.z, f.z, f.lost, f.lost + 16));
}

TEST(UnionRefs, AllocatorRestrictsTheLookup) {
  UnionFixture f;
  EXPECT_THROW(find_union_refs(f.s.target, f.heaps, &f.h, f.syms, Address(f.x), false, CancelToken()), UserError);
  RefsReport r = find_union_refs(f.s.target, f.heaps, &f.pool, f.syms, Address(f.x), false, CancelToken());
  EXPECT_EQ(r.heap, 1u);
  ASSERT_EQ(r.refs.size(), 1u);  // p holds x+8
  EXPECT_EQ(f.at(r, r.refs[0]), f.p);
}

}  // namespace
}  // namespace heapscope
