// A synthetic mimalloc 2.0.9 heap in a BufferTarget, for the model's unit
// tests and its fuzz target: libmimalloc's code (mi_version) and data (the
// main heap and its tld), and one 32 MiB segment holding a page of 64-byte
// blocks on all four lists, a large page and a free span.
#pragma once

#include <cstdint>
#include <vector>

#include "heapscope/buffer_target.h"
#include "mimalloc/layout.h"

namespace heapscope::synthetic_mimalloc {

inline constexpr char kPath[] = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2.0";
inline const mimalloc::Layout& L = mimalloc::known_layouts().front();

constexpr uint64_t kCode = 0x0f000000, kVersionFn = kCode + 0x100;
constexpr uint64_t kData = 0x10000000, kMainHeap = kData + 0x400, kTld = kData + 0x2000;
constexpr uint64_t kSeg = 0x40000000, kKey = 0x5a5a1234abcd0001, kThread = 0x7f0000001000;
constexpr uint64_t kSmall = kSeg + 0x10000 + 384;  // slice 1: 64-byte blocks after the small-page pad
constexpr uint64_t kLarge = kSeg + 0x20000;         // slices 2..5: one 200 KiB block

inline uint64_t block(int k) { return kSmall + 64 * uint64_t(k); }

struct SyntheticMimalloc {
  BufferTarget t;

  explicit SyntheticMimalloc(const char* path = kPath) {
    std::vector<std::byte> code(0x1000);
    t.add_region(Address(kCode), code, kPermRead | kPermExec, path);
    version(209);
    t.add_region(Address(kData), std::vector<std::byte>(0x4000), kPermRead | kPermWrite, path);
    t.add_region(Address(kSeg), std::vector<std::byte>(L.segment_size));
    t.add_module({path, Address(kCode), {{Address(kCode), Address(kCode + 0x1000)},
                                          {Address(kData), Address(kData + 0x4000)}}, ""});
    // The main heap, alone on its thread's list; its delayed list holds block 0.
    put(kMainHeap + L.heap_tld, kTld);
    put(kMainHeap + L.heap_cookie, kKey);
    put(kMainHeap + L.heap_thread_id, kThread);
    put(kMainHeap + L.heap_thread_delayed_free, block(0));
    put(kTld + L.tld_heaps, kMainHeap);
    put(kTld + L.tld_heap_backing, kMainHeap);
    // The segment: 512 slices, its header in slice 0.
    put(kSeg + L.seg_cookie, kSeg ^ kKey);
    put(kSeg + L.seg_segment_slices, 512);
    put(kSeg + L.seg_info_slices, 1);
    put(kSeg + L.seg_slice_entries, 512);
    put(kSeg + L.seg_thread_id, kThread);
    put(kSeg + L.seg_used, 2);
    page(0, 1, 65536, 0, 0, 0);
    // Slice 1: 20 blocks of 64 bytes reserved, 10 handed out so far: 2, 5, 7
    // free, 9 local free, 4 freed by another thread, 0 on the heap's delayed
    // list; 1, 3, 6, 8 in use. `used` counts all but the first four.
    page(1, 1, 64, 10, 20, 6);
    put(desc(1) + L.page_free, block(2));
    put(block(2), block(5));
    put(block(5), block(7));
    put(desc(1) + L.page_local_free, block(9));
    put(desc(1) + L.page_xthread_free, block(4) | 2);  // low bits: the delayed-free flag
    page(2, 4, 200 * 1024, 1, 1, 1);
    page(6, 506, 0, 0, 0, 0);  // the rest: a free span
  }

  void put(uint64_t at, uint64_t v) { t.write_value(Address(at), v); }
  void version(uint32_t code) {
    uint8_t mov[] = {0xb8, uint8_t(code), uint8_t(code >> 8), uint8_t(code >> 16), uint8_t(code >> 24), 0xc3};
    t.write(Address(kVersionFn), mov, sizeof mov);
  }
  static uint64_t desc(int slice) { return kSeg + L.seg_slices + uint64_t(slice) * L.page_size; }
  void page(int slice, uint32_t count, uint32_t block_size, uint16_t capacity, uint16_t reserved, uint32_t used) {
    uint64_t d = desc(slice);
    t.write_value(Address(d + L.page_slice_count), count);
    t.write_value(Address(d + L.page_xblock_size), block_size);
    t.write_value(Address(d + L.page_capacity), capacity);
    t.write_value(Address(d + L.page_reserved), reserved);
    t.write_value(Address(d + L.page_used), used);
    if (block_size) put(d + L.page_xheap, kMainHeap);
  }

};

}  // namespace heapscope::synthetic_mimalloc
