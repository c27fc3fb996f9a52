#include "heapscope/analysis/types.h"

#include <gtest/gtest.h>

#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;

// Two vtables in libc's data mapping (a file-backed mapping, as in a real module).
constexpr uint64_t kWidgetVtable = SyntheticHeap::kLibcData + 0x1900;
constexpr uint64_t kGadgetVtable = SyntheticHeap::kLibcData + 0x1a00;

class VtableSymbols : public SymbolResolver {
 public:
  mutable int lookups = 0;
  std::optional<Address> find(std::string_view, std::string_view) const override { return {}; }
  std::optional<SymbolAt> at(Address a) const override {
    ++lookups;
    if (a.value >= kWidgetVtable && a.value < kWidgetVtable + 0x40)
      return SymbolAt{"vtable for Widget", "app", a.value - kWidgetVtable, "", 0};
    if (a.value >= kGadgetVtable && a.value < kGadgetVtable + 0x40)
      return SymbolAt{"vtable for ns::Gadget<int>", "app", a.value - kGadgetVtable, "", 0};
    return SymbolAt{"some_function", "app", 0, "", 0};
  }
  bool has_full_symbols(std::string_view) const override { return true; }
};

TEST(Types, NamesChunksByTheirVtable) {
  SyntheticHeap s;
  uint64_t w1 = s.chunk(0x30), w2 = s.chunk(0x30), g = s.chunk(0x40), plain = s.chunk(0x30);
  uint64_t vtable_start = s.chunk(0x30), freed = s.chunk(0x30);
  s.chunk(0x20);
  s.finish();
  s.w(w1 + 16, kWidgetVtable + 16);
  s.w(w2 + 16, kWidgetVtable + 16);
  s.w(g + 16, kGadgetVtable + 16);
  s.w(plain + 16, 12345);
  s.w(vtable_start + 16, kWidgetVtable);  // the start of the vtable symbol: not an object's vptr
  s.w(freed + 16 + 8, kWidgetVtable + 16);
  s.tcache_push(1, freed);
  glibc::Heap h = glibc::Heap::build(s.target, *make_no_symbols());
  VtableSymbols syms;
  TypeNamer namer(s.target, syms, h);
  auto type = [&](uint64_t c) { return namer.type_of(*h.chunk_at(Address(c))); };
  EXPECT_EQ(type(w1), "Widget");
  EXPECT_EQ(type(w2), "Widget");
  EXPECT_EQ(type(g), "ns::Gadget<int>");
  EXPECT_EQ(type(plain), std::nullopt);
  EXPECT_EQ(type(vtable_start), std::nullopt);
  EXPECT_EQ(type(freed), std::nullopt);
  EXPECT_EQ(syms.lookups, 3);  // each distinct vptr in module memory once

  auto rows = stats_by_type(s.target, syms, h, CancelToken());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].type, "Widget");
  EXPECT_EQ(rows[0].tally.chunks, 2u);
  EXPECT_EQ(rows[0].tally.bytes, 0x60u);
  EXPECT_EQ(rows[1].type, "ns::Gadget<int>");
  EXPECT_EQ(rows[2].type, "");
  EXPECT_EQ(rows[2].tally.chunks, 3u);  // plain, vtable_start, the last guard
}

}  // namespace
}  // namespace heapscope
