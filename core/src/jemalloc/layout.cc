#include "jemalloc/layout.h"

namespace heapscope::jemalloc {

namespace {

constexpr Layout kLayouts[] = {{
    .name = "5.3.0",
    .version_prefix = "5.3.0-",
    .page = 4096,
    .edata_size = 128, .edata_alignment = 128,
    .edata_bits = 0, .edata_addr = 8, .edata_size_esn = 16, .edata_slab_bitmap = 64,
    .bits_arena_shift = 0, .bits_arena_width = 12, .bits_slab_shift = 12,
    .bits_state_shift = 17, .bits_state_width = 3,
    .bits_szind_shift = 20, .bits_szind_width = 8, .bits_nfree_shift = 28, .bits_nfree_width = 10,
    .bitmap_words = 8,
    .rtree_base = 0, .rtree_root = 120, .rtree_level_bits = 18, .lg_vaddr = 48,
    .leaf_state_shift = 2, .leaf_state_width = 3,
    .base_ind = 0, .base_blocks = 160, .base_allocated = 3880, .base_mapped = 3896,
    .base_block_size = 0, .base_block_next = 8, .base_block_header = 144,
    .arena_tcache_ql = 10392, .arena_ind = 78928, .arena_base = 78936, .arena_limit = 4095,
    .tcache_slow_link = 0, .tcache_slow_arena = 40, .tcache_slow_tcache = 168,
    .tcache_bins = 8, .cache_bin_size = 24, .cache_bin_stack_head = 0, .cache_bin_low_bits_empty = 20,
    .tcache_nbins_max = 73,
    .arena_bins = 78952, .bin_size = 224, .bin_curregs = 136,
    .arena_lstats = 976, .lstats_size = 48, .lstats_nmalloc = 0, .lstats_ndalloc = 8,
    .bits_binshard_shift = 38, .bits_binshard_width = 6,
    .nsizes = 232, .nbins = 36,
}};

}  // namespace

std::span<const Layout> known_layouts() { return kLayouts; }

uint64_t size_class(const Layout& l, unsigned szind) {
  if (szind >= unsigned(l.nsizes)) return 0;
  // Tiny 8, then the quantum's multiples up to 128, then four per doubling.
  if (szind == 0) return 8;
  if (szind <= 8) return 16 * szind;
  unsigned k = szind - 9;  // 160 is k = 0
  unsigned lg_base = 7 + k / 4;
  if (lg_base >= 63) return 0;
  uint64_t base = uint64_t{1} << lg_base;
  return base + (base / 4) * (k % 4 + 1);
}

}  // namespace heapscope::jemalloc
