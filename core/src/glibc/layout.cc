// The layout table: one row per glibc release whose malloc structures differ.
// Offsets are for x86-64 (LP64); each row is checked against the real libc's
// debug info by tests/unit/glibc_layout_test.cc where that libc is at hand.
#include "heapscope/glibc/layout.h"

#include <array>
#include <cstdlib>

namespace heapscope::glibc {
namespace {

// malloc_state is the same from 2.27 (have_fastchunks) to 2.42.
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

// 2.35 added thp_pagesize, hp_pagesize, hp_flags (Debian 2.36 has them too).
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

Layout make(std::string_view name, int minor) {
  Layout l;
  l.name = name;
  l.major = 2;
  l.minor = minor;
  set_malloc_state_2_27(l);
  if (minor >= 35) {
    set_malloc_par_2_35(l);
    l.hi_size = 48;  // heap_info gained pagesize (2.35), padded to MALLOC_ALIGNMENT
  } else {
    set_malloc_par_2_26(l);
    l.hi_size = 32;
  }
  l.tcache_struct_size = 64 * 2 + 64 * 8;
  l.safe_linking = minor >= 32;
  return l;
}

const std::array<Layout, 11> kLayouts = {
    make("2.31", 31), make("2.32", 32), make("2.33", 33), make("2.34", 34),
    make("2.35", 35), make("2.36", 36), make("2.37", 37), make("2.38", 38),
    make("2.39", 39), make("2.40", 40), make("2.41", 41),
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

}  // namespace heapscope::glibc
