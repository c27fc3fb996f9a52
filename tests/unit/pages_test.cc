#include "heapscope/analysis/pages.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "heapscope/analysis/frag.h"
#include "heapscope/core_file.h"

namespace heapscope {
namespace {

using glibc::ChunkState;

TEST(Pagemap, DecodesTheKernelBits) {
  PagemapEntry e = decode_pagemap_entry((1ull << 63) | (1ull << 56) | (1ull << 55) | 0x1234);
  EXPECT_TRUE(e.present);
  EXPECT_FALSE(e.swapped);
  EXPECT_TRUE(e.exclusive);
  EXPECT_TRUE(e.soft_dirty);
  EXPECT_FALSE(e.file_or_shared);
  EXPECT_EQ(e.pfn, 0x1234u);
  PagemapEntry s = decode_pagemap_entry((1ull << 62) | (0x77ull << 5) | 3);
  EXPECT_FALSE(s.present);
  EXPECT_TRUE(s.swapped);
  EXPECT_EQ(s.pfn, 0u);
  EXPECT_EQ(s.swap_type, 3u);
  EXPECT_EQ(s.swap_offset, 0x77u);
  EXPECT_FALSE(decode_pagemap_entry(0).present);
}

TEST(Pagemap, ReadsOurOwnPages) {
  const long ps = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* p = static_cast<volatile char*>(m);
  p[0] = 1;       // page 0 touched
  p[2 * ps] = 1;  // page 2 touched; 1 and 3 never
  auto res = open_pagemap(getpid(), static_cast<uint64_t>(ps));
  ASSERT_TRUE(res.ok()) << res.error().message;
  auto st = (*res)->states(Address(reinterpret_cast<uint64_t>(m)), 4);
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[0], PageState::kPresent);
  EXPECT_EQ(st[1], PageState::kAbsent);
  EXPECT_EQ(st[2], PageState::kPresent);
  EXPECT_EQ(st[3], PageState::kAbsent);
  madvise(m, 4 * ps, MADV_DONTNEED);
  st = (*res)->states(Address(reinterpret_cast<uint64_t>(m)), 4);
  EXPECT_EQ(st[0], PageState::kAbsent);  // released: absent again
  EXPECT_TRUE((*res)->live());
  munmap(m, 4 * ps);
}

TEST(Pagemap, MissingProcessIsAnError) {
  auto res = open_pagemap(999999999, 4096);
  EXPECT_FALSE(res.ok());
}

// A tiny ELF core: one PT_LOAD of 4 pages at 0x10000, written with page 1
// and 3 left as holes.
std::string write_sparse_core(bool sparse) {
  char path[] = "/tmp/heapscope-pages-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_offset = 0x1000;
  ph.p_vaddr = 0x10000;
  ph.p_filesz = ph.p_memsz = 0x4000;
  ph.p_flags = PF_R | PF_W;
  EXPECT_EQ(pwrite(fd, &eh, sizeof eh, 0), (ssize_t)sizeof eh);
  EXPECT_EQ(pwrite(fd, &ph, sizeof ph, sizeof eh), (ssize_t)sizeof ph);
  std::string page(0x1000, 'x');
  EXPECT_EQ(pwrite(fd, page.data(), page.size(), 0x1000), 0x1000);  // vaddr 0x10000
  EXPECT_EQ(pwrite(fd, page.data(), page.size(), 0x3000), 0x1000);  // vaddr 0x12000
  if (!sparse) {
    std::string zero(0x1000, '\0');
    EXPECT_EQ(pwrite(fd, zero.data(), zero.size(), 0x2000), 0x1000);
    EXPECT_EQ(pwrite(fd, zero.data(), zero.size(), 0x4000), 0x1000);
  }
  EXPECT_EQ(ftruncate(fd, 0x5000), 0);
  close(fd);
  return path;
}

// Residency of the core at `path`, asked of its Target as the commands do.
Result<std::unique_ptr<Residency>> core_residency(const std::string& path) {
  auto core = open_core_file(path);
  if (!core) return core.error();
  return open_residency(**core);
}

TEST(CoreResidency, HolesAreNotInTheDump) {
  std::string path = write_sparse_core(true);
  auto res = core_residency(path);
  ASSERT_TRUE(res.ok()) << res.error().message;
  auto st = (*res)->states(Address(0x10000), 4);
  unlink(path.c_str());
  EXPECT_FALSE((*res)->live());
  EXPECT_EQ(st[0], PageState::kPresent);
  EXPECT_EQ(st[1], PageState::kAbsent);
  EXPECT_EQ(st[2], PageState::kPresent);
  EXPECT_EQ(st[3], PageState::kAbsent);
  EXPECT_EQ((*res)->states(Address(0x20000), 1)[0], PageState::kUnknown);  // outside the dump
}

TEST(CoreResidency, NoHolesMeansCannotTell) {
  std::string path = write_sparse_core(false);
  auto res = core_residency(path);
  ASSERT_TRUE(res.ok());
  auto st = (*res)->states(Address(0x10000), 4);
  unlink(path.c_str());
  for (auto s : st) EXPECT_EQ(s, PageState::kUnknown);
  bool said = false;
  for (const auto& n : (*res)->notes()) said = said || n.find("cannot tell") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(CoreResidency, NotACoreIsRefusedByTheTarget) {
  auto core = open_core_file("/proc/self/exe");
  ASSERT_FALSE(core.ok());
  EXPECT_NE(core.error().message.find("not a core file"), std::string::npos);
}

// A residency where the caller decides each page's state.
class FakeResidency : public Residency {
 public:
  std::map<uint64_t, PageState> pages;  // page address -> state; others absent
  std::vector<PageState> states(Address first, uint64_t n) const override {
    std::vector<PageState> v;
    for (uint64_t i = 0; i < n; ++i) {
      auto it = pages.find(first.value + i * 0x1000);
      v.push_back(it == pages.end() ? PageState::kAbsent : it->second);
    }
    return v;
  }
  bool live() const override { return true; }
  uint64_t page_size() const override { return 0x1000; }
};

// A corrupt arena whose heap spans petabytes (a mutated core gave one):
// the pages outside the target's mapped ranges are unknown at once, the
// mapped ones asked as before; nothing allocates a state per page.
TEST(Pages, AHeapRangeOfPetabytesCountsItsUnmappedPagesAtOnce) {
  glibc::Heap h;
  h.layout = glibc::layout_for_version(2, 36).layout;
  glibc::Arena a;
  a.main = true;
  const uint64_t end = uint64_t{1} << 60;
  a.heaps.push_back({{Address(0x10000), Address(end)}, Address()});
  h.arenas.push_back(a);
  FragReport f = compute_frag(h, 0x1000);
  FakeResidency res;
  res.pages[0x10000] = PageState::kPresent;
  res.set_mapped({{Address(0x10000), Address(0x12000)}});
  PagesReport r = compute_pages(res, h, f, std::nullopt);
  ASSERT_EQ(r.regions.size(), 1u);
  EXPECT_EQ(r.regions[0].pages.present, 1u);
  EXPECT_EQ(r.regions[0].pages.absent, 1u);
  EXPECT_EQ(r.regions[0].pages.unknown, (end - 0x12000) / 0x1000);
}

TEST(Pages, CountsRegionsAndTrimRanges) {
  // One main-arena heap [0x10000, 0x18000): in use, a large free chunk whose
  // interior [0x12000, 0x14000) malloc_trim would release, in use, top.
  glibc::Heap h;
  h.layout = glibc::layout_for_version(2, 36).layout;
  glibc::Arena a;
  a.main = true;
  a.heaps.push_back({{Address(0x10000), Address(0x18000)}, Address()});
  h.blocks.push_back({Address(0x10000), 0x1000, 0, ChunkState::kInUse, 1});
  h.blocks.push_back({Address(0x11000), 0x3800, 0, ChunkState::kLarge, 1});
  h.blocks.push_back({Address(0x14800), 0x800, 0, ChunkState::kInUse, 1});
  a.top = Address(0x15000);
  a.top_size = 0x3000;
  h.blocks.push_back({a.top, a.top_size, 0, ChunkState::kTop, 1});
  h.arenas.push_back(a);
  FragReport f = compute_frag(h, 0x1000);
  // Interior: ALIGN_UP(0x11030) = 0x12000, 0x2800 left: 0x2000. Top: ALIGN_DOWN(0x3000 - 33) = 0x2000.
  ASSERT_EQ(f.arenas[0].trim_bins, 0x2000u);
  ASSERT_EQ(f.arenas[0].trim_top, 0x2000u);
  FakeResidency res;
  for (uint64_t p : {0x10000, 0x11000, 0x12000, 0x14000, 0x16000})
    res.pages[p] = PageState::kPresent;
  res.pages[0x13000] = PageState::kSwapped;
  PagesReport r = compute_pages(res, h, f, std::nullopt);
  ASSERT_EQ(r.regions.size(), 1u);
  EXPECT_EQ(r.regions[0].pages.present, 5u);
  EXPECT_EQ(r.regions[0].pages.swapped, 1u);
  EXPECT_EQ(r.regions[0].pages.absent, 2u);
  // Trim ranges: [0x12000, 0x14000) present + swapped; [0x16000, 0x18000) present + absent.
  EXPECT_EQ(r.trim_total.present, 2u);
  EXPECT_EQ(r.trim_total.swapped, 1u);
  EXPECT_EQ(r.trim_total.absent, 1u);
  EXPECT_EQ(r.trim_resident_bytes(), 0x3000u);
  EXPECT_EQ(r.trim_released_bytes(), 0x1000u);

  PagesReport one = page_of_address(res, h, f, Address(0x12345));
  ASSERT_TRUE(one.address);
  EXPECT_EQ(one.address->page.value, 0x12000u);
  EXPECT_EQ(one.address->state, PageState::kPresent);
  EXPECT_TRUE(one.address->in_trim_range);
  ASSERT_NE(one.address->chunk, nullptr);
  EXPECT_EQ(one.address->chunk->address.value, 0x11000u);
  EXPECT_FALSE(page_of_address(res, h, f, Address(0x10010)).address->in_trim_range);
}

}  // namespace
}  // namespace heapscope
