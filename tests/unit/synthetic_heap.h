// A glibc heap built by hand in a BufferTarget: a libc mapping with its
// version banner, main_arena and mp_ in libc's data, one sbrk heap, and a
// thread whose TLS points at its tcache. Tests corrupt it on purpose.
// Default glibc 2.36; SyntheticHeap(minor) lays it out as glibc 2.<minor>
// (safe-linking, tcache counts or num_slots, fastbins or none per its row).
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "heapscope/buffer_target.h"
#include "heapscope/glibc/layout.h"

namespace heapscope::testing {

class SyntheticHeap {
 public:
  static constexpr uint64_t kLibcText = 0x7f0000000000;
  static constexpr uint64_t kLibcData = 0x7f0000200000;
  static constexpr uint64_t kMainArena = kLibcData + 0x100;
  static constexpr uint64_t kMp = kLibcData + 0x1000;
  static constexpr uint64_t kHeap = 0x555555559000;
  static constexpr uint64_t kHeapSize = 0x21000;
  static constexpr uint64_t kTls = 0x7f0000300000;
  static constexpr uint64_t kThreadPointer = kTls + 0x1000;

  const glibc::Layout& l;
  BufferTarget target;
  uint64_t cursor = kHeap;  // next chunk header

  static constexpr uint64_t kTcacheCount = 7;

  // `banner_minor`: the version the libc banner claims, when it differs from
  // the layout the heap is built with (an unknown or mislabelled release).
  explicit SyntheticHeap(int minor = 36, int banner_minor = 0)
      : l(*glibc::layout_for_version(2, minor).layout) {
    std::string v = "2." + std::to_string(banner_minor ? banner_minor : minor);
    std::string banner = "GNU C Library (Debian GLIBC " + v + "-9) stable release version " + v + ".\n";
    std::vector<std::byte> text(0x1000);
    std::memcpy(text.data() + 0x100, banner.data(), banner.size());
    target.add_region(Address(kLibcText), std::move(text), kPermRead | kPermExec,
                      "/usr/lib/x86_64-linux-gnu/libc.so.6");
    target.add_region(Address(kLibcData), std::vector<std::byte>(0x2000), kPermRead | kPermWrite,
                      "/usr/lib/x86_64-linux-gnu/libc.so.6");
    target.add_region(Address(kHeap), std::vector<std::byte>(kHeapSize), kPermRead | kPermWrite, "[heap]");
    target.add_region(Address(kTls), std::vector<std::byte>(0x2000), kPermRead | kPermWrite, "");
    Thread t;
    t.tid = 42;
    t.thread_pointer = Address(kThreadPointer);
    t.sp = Address(kTls + 0x800);
    target.add_thread(t);
    // Empty bins point at themselves.
    for (int i = 1; i < l.nbins; ++i) {
      uint64_t bin = kMainArena + l.ms_bins + (i - 1) * 16 - 16;
      w(kMainArena + l.ms_bins + (i - 1) * 16, bin);
      w(kMainArena + l.ms_bins + (i - 1) * 16 + 8, bin);
    }
    w(kMainArena + l.ms_next, kMainArena);
    w(kMainArena + l.ms_system_mem, kHeapSize);
    w(kMainArena + l.ms_max_system_mem, kHeapSize);
    w(kMainArena + l.ms_attached_threads, 1);
    w(kMp + l.mp_trim_threshold, 128 * 1024);
    w(kMp + l.mp_top_pad, 128 * 1024);
    w(kMp + l.mp_mmap_threshold, 128 * 1024);
    w(kMp + l.mp_arena_test, 8);
    w(kMp + l.mp_sbrk_base, kHeap);
    w(kMp + static_cast<uint64_t>(l.mp_tcache_bins), 64);
    w(kMp + static_cast<uint64_t>(l.mp_tcache_count), kTcacheCount);
    // The tcache_perthread_struct is the first chunk; TLS points at it.
    tcache = chunk((l.tcache_struct_size + 8 + 15) & ~15ull) + 16;
    w(kThreadPointer - 0x48, tcache);
    if (l.tcache_counts_free_slots)  // 2.42+: every bin starts with all its slots free
      for (int i = 0; i < l.tcache_bins; ++i)
        target.write_value(Address(tcache + 2 * i), static_cast<uint16_t>(kTcacheCount));
  }

  uint64_t tcache = 0;

  void w(uint64_t at, uint64_t v) { target.write_value(Address(at), v); }
  uint64_t r(uint64_t at) { return *target.read_u64(Address(at)); }

  // Appends an in-use chunk of `size` (PREV_INUSE set) and returns its header.
  uint64_t chunk(uint64_t size) {
    uint64_t c = cursor;
    w(c + 8, size | 1);
    cursor += size;
    return c;
  }
  // Ends the heap: the rest is the top chunk.
  void finish() {
    w(kMainArena + l.ms_top, cursor);
    w(cursor + 8, (kHeap + kHeapSize - cursor) | 1);
  }
  uint64_t mangle(uint64_t pos, uint64_t ptr) { return l.safe_linking ? ptr ^ (pos >> 12) : ptr; }

  // Puts chunk c (header) at the head of tcache bin i.
  void tcache_push(int i, uint64_t c) {
    uint64_t entries = tcache + l.tcache_bins * l.tcache_counts_width, counts = tcache;
    uint64_t head = r(entries + 8 * i);
    w(c + 16, mangle(c + 16, head));
    // tcache key: 2.29..2.33 the tcache's own address, 2.34+ a random word
    w(c + 24, l.minor < 34 ? tcache : 0xdeadbeefcafe);
    w(entries + 8 * i, c + 16);
    uint16_t n = *target.read_value<uint16_t>(Address(counts + 2 * i));
    n = l.tcache_counts_free_slots ? n - 1 : n + 1;
    target.write_value(Address(counts + 2 * i), n);
  }
  void fast_push(int i, uint64_t c) {
    uint64_t slot = kMainArena + l.ms_fastbins + 8 * i;
    w(c + 16, mangle(c + 16, r(slot)));
    w(slot, c);
  }
  // Links chunk c into bin i, marks it free for its neighbour. Small and
  // unsorted bins: at the front. Large bins (64..) the way glibc sorts them:
  // largest first, a size already there in second place in its run, and the
  // nextsize ring through the first chunk of each size.
  void bin_push(int i, uint64_t c) {
    uint64_t bin = kMainArena + l.ms_bins + (i - 1) * 16 - 16;
    uint64_t size = r(c + 8) & ~7ull;
    uint64_t after = bin;
    if (i >= 64) {
      uint64_t cur = r(bin + 16);
      while (cur != bin && (r(cur + 8) & ~7ull) > size) after = cur, cur = r(cur + 16);
      if (cur != bin && (r(cur + 8) & ~7ull) == size) after = cur;
    }
    uint64_t next = r(after + 16);
    w(c + 16, next);
    w(c + 24, after);
    w(next + 24, c);
    w(after + 16, c);
    uint64_t following = c + size;
    w(following + 8, r(following + 8) & ~1ull);
    w(following, size);
    if (i >= 64) link_nextsize(bin);
  }
  // Rebuilds a large bin's fd_nextsize/bk_nextsize from its fd order.
  void link_nextsize(uint64_t bin) {
    std::vector<uint64_t> heads;
    uint64_t last_size = 0;
    for (uint64_t cur = r(bin + 16); cur != bin; cur = r(cur + 16)) {
      uint64_t size = r(cur + 8) & ~7ull;
      w(cur + 32, 0);
      w(cur + 40, 0);
      if (size != last_size) heads.push_back(cur);
      last_size = size;
    }
    for (size_t j = 0, k = heads.size(); j < k; ++j) {
      w(heads[j] + 32, heads[(j + 1) % k]);
      w(heads[j] + 40, heads[(j + k - 1) % k]);
    }
  }
};

}  // namespace heapscope::testing
