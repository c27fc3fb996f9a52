// Tests for the aarch64 register table and for finding the loaded objects
// from r_debug / link_map (what a core without NT_FILE relies on), on
// synthetic memory.
#include "targets/link_map.h"

#include <gtest/gtest.h>

#include <cstring>

#include "heapscope/buffer_target.h"
#include "targets/arch_regs.h"

namespace heapscope {
namespace {

using targets::AuxvEntry;

TEST(ArchRegs, AArch64Row) {
  const auto* a = targets::arch_for_machine(EM_AARCH64);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->arch, Arch::kAArch64);
  ASSERT_EQ(a->regs.size(), 34u);
  uint64_t v[34];
  for (int i = 0; i < 34; ++i) v[i] = 0x1000 + i;
  Thread t = targets::make_thread(7, *a, v, 34);
  EXPECT_EQ(t.tid, 7);
  EXPECT_EQ(t.reg("x0"), 0x1000u);
  EXPECT_EQ(t.reg("x30"), 0x1000u + 30);
  EXPECT_EQ(t.sp.value, 0x1000u + 31);
  EXPECT_EQ(t.pc.value, 0x1000u + 32);
  EXPECT_EQ(t.reg("pstate"), 0x1000u + 33);
  EXPECT_TRUE(t.thread_pointer.is_null());  // from NT_ARM_TLS, not here
  EXPECT_EQ(&targets::arch_regs(Arch::kAArch64), a);
}

constexpr uint64_t kData = 0x10000;     // a small writable region
constexpr uint64_t kRDebug = kData + 0x100;
constexpr uint64_t kLdBase = 0x7f0000000000;

struct Image {
  BufferTarget t;
  Image() { t.add_region(Address(kData), std::vector<std::byte>(0x2000)); }
  void u64(uint64_t at, uint64_t v) { ASSERT_TRUE(t.write_value(Address(at), v)); }
  void str(uint64_t at, const char* s) { ASSERT_TRUE(t.write(Address(at), s, std::strlen(s) + 1)); }
  // r_debug at kRDebug, then link_map nodes at `nodes` with these names.
  void chain(const std::vector<uint64_t>& nodes, const std::vector<const char*>& names, int version = 1) {
    ASSERT_TRUE(t.write_value(Address(kRDebug), int32_t{version}));
    u64(kRDebug + 8, nodes.empty() ? 0 : nodes[0]);
    u64(kRDebug + 32, kLdBase);
    for (size_t i = 0; i < nodes.size(); ++i) {
      uint64_t name = kData + 0x1000 + i * 0x100;
      if (names[i]) str(name, names[i]);
      u64(nodes[i] + 0, 0x1000 * (i + 1));                   // l_addr
      u64(nodes[i] + 8, names[i] ? name : 0);                  // l_name
      u64(nodes[i] + 16, 0x2000 * (i + 1));                  // l_ld
      u64(nodes[i] + 24, i + 1 < nodes.size() ? nodes[i + 1] : 0);  // l_next
      u64(nodes[i] + 32, i ? nodes[i - 1] : 0);              // l_prev
    }
  }
};

std::vector<AuxvEntry> auxv_with_base(uint64_t base) { return {{AT_PAGESZ, 4096}, {AT_BASE, base}}; }

TEST(LinkMap, WalksTheListInOrder) {
  Image im;
  im.chain({kData + 0x200, kData + 0x300, kData + 0x400}, {"", "/lib/libc.so.6", "/lib/ld-linux-aarch64.so.1"});
  auto objs = targets::walk_link_map(im.t, kRDebug);
  ASSERT_EQ(objs.size(), 3u);
  EXPECT_EQ(objs[0].name, "");
  EXPECT_EQ(objs[1].name, "/lib/libc.so.6");
  EXPECT_EQ(objs[2].name, "/lib/ld-linux-aarch64.so.1");
  EXPECT_EQ(objs[1].l_addr, 0x2000u);
  EXPECT_EQ(objs[2].l_ld, 0x6000u);
}

TEST(LinkMap, CyclesAndBoundsStopTheWalk) {
  Image im;
  im.chain({kData + 0x200, kData + 0x300, kData + 0x400}, {"a", "b", "c"});
  im.u64(kData + 0x400 + 24, kData + 0x200);  // c -> a
  EXPECT_EQ(targets::walk_link_map(im.t, kRDebug).size(), 3u);
  EXPECT_EQ(targets::walk_link_map(im.t, kRDebug, 2).size(), 2u);
  im.u64(kData + 0x300 + 24, 0xdead0000);  // b -> unmapped: the walk ends after b
  EXPECT_EQ(targets::walk_link_map(im.t, kRDebug).size(), 2u);
  EXPECT_TRUE(targets::walk_link_map(im.t, 0x12345678).empty());
}

TEST(LinkMap, UnterminatedOrUnreadableNamesAreEmpty) {
  Image im;
  im.chain({kData + 0x200, kData + 0x300}, {"x", "y"});
  im.u64(kData + 0x200 + 8, kData + 0x2000 - 4);  // name runs off the region
  im.str(kData + 0x2000 - 4, "abc");                // terminated: fine
  EXPECT_EQ(targets::walk_link_map(im.t, kRDebug)[0].name, "abc");
  std::vector<char> full(4, 'z');
  ASSERT_TRUE(im.t.write(Address(kData + 0x2000 - 4), full.data(), 4));  // no NUL before the end
  auto objs = targets::walk_link_map(im.t, kRDebug);
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(objs[0].name, "");
  EXPECT_EQ(objs[1].name, "y");
}

TEST(LinkMap, RDebugFoundByItsLdbase) {
  Image im;
  im.chain({kData + 0x200}, {"/lib/libc.so.6"});
  EXPECT_EQ(targets::find_r_debug(im.t, auxv_with_base(kLdBase)), kRDebug);
  EXPECT_EQ(targets::find_r_debug(im.t, auxv_with_base(kLdBase + 0x1000)), std::nullopt);
  EXPECT_EQ(targets::find_r_debug(im.t, {{AT_PAGESZ, 4096}}), std::nullopt);  // static: no AT_BASE
  ASSERT_TRUE(im.t.write_value(Address(kRDebug), int32_t{7}));              // not a version glibc writes
  EXPECT_EQ(targets::find_r_debug(im.t, auxv_with_base(kLdBase)), std::nullopt);
}

TEST(LinkMap, RDebugFromTheExecutablesDtDebug) {
  // r_debug in a region too big to scan; the executable's dynamic section
  // (PT_DYNAMIC at bias + 0x800, bias from AT_PHDR - PT_PHDR) names it.
  Image im;
  const uint64_t big = 0x40000000;
  im.t.add_region(Address(big), std::vector<std::byte>(2u << 20));
  const uint64_t rd = big + 0x1000, node = big + 0x2000;
  ASSERT_TRUE(im.t.write_value(Address(rd), int32_t{1}));
  im.u64(rd + 8, node);
  im.u64(rd + 32, kLdBase);
  im.u64(node + 24, 0);
  auto auxv = auxv_with_base(kLdBase);
  EXPECT_EQ(targets::find_r_debug(im.t, auxv), std::nullopt);

  const uint64_t bias = kData;
  auxv.push_back({AT_PHDR, bias + 0x40});
  auxv.push_back({AT_PHNUM, 2});
  std::vector<Elf64_Phdr> phdrs(2);
  phdrs[0].p_type = PT_PHDR;
  phdrs[0].p_vaddr = 0x40;
  phdrs[1].p_type = PT_DYNAMIC;
  phdrs[1].p_vaddr = 0x800;
  phdrs[1].p_memsz = 4 * sizeof(Elf64_Dyn);
  Elf64_Dyn dyn[3] = {{DT_NEEDED, {1}}, {DT_DEBUG, {rd}}, {DT_NULL, {0}}};
  ASSERT_TRUE(im.t.write(Address(bias + 0x800), dyn, sizeof dyn));
  // From the program headers as given (read from the executable on disk)...
  EXPECT_EQ(targets::find_r_debug(im.t, auxv, phdrs), rd);
  // ...and from the copy at AT_PHDR in memory.
  ASSERT_TRUE(im.t.write(Address(bias + 0x40), phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr)));
  EXPECT_EQ(targets::find_r_debug(im.t, auxv), rd);
}

}  // namespace
}  // namespace heapscope
