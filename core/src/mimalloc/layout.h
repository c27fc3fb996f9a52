// Layout: where mimalloc 2.0's structures keep what the model reads, for the
// x86-64 build Debian ships (libmimalloc2.0 2.0.9: release, MI_SECURE 0, so
// no guard pages, no padding and plain, unencoded free lists). The offsets
// were taken with offsetof() from 2.0.9's own mimalloc-types.h configured
// that way; a layout is a value, so that another version or build is another
// row, not another walk.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace heapscope::mimalloc {

struct Layout {
  std::string_view name;  // "2.0.9"
  int version_code;       // MI_MALLOC_VERSION as mi_version() returns it (209)

  // Segments: MI_SEGMENT_SIZE-aligned, cut in 64 KiB slices; the header's
  // slices[] array holds one page descriptor (mi_page_t) per slice.
  uint64_t segment_size, slice_size;
  uint64_t slices_per_segment;  // MI_SLICES_PER_SEGMENT: slice_entries' bound
  uint64_t seg_used, seg_cookie, seg_segment_slices, seg_info_slices, seg_kind, seg_slice_entries,
      seg_thread_id, seg_slices;

  // mi_page_t (one per slice; the first slice of a span describes it).
  uint64_t page_size;  // sizeof(mi_page_t): the stride of slices[]
  uint64_t page_slice_count, page_slice_offset, page_capacity, page_reserved, page_free, page_used,
      page_xblock_size, page_local_free, page_xthread_free, page_xheap;
  uint64_t huge_block_size;       // MI_HUGE_BLOCK_SIZE: xblock_size says "ask the page's size"
  uint64_t small_start_offset;    // 3 * MI_MAX_ALIGN_GUARANTEE: where blocks of 8..1024 bytes start
  uint64_t small_start_max_block; // ... for blocks up to this size
  uint64_t medium_obj_size_max;   // MI_MEDIUM_OBJ_SIZE_MAX: larger blocks have a page each

  // mi_heap_t and mi_tld_t.
  uint64_t heap_tld, heap_thread_delayed_free, heap_thread_id, heap_cookie, heap_next, heap_size;
  uint64_t tld_heap_backing, tld_heaps;
};

// The layouts heapscope knows, newest first.
std::span<const Layout> known_layouts();

}  // namespace heapscope::mimalloc
