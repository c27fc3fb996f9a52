// Layout: where jemalloc 5.3's structures keep what the model reads, for the
// x86-64 build Debian ships (libjemalloc2 5.3.0: 48-bit addresses, 4 KiB
// pages, 16-byte quantum, config stats, prof and cache-oblivious on). The
// offsets were taken with offsetof() from 5.3.0's own headers configured as
// Debian configures them; a layout is a value so that another version or
// build is another row, not another walk.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace heapscope::jemalloc {

struct Layout {
  std::string_view name;            // "5.3.0"
  std::string_view version_prefix;  // the JEMALLOC_VERSION strings this row reads ("5.3.0-"; 5.3.1 moved fields)
  uint64_t page;                    // LG_PAGE 12

  // edata_t: one extent's descriptor (edata.h).
  uint64_t edata_size, edata_alignment;
  uint64_t edata_bits, edata_addr, edata_size_esn, edata_slab_bitmap;
  int bits_arena_shift, bits_arena_width, bits_slab_shift, bits_state_shift, bits_state_width,
      bits_szind_shift, bits_szind_width, bits_nfree_shift, bits_nfree_width;
  int bitmap_words;  // BITMAP_GROUPS_MAX: the slab bitmap's 64-bit words

  // emap_t = rtree_t (rtree.h): two levels of 18 bits over a 48-bit space.
  uint64_t rtree_base, rtree_root;
  int rtree_level_bits;  // per level; RTREE_NSB 36 over RTREE_HEIGHT 2
  int lg_vaddr;          // leaf word: edata pointer below, szind above
  int leaf_state_shift, leaf_state_width;

  // base_t, base_block_t (base.h): metadata memory, one base per arena.
  uint64_t base_ind, base_blocks, base_allocated, base_mapped;
  uint64_t base_block_size, base_block_next, base_block_header;

  // arena_t (arena_structs.h), tcache_slow_t / tcache_t / cache_bin_t.
  uint64_t arena_tcache_ql, arena_ind, arena_base;
  int arena_limit;  // MALLOCX_ARENA_LIMIT: the je_arenas array's length
  uint64_t tcache_slow_link, tcache_slow_arena, tcache_slow_tcache;
  uint64_t tcache_bins, cache_bin_size, cache_bin_stack_head, cache_bin_low_bits_empty;
  int tcache_nbins_max;  // TCACHE_NBINS_MAX

  // jemalloc's own counters (config stats): a bin's current regions, and
  // per large class the extents allocated and freed by the arena.
  uint64_t arena_bins, bin_size, bin_curregs;
  uint64_t arena_lstats, lstats_size, lstats_nmalloc, lstats_ndalloc;
  int bits_binshard_shift, bits_binshard_width;

  int nsizes, nbins;  // SC_NSIZES, SC_NBINS
};

// The layouts heapscope knows, newest first.
std::span<const Layout> known_layouts();

// Size of size class `szind` (sz_index2size): 8, 16, 32, 48, 64, 80, ...,
// then four classes per doubling. 0 past the table.
uint64_t size_class(const Layout& l, unsigned szind);

}  // namespace heapscope::jemalloc
