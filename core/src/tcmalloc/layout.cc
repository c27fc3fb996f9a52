#include "tcmalloc/layout.h"

namespace heapscope::tcmalloc {

namespace {

constexpr Layout kLayouts[] = {{
    .name = "2.10",
    .version = "2.10",
    .page_shift = 13,
    .class_sizes_max = 128,
    .max_size = 256 * 1024,
    // class_array_[2169] bytes first, then the int arrays, then size_t ones.
    .sizemap_num_objects_to_move = 2172, .sizemap_class_to_size = 2684, .sizemap_class_to_pages = 3200,
    .sizemap_num_size_classes = 4224,
    .span_size = 48, .span_start = 0, .span_length = 8, .span_next = 16, .span_prev = 24, .span_objects = 32,
    .span_bits = 40,
    .bits_refcount_width = 16, .bits_sizeclass_shift = 16, .bits_location_shift = 24,
    // lock_, size_class_, empty_, nonempty_, num_spans_, counter_, tc_slots_[64], used_slots_; padded to 64.
    .central_size = 1216, .central_size_class = 8, .central_empty = 16, .central_nonempty = 64,
    .central_num_spans = 112, .central_counter = 120, .central_tc_slots = 128, .central_used_slots = 1152,
    .transfer_slots_max = 64,
    // pagemap_cache_ (PackedCache, 2^16 words), then the page map's root.
    .pageheap_pagemap_root = 524288, .pageheap_stats = 1585256,
    .pagemap_root_bits = 17, .pagemap_leaf_bits = 18,
    .stats_system_bytes = 0, .stats_free_bytes = 8, .stats_unmapped_bytes = 16,
    .freelist_size = 32, .freelist_list = 0, .freelist_length = 8,
    .threadcache_size_bytes = 4096, .threadcache_next = 4144, .threadcache_prev = 4152, .threadcache_tid = 4128,
    .allocator_free_area = 0, .allocator_free_avail = 8,
    .metadata_chunk = 8 << 20,
}};

}  // namespace

std::span<const Layout> known_layouts() { return kLayouts; }

}  // namespace heapscope::tcmalloc
