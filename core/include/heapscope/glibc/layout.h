// Layout: where glibc keeps each malloc field, per glibc version. Adding a
// version is adding a row to the table in layout.cc (checked against the real
// libc's debug info by a test), not changing the walker.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace heapscope::glibc {

struct Layout {
  std::string_view name;  // "2.36"
  int major = 2, minor = 0;

  uint64_t size_sz = 8;          // INTERNAL_SIZE_T
  uint64_t malloc_alignment = 16;
  uint64_t min_chunk = 32;       // MINSIZE
  uint64_t heap_max_size = 64ull << 20;  // HEAP_MAX_SIZE when mp_.hp_pagesize is 0

  // struct malloc_state
  uint64_t ms_size = 0;
  uint64_t ms_flags = 4;
  uint64_t ms_fastbins = 0;
  int nfastbins = 10;            // 0 from 2.43: fastbins were removed
  uint64_t ms_top = 0;
  uint64_t ms_last_remainder = 0;
  uint64_t ms_bins = 0;
  int nbins = 128;               // NBINS; bins[] has 2*NBINS-2 pointers
  uint64_t ms_next = 0;
  uint64_t ms_next_free = 0;
  uint64_t ms_attached_threads = 0;
  uint64_t ms_system_mem = 0;
  uint64_t ms_max_system_mem = 0;

  // struct malloc_par (mp_)
  uint64_t mp_size = 0;
  uint64_t mp_trim_threshold = 0;
  uint64_t mp_top_pad = 8;
  uint64_t mp_mmap_threshold = 16;
  uint64_t mp_arena_test = 24;
  uint64_t mp_arena_max = 32;
  int64_t mp_hp_pagesize = -1;   // -1: no such field in this version
  int64_t mp_thp_mode = -1;      // enum, 2.43+
  uint64_t mp_n_mmaps = 0;       // int
  uint64_t mp_n_mmaps_max = 0;   // int
  uint64_t mp_mmapped_mem = 0;
  uint64_t mp_sbrk_base = 0;
  int64_t mp_tcache_bins = -1;   // tcache_small_bins from 2.42
  int64_t mp_tcache_count = -1;

  // heap_info
  uint64_t hi_size = 0;           // sizeof(heap_info)
  uint64_t hi_ar_ptr = 0;
  uint64_t hi_prev = 8;
  uint64_t hi_heap_size = 16;
  uint64_t hi_mprotect_size = 24;

  // tcache
  bool has_tcache = true;
  int tcache_bins = 64;           // TCACHE_MAX_BINS: 64, 76 from 2.42
  int tcache_small_bins = 64;     // bins 0..63 hold one size each; 2.42+ bins 64.. hold ranges
  uint64_t tcache_counts_width = 2;  // uint16_t since 2.30
  // 2.42+: the per-bin array is num_slots (room left, starting at
  // mp_.tcache_count) instead of counts (chunks held).
  bool tcache_counts_free_slots = false;
  uint64_t tcache_struct_size = 0;   // sizeof(tcache_perthread_struct)
  uint64_t tcache_entry_key = 8;     // offset of tcache_entry.key
  bool safe_linking = true;          // 2.32+ (confirmed from data too)

  // Where the row comes from: true when checked against a real libc's debug
  // info (tests/unit/glibc_versions_test.cc, Debian's libc6-dbg); false when
  // read from the glibc source only.
  bool verified_on_debug_info = false;
};

// The row for a version, or the nearest known row with exact = false.
struct LayoutMatch {
  const Layout* layout;
  bool exact;
};
LayoutMatch layout_for_version(int major, int minor);

// Every row, oldest first (for tests and `heapscope --version`-style listings).
std::span<const Layout> all_layouts();

}  // namespace heapscope::glibc
