// Layout: where gperftools tcmalloc 2.10 keeps what the model reads, for the
// x86-64 build Debian ships (libtcmalloc_minimal.so.4 and libtcmalloc.so.4
// 2.10-1: 8 KiB pages (kPageShift 13), 128 size classes at most, 48-bit
// addresses, so a two-level page map of 17 + 18 bits). The offsets follow
// the declarations of 2.10's headers (span.h, central_freelist.h,
// page_heap.h, thread_cache.h, common.h) under the x86-64 ABI; a layout is a
// value so that another version or build is another row, not another walk.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace heapscope::tcmalloc {

struct Layout {
  std::string_view name;     // "2.10"
  std::string_view version;  // what TC_VERSION_STRING says after "gperftools "
  int page_shift;            // kPageShift
  int class_sizes_max;       // kClassSizesMax
  uint64_t max_size;         // kMaxSize: the largest size class

  // SizeMap (common.h).
  uint64_t sizemap_num_objects_to_move, sizemap_class_to_size, sizemap_class_to_pages,
      sizemap_num_size_classes;

  // Span (span.h): the bit-fields share one 32-bit word.
  uint64_t span_size, span_start, span_length, span_next, span_prev, span_objects, span_bits;
  int bits_refcount_width, bits_sizeclass_shift, bits_location_shift;

  // CentralFreeListPadded (central_freelist.h), transfer cache slots inside.
  uint64_t central_size, central_size_class, central_empty, central_nonempty, central_num_spans,
      central_counter, central_tc_slots, central_used_slots;
  int transfer_slots_max;  // kMaxNumTransferEntries

  // PageHeap (page_heap.h): the page map's root, the stats.
  uint64_t pageheap_pagemap_root, pageheap_stats;
  int pagemap_root_bits, pagemap_leaf_bits;
  uint64_t stats_system_bytes, stats_free_bytes, stats_unmapped_bytes;

  // ThreadCache (thread_cache.h): 128 FreeLists, then the links.
  uint64_t freelist_size, freelist_list, freelist_length;
  uint64_t threadcache_size_bytes, threadcache_next, threadcache_prev, threadcache_tid;

  // PageHeapAllocator<T> (page_heap_allocator.h) and MetaDataAlloc (common.cc).
  uint64_t allocator_free_area, allocator_free_avail;
  uint64_t metadata_chunk;  // kMetadataAllocChunkSize

  uint64_t page_size() const { return uint64_t{1} << page_shift; }
};

// The layouts heapscope knows, newest first.
std::span<const Layout> known_layouts();

// Span::location: where a span is.
enum SpanLocation : unsigned { kInUse = 0, kOnNormalFreelist = 1, kOnReturnedFreelist = 2 };

}  // namespace heapscope::tcmalloc
