#include "heapscope/analysis/refs.h"

#include <gtest/gtest.h>

#include "heapscope/error.h"
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

}  // namespace
}  // namespace heapscope
