// The layout table: one row per glibc release whose malloc structures differ.
// Offsets are LP64, the same on x86-64 and aarch64; rows are checked against
// real libcs' debug info by tests/unit/glibc_layout_test.cc (this machine's
// libc) and tests/unit/glibc_versions_test.cc (amd64 and arm64 libcs fetched
// by scripts/fetch-glibcs.sh).
#include "heapscope/glibc/layout.h"

#include <array>
#include <cstdlib>

namespace heapscope::glibc {
namespace {

// malloc_state from 2.27 (have_fastchunks) to 2.42.
void set_malloc_state_2_27(Layout& l) {
  l.ms_flags = 4;
  l.ms_fastbins = 16;
  l.nfastbins = 10;
  l.ms_top = 96;
  l.ms_last_remainder = 104;
  l.ms_bins = 112;
  l.nbins = 128;
  l.ms_next = 2160;
  l.ms_next_free = 2168;
  l.ms_attached_threads = 2176;
  l.ms_system_mem = 2184;
  l.ms_max_system_mem = 2192;
  l.ms_size = 2200;
}

// 2.43 removed have_fastchunks and fastbinsY: top follows flags.
void set_malloc_state_2_43(Layout& l) {
  l.ms_flags = 4;
  l.ms_fastbins = 0;
  l.nfastbins = 0;
  l.ms_top = 8;
  l.ms_last_remainder = 16;
  l.ms_bins = 24;
  l.nbins = 128;
  l.ms_next = 2072;
  l.ms_next_free = 2080;
  l.ms_attached_threads = 2088;
  l.ms_system_mem = 2096;
  l.ms_max_system_mem = 2104;
  l.ms_size = 2112;
}

// mp_ up to 2.34: no hugepage fields.
void set_malloc_par_2_26(Layout& l) {
  l.mp_trim_threshold = 0;
  l.mp_top_pad = 8;
  l.mp_mmap_threshold = 16;
  l.mp_arena_test = 24;
  l.mp_arena_max = 32;
  l.mp_hp_pagesize = -1;
  l.mp_n_mmaps = 40;
  l.mp_n_mmaps_max = 44;
  l.mp_mmapped_mem = 56;
  l.mp_sbrk_base = 72;
  l.mp_tcache_bins = 80;
  l.mp_tcache_count = 96;
  l.mp_size = 112;
}

// 2.35 added thp_pagesize, hp_pagesize, hp_flags after arena_max. 2.42
// renamed tcache_bins to tcache_small_bins (same place).
void set_malloc_par_2_35(Layout& l) {
  l.mp_trim_threshold = 0;
  l.mp_top_pad = 8;
  l.mp_mmap_threshold = 16;
  l.mp_arena_test = 24;
  l.mp_arena_max = 32;
  l.mp_hp_pagesize = 48;
  l.mp_n_mmaps = 60;
  l.mp_n_mmaps_max = 64;
  l.mp_mmapped_mem = 80;
  l.mp_sbrk_base = 96;
  l.mp_tcache_bins = 104;
  l.mp_tcache_count = 120;
  l.mp_size = 136;
}

// 2.43 put thp_mode (an enum, then a hole) before thp_pagesize; 2.44 dropped
// tcache_unsorted_limit from the end.
void set_malloc_par_2_43(Layout& l, bool has_unsorted_limit) {
  l.mp_trim_threshold = 0;
  l.mp_top_pad = 8;
  l.mp_mmap_threshold = 16;
  l.mp_arena_test = 24;
  l.mp_arena_max = 32;
  l.mp_thp_mode = 40;
  l.mp_hp_pagesize = 56;
  l.mp_n_mmaps = 68;
  l.mp_n_mmaps_max = 72;
  l.mp_mmapped_mem = 88;
  l.mp_sbrk_base = 104;
  l.mp_tcache_bins = 112;
  l.mp_tcache_count = 128;
  l.mp_size = has_unsorted_limit ? 144 : 136;
}

// One row. `verified`: the row was compared with that release's real debug
// info (Debian's libc6-dbg, amd64 and arm64: 2.31, 2.36, 2.41, 2.43, 2.44);
// the others are read from glibc's malloc/malloc.c and arena.c at the
// release tag.
Layout make(std::string_view name, int minor, bool verified) {
  Layout l;
  l.name = name;
  l.major = 2;
  l.minor = minor;
  l.verified_on_debug_info = verified;
  if (minor >= 43) set_malloc_state_2_43(l);
  else set_malloc_state_2_27(l);
  if (minor >= 43) set_malloc_par_2_43(l, minor == 43);
  else if (minor >= 35) set_malloc_par_2_35(l);
  else set_malloc_par_2_26(l);
  // heap_info gained `pagesize` in 2.35 (padded to MALLOC_ALIGNMENT).
  l.hi_size = minor >= 35 ? 48 : 32;
  // 2.42: 12 more tcache bins for large chunks, and counts[] became num_slots[].
  l.tcache_bins = minor >= 42 ? 76 : 64;
  l.tcache_small_bins = 64;
  l.tcache_counts_free_slots = minor >= 42;
  l.tcache_struct_size = static_cast<uint64_t>(l.tcache_bins) * (2 + 8);
  // tcache_entry.key: a pointer to the tcache (<= 2.33), a random value
  // (2.34+); at offset 8 either way.
  l.tcache_entry_key = 8;
  l.safe_linking = minor >= 32;
  return l;
}

const std::array<Layout, 14> kLayouts = {
    make("2.31", 31, true),  make("2.32", 32, false), make("2.33", 33, false),
    make("2.34", 34, false), make("2.35", 35, false), make("2.36", 36, true),
    make("2.37", 37, false), make("2.38", 38, false), make("2.39", 39, false),
    make("2.40", 40, false), make("2.41", 41, true),  make("2.42", 42, false),
    make("2.43", 43, true),  make("2.44", 44, true),
};

}  // namespace

LayoutMatch layout_for_version(int major, int minor) {
  const Layout* best = &kLayouts.back();
  int best_distance = 1 << 30;
  for (const auto& l : kLayouts) {
    if (l.major == major && l.minor == minor) return {&l, true};
    int d = std::abs((major * 100 + minor) - (l.major * 100 + l.minor));
    if (d < best_distance) {
      best_distance = d;
      best = &l;
    }
  }
  return {best, false};
}

std::span<const Layout> all_layouts() { return kLayouts; }

}  // namespace heapscope::glibc
