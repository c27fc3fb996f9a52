// Page residency of the heap: for each heap region, how many of its pages
// are in memory, swapped out, or absent, and how much of what malloc_trim(0)
// would release (FragReport::trim_ranges) still occupies memory.
//
// Sources: a live local process's /proc/PID/pagemap (Linux
// Documentation/admin-guide/mm/pagemap.rst: bit 63 present, 62 swapped,
// 61 file-page or shared-anon, 56 exclusively mapped, 55 soft-dirty, bits
// 0-54 the frame number, which reads as zero without CAP_SYS_ADMIN), or an
// ELF core file, where the kernel skips pages that were never faulted in
// (or were released) and leaves sparse holes (found with SEEK_DATA/SEEK_HOLE).
// A core cannot tell swapped from resident, nor give frame numbers.
//
// Reading a never-touched page through /proc/PID/mem or process_vm_readv
// (as every heap walk does) maps the kernel's shared zero page there, which
// pagemap shows as present. Such pages hold no memory of the process; they
// are told apart by their frame number (the zero page's, found by reading a
// fresh page of our own) or, when frame numbers are hidden, by being neither
// exclusively mapped nor file-backed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/analysis/frag.h"
#include "heapscope/error.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/target.h"

namespace heapscope {

enum class PageState : uint8_t {
  kPresent,  // in memory (core: in the dump)
  kSwapped,  // in swap (live only)
  kAbsent,   // not in memory: never touched, or released (core: a hole in the dump)
  kZero,     // live: mapped to the kernel's shared zero page (read, never written): no memory
  kUnknown,  // the source cannot tell (outside the dump's segments, read error)
};

struct PagemapEntry {
  uint64_t raw = 0;
  bool present = false, swapped = false, file_or_shared = false, exclusive = false, soft_dirty = false;
  uint64_t pfn = 0;  // present pages only; 0 without CAP_SYS_ADMIN
  uint64_t swap_type = 0, swap_offset = 0;  // swapped pages only
};
PagemapEntry decode_pagemap_entry(uint64_t raw);

// Where page states come from.
class Residency {
 public:
  virtual ~Residency() = default;
  // States of the pages of [first_page, first_page + n * page_size).
  virtual std::vector<PageState> states(Address first_page, uint64_t n) const = 0;
  virtual bool live() const = 0;
  virtual uint64_t page_size() const = 0;
  // What this source can and cannot tell, for the report.
  virtual std::vector<std::string> notes() const { return {}; }
  // Live only: the raw pagemap entry of one page.
  virtual std::optional<PagemapEntry> entry(Address) const { return std::nullopt; }

  // The target's mapped ranges, when known (open_residency sets them): the
  // pages of a heap range outside them are unknown without asking the source,
  // so a corrupt heap's range (petabytes) costs nothing.
  void set_mapped(std::vector<AddressRange> ranges);
  const std::optional<std::vector<AddressRange>>& mapped() const { return mapped_; }

 private:
  std::optional<std::vector<AddressRange>> mapped_;  // address order
};

// /proc/PID/pagemap of a live process, or the core's sparse holes; an error
// line when the target has neither (a remote target, a core whose file is gone).
Result<std::unique_ptr<Residency>> open_residency(const Target& target);
// The pagemap of `pid` (exposed for tests).
Result<std::unique_ptr<Residency>> open_pagemap(int pid, uint64_t page_size);

// The OS page behind one address of a live local process (`mems get`):
// nothing for other targets, or when the pagemap cannot be read.
struct OsPage {
  PagemapEntry entry;
  uint64_t page_size = 0;
};
std::optional<OsPage> os_page(const Target& target, Address a);

struct PageCounts {
  uint64_t present = 0, swapped = 0, absent = 0, zero = 0, unknown = 0;  // pages
  void add(PageState s, uint64_t pages = 1);
  void add(const PageCounts& o);
  uint64_t total() const { return present + swapped + absent + zero + unknown; }
};

struct RegionPages {
  int arena = -1;        // glibc::kMmappedArena for an mmapped chunk
  AddressRange range;
  bool sbrk = false;     // the main arena's heap
  PageCounts pages;
  // Bytes of the ranges malloc_trim(0) would release, by page state.
  PageCounts trim_pages;
};

struct AddressPage {
  Address address;
  Address page;
  PageState state = PageState::kUnknown;
  std::optional<PagemapEntry> entry;  // live only
  bool pfn_hidden = false;            // present, but the frame number reads as zero
  std::optional<uint64_t> kpageflags; // /proc/kpageflags of the frame, when readable
  std::vector<std::string> kpageflag_names;
  const glibc::Chunk* chunk = nullptr;  // the heap chunk holding the address, if any
  bool in_trim_range = false;           // malloc_trim(0) would release this page
};

struct PagesReport {
  bool live = false;
  uint64_t page_size = 4096;
  std::vector<RegionPages> regions;
  PageCounts total, trim_total;
  std::vector<std::string> notes;
  std::optional<AddressPage> address;
  // Bytes: (trim pages in a state) * page_size.
  uint64_t trim_resident_bytes() const { return (trim_total.present + trim_total.swapped) * page_size; }
  uint64_t trim_released_bytes() const { return (trim_total.absent + trim_total.zero) * page_size; }
};

PagesReport compute_pages(const Residency& res, const glibc::Heap& heap, const FragReport& frag,
                          std::optional<int> arena, const CancelToken& cancel = CancelToken());
PagesReport page_of_address(const Residency& res, const glibc::Heap& heap, const FragReport& frag,
                            Address addr);

// ---- any allocator's model (heap pages on jemalloc, ...): page states of
// the ranges the allocator got from the system, by owner, and per block state
// the bytes and the bytes that lie on resident pages. No trim model: that is
// glibc's (compute_pages above).

struct ModelRegionPages {
  int owner = kNoOwner;  // of the range's first block
  AddressRange range;    // page-aligned
  PageCounts pages;
};

struct StatePages {
  uint64_t bytes = 0;           // of the blocks in this state
  uint64_t resident_bytes = 0;  // of those bytes, on present or swapped pages
};

struct ModelPagesReport {
  bool live = false;
  uint64_t page_size = 4096;
  std::vector<ModelRegionPages> regions;
  PageCounts total;
  std::array<StatePages, kBlockStateCount> states{};  // by BlockState
  std::vector<std::string> notes;
};

ModelPagesReport compute_model_pages(const Residency& res, const HeapModel& heap,
                                     const CancelToken& cancel = CancelToken());

}  // namespace heapscope
