// Checks the layout row of this machine's glibc against the real libc's debug
// info, as gdb reads it (`ptype /o`). Skipped where gdb or libc6-dbg is absent.
#include "heapscope/glibc/layout.h"

#include <gnu/libc-version.h>
#include <gtest/gtest.h>

#include "malloc_ptype.h"

#include <cstdio>
#include <map>
#include <regex>
#include <string>

namespace heapscope::glibc {
namespace {

using testing::TypeLayout;

// Every struct we need, from one gdb run on this machine's libc.so.6.
const std::map<std::string, TypeLayout>& debug_layouts() {
  static const auto layouts = testing::read_malloc_layouts("/lib/x86_64-linux-gnu/libc.so.6");
  return layouts;
}

std::map<std::string, uint64_t> ptype_offsets(const std::string& type, uint64_t* total) {
  auto it = debug_layouts().find(type);
  if (it == debug_layouts().end()) return {};
  if (total) *total = it->second.size;
  return it->second.fields;
}

class LayoutAgainstDebugInfo : public ::testing::Test {
 protected:
  void SetUp() override {
    int major = 0, minor = 0;
    std::sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
    auto m = layout_for_version(major, minor);
    ASSERT_TRUE(m.exact) << "no layout row for this machine's glibc " << gnu_get_libc_version();
    l = m.layout;
    uint64_t total = 0;
    if (ptype_offsets("struct malloc_state", &total).empty())
      GTEST_SKIP() << "gdb or libc6-dbg not available: cannot read libc's debug info";
  }
  const Layout* l = nullptr;
};

TEST_F(LayoutAgainstDebugInfo, MallocState) {
  uint64_t total = 0;
  auto f = ptype_offsets("struct malloc_state", &total);
  EXPECT_EQ(f.at("flags"), l->ms_flags);
  EXPECT_EQ(f.at("fastbinsY"), l->ms_fastbins);
  EXPECT_EQ(f.at("top"), l->ms_top);
  EXPECT_EQ(f.at("last_remainder"), l->ms_last_remainder);
  EXPECT_EQ(f.at("bins"), l->ms_bins);
  EXPECT_EQ(f.at("next"), l->ms_next);
  EXPECT_EQ(f.at("next_free"), l->ms_next_free);
  EXPECT_EQ(f.at("attached_threads"), l->ms_attached_threads);
  EXPECT_EQ(f.at("system_mem"), l->ms_system_mem);
  EXPECT_EQ(f.at("max_system_mem"), l->ms_max_system_mem);
  EXPECT_EQ(total, l->ms_size);
}

TEST_F(LayoutAgainstDebugInfo, MallocPar) {
  uint64_t total = 0;
  auto f = ptype_offsets("struct malloc_par", &total);
  EXPECT_EQ(f.at("trim_threshold"), l->mp_trim_threshold);
  EXPECT_EQ(f.at("top_pad"), l->mp_top_pad);
  EXPECT_EQ(f.at("mmap_threshold"), l->mp_mmap_threshold);
  EXPECT_EQ(f.at("arena_test"), l->mp_arena_test);
  EXPECT_EQ(f.at("arena_max"), l->mp_arena_max);
  if (l->mp_hp_pagesize >= 0) EXPECT_EQ(f.at("hp_pagesize"), uint64_t(l->mp_hp_pagesize));
  else EXPECT_EQ(f.count("hp_pagesize"), 0u);
  EXPECT_EQ(f.at("n_mmaps"), l->mp_n_mmaps);
  EXPECT_EQ(f.at("n_mmaps_max"), l->mp_n_mmaps_max);
  EXPECT_EQ(f.at("mmapped_mem"), l->mp_mmapped_mem);
  EXPECT_EQ(f.at("sbrk_base"), l->mp_sbrk_base);
  EXPECT_EQ(f.at("tcache_bins"), uint64_t(l->mp_tcache_bins));
  EXPECT_EQ(f.at("tcache_count"), uint64_t(l->mp_tcache_count));
  EXPECT_EQ(total, l->mp_size);
}

TEST_F(LayoutAgainstDebugInfo, HeapInfoAndTcache) {
  uint64_t total = 0;
  auto f = ptype_offsets("struct _heap_info", &total);
  EXPECT_EQ(f.at("ar_ptr"), l->hi_ar_ptr);
  EXPECT_EQ(f.at("prev"), l->hi_prev);
  EXPECT_EQ(f.at("size"), l->hi_heap_size);
  EXPECT_EQ(f.at("mprotect_size"), l->hi_mprotect_size);
  EXPECT_EQ(total, l->hi_size);
  auto t = ptype_offsets("struct tcache_perthread_struct", &total);
  EXPECT_EQ(t.at("entries"), uint64_t(l->tcache_bins) * l->tcache_counts_width);
  EXPECT_EQ(total, l->tcache_struct_size);
  auto e = ptype_offsets("struct tcache_entry", &total);
  EXPECT_EQ(e.at("key"), l->tcache_entry_key);
}

}  // namespace
}  // namespace heapscope::glibc
