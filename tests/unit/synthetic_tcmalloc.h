// A synthetic gperftools 2.10 heap built by hand in a BufferTarget (the
// tcmalloc unit tests and the fuzz_tcmalloc target): the library's statics
// (page heap, size map, central lists) with only the symbols Debian's
// library exports, one metadata chunk (a page-map leaf, spans, a thread
// cache) and eight 8 KiB heap pages. Span 0 holds 1024-byte objects: 1 on
// its free list, 2 and 3 in the transfer cache, 4 in the thread cache, the
// others in use; span 1 is a 16 KiB large allocation, span 2 free, span 3
// returned.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "heapscope/buffer_target.h"
#include "heapscope/cancel.h"
#include "heapscope/tcmalloc/heap.h"
#include "tcmalloc/layout.h"

namespace heapscope::synthetic_tcmalloc {

inline constexpr char kPath[] = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
inline const tcmalloc::Layout& L = tcmalloc::known_layouts().front();

constexpr uint64_t kRodata = 0x0f000000, kData = 0x10000000, kDataSize = 0x200000;
constexpr uint64_t kPageheap = kData + 0x1000, kSizemap = kData + 0x190000, kCentral = kData + 0x192000;
constexpr uint64_t kThreadHeapsVar = kData + 0x1f0000, kSystemTakenVar = kData + 0x1f0008, kInitedVar = kData + 0x1f0010;
constexpr uint64_t kMeta = 0x20000000, kChunk = 8 << 20;  // one metadata chunk: a leaf, spans, a thread cache
constexpr uint64_t kLeaf = kMeta, kSpans = kMeta + 0x200000, kThreadCache = kMeta + 0x210000;
constexpr uint64_t kHeap = 0x40000000, kHeapSize = 0x10000;  // eight 8 KiB pages
constexpr uint64_t kPage0 = kHeap >> 13;
// Size classes 0, 8, 16, 1024, 4096 bytes; class 3 moves two objects a batch.
constexpr int32_t kSizes[] = {0, 8, 16, 1024, 4096};
constexpr uint64_t kObj = 1024;

inline uint64_t span_at(int k) { return kSpans + uint64_t(k) * L.span_size; }
inline uint64_t object(int k) { return kHeap + uint64_t(k) * kObj; }

// Names only what Debian's library exports.
class ExportedSymbols : public SymbolResolver {
 public:
  std::optional<Address> find(std::string_view, std::string_view name) const override {
    if (name == "_ZN8tcmalloc11ThreadCache13thread_heaps_E") return Address(kThreadHeapsVar);
    if (name == "TCMalloc_SystemTaken") return Address(kSystemTakenVar);
    if (name == "_ZN8tcmalloc6Static7inited_E") return Address(kInitedVar);
    return std::nullopt;
  }
  std::optional<SymbolAt> at(Address) const override { return std::nullopt; }
  bool has_full_symbols(std::string_view) const override { return false; }
};

struct Synthetic {
  BufferTarget t;

  // `path` names the library the statics are in; a path no file has keeps
  // a Session from reading the real library's symbols for them.
  explicit Synthetic(const char* version = "gperftools 2.10", const char* path = kPath) {
    std::vector<std::byte> rodata(0x1000);
    std::memcpy(rodata.data() + 0x100, version, std::strlen(version) + 1);
    t.add_region(Address(kRodata), rodata, kPermRead, path);
    t.add_region(Address(kData), std::vector<std::byte>(kDataSize), kPermRead | kPermWrite, path);
    t.add_region(Address(kMeta), std::vector<std::byte>(kChunk));
    t.add_region(Address(kHeap), std::vector<std::byte>(kHeapSize));
    t.add_module({path, Address(kRodata), {{Address(kRodata), Address(kRodata + 0x1000)},
                                             {Address(kData), Address(kData + kDataSize)}}, ""});
    put(kSizemap + L.sizemap_num_size_classes, std::size(kSizes));
    for (size_t c = 0; c < std::size(kSizes); ++c) {
      t.write_value(Address(kSizemap + L.sizemap_class_to_size + 4 * c), kSizes[c]);
      t.write_value(Address(kSizemap + L.sizemap_num_objects_to_move + 4 * c), int32_t{2});
      put(kSizemap + L.sizemap_class_to_pages + 8 * c, 1);
      uint64_t central = kCentral + c * L.central_size;
      put(central + L.central_size_class, c);
      put(central + L.central_empty + L.span_next, central + L.central_empty);  // empty rings
      put(central + L.central_nonempty + L.span_next, central + L.central_nonempty);
    }
    put(kPageheap + L.pageheap_pagemap_root, kLeaf);  // root slot 0 covers the heap
    // Span 0: one page of 1024-byte objects. 1 on its free list, 2 and 3 in
    // the transfer cache, 4 in the thread cache, the others in use.
    span(0, kPage0, 1, 3 << L.bits_sizeclass_shift | 7);
    put(span_at(0) + L.span_objects, object(1));
    leaf(kPage0, 0);
    uint64_t central3 = kCentral + 3 * L.central_size;
    put(central3 + L.central_counter, 1);
    put(central3 + L.central_num_spans, 1);
    t.write_value(Address(central3 + L.central_used_slots), int32_t{1});
    put(central3 + L.central_tc_slots, object(2));
    put(central3 + L.central_tc_slots + 8, object(3));
    put(object(2), object(3));
    // Span 1: a 16 KiB large allocation; span 2: free; span 3: returned.
    span(1, kPage0 + 1, 2, 0);
    leaf(kPage0 + 1, 1), leaf(kPage0 + 2, 1);
    span(2, kPage0 + 3, 2, tcmalloc::kOnNormalFreelist << L.bits_location_shift);
    leaf(kPage0 + 3, 2), leaf(kPage0 + 4, 2);
    span(3, kPage0 + 5, 3, tcmalloc::kOnReturnedFreelist << L.bits_location_shift);
    leaf(kPage0 + 5, 3), leaf(kPage0 + 7, 3);
    put(kPageheap + L.pageheap_stats + L.stats_system_bytes, kHeapSize);
    put(kPageheap + L.pageheap_stats + L.stats_free_bytes, 0x4000);
    put(kPageheap + L.pageheap_stats + L.stats_unmapped_bytes, 0x6000);
    // One thread cache holding object 4.
    put(kThreadHeapsVar, kThreadCache);
    put(kThreadCache + 3 * L.freelist_size + L.freelist_list, object(4));
    t.write_value(Address(kThreadCache + 3 * L.freelist_size + L.freelist_length), uint32_t{1});
    t.write_value(Address(kThreadCache + L.threadcache_size_bytes), int32_t{kObj});
    put(kSystemTakenVar, kHeapSize + kChunk);
    put(kInitedVar, 1);
  }

  // Writes outside the regions are the test's own mistake.
  void put(uint64_t at, uint64_t v) {
    if (!t.write_value(Address(at), v)) throw std::logic_error("synthetic tcmalloc: write outside the regions");
  }
  void span(int k, uint64_t start, uint64_t length, uint32_t bits) {
    put(span_at(k) + L.span_start, start);
    put(span_at(k) + L.span_length, length);
    t.write_value(Address(span_at(k) + L.span_bits), bits);
  }
  void leaf(uint64_t page, int k) { put(kLeaf + 8 * (page & ((1u << L.pagemap_leaf_bits) - 1)), span_at(k)); }

  std::unique_ptr<HeapModel> build() {
    ExportedSymbols syms;
    CancelToken cancel;
    return tcmalloc::try_build(t, syms, cancel);
  }
};

}  // namespace heapscope::synthetic_tcmalloc
