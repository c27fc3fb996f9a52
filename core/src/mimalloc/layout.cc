#include "mimalloc/layout.h"

namespace heapscope::mimalloc {

namespace {

constexpr Layout kLayouts[] = {{
    .name = "2.0.9",
    .version_code = 209,
    .segment_size = uint64_t{32} << 20, .slice_size = uint64_t{64} << 10, .slices_per_segment = 512,
    .seg_used = 208, .seg_cookie = 216, .seg_segment_slices = 224, .seg_info_slices = 232, .seg_kind = 240,
    .seg_slice_entries = 248, .seg_thread_id = 256, .seg_slices = 264,
    .page_size = 80,
    .page_slice_count = 0, .page_slice_offset = 4, .page_capacity = 10, .page_reserved = 12, .page_free = 16,
    .page_used = 24, .page_xblock_size = 28, .page_local_free = 32, .page_xthread_free = 40, .page_xheap = 48,
    .huge_block_size = uint64_t{2} << 30, .small_start_offset = 384, .small_start_max_block = 1024,
    .medium_obj_size_max = uint64_t{128} << 10,
    .heap_tld = 0, .heap_thread_delayed_free = 2840, .heap_thread_id = 2848, .heap_cookie = 2864,
    .heap_next = 3048, .heap_size = 3064,
    .tld_heap_backing = 16, .tld_heaps = 24,
}};

}  // namespace

std::span<const Layout> known_layouts() { return kLayouts; }

}  // namespace heapscope::mimalloc
