// The heap fuzzer's input: a little header, then the bytes of glibc's data
// (main_arena, mp_), a thread's TLS window and one heap, each placed at the
// address the header gives. Decoding makes a BufferTarget that looks like a
// process with libc mapped; encoding is used by the seed maker.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/buffer_target.h"

namespace heapscope::fuzz {

struct HeapInputHeader {
  uint64_t libc_data = 0;       // libc's writable data (and bss) start here
  uint64_t heap = 0;            // the heap bytes start here
  uint64_t thread_pointer = 0;  // TLS window ends here
  uint32_t data_len = 0;
  uint32_t tls_len = 0;
};

inline constexpr uint64_t kLibcText = 0x10000;
inline constexpr uint32_t kMaxData = 1u << 18;
inline constexpr uint32_t kMaxTls = 1u << 16;
inline constexpr uint64_t kMaxHeap = 8u << 20;

inline std::string encode_heap_input(const HeapInputHeader& h, const std::vector<std::byte>& data,
                                     const std::vector<std::byte>& tls, const std::vector<std::byte>& heap) {
  HeapInputHeader hh = h;
  hh.data_len = static_cast<uint32_t>(data.size());
  hh.tls_len = static_cast<uint32_t>(tls.size());
  std::string out(sizeof hh, '\0');
  std::memcpy(out.data(), &hh, sizeof hh);
  for (const auto* v : {&data, &tls, &heap}) out.append(reinterpret_cast<const char*>(v->data()), v->size());
  return out;
}

// The target an input describes, or nullopt when its regions overlap or do
// not fit the address space (such inputs are not interesting).
inline std::optional<BufferTarget> decode_heap_input(const uint8_t* p, size_t n) {
  HeapInputHeader h;
  if (n < sizeof h) return std::nullopt;
  std::memcpy(&h, p, sizeof h);
  p += sizeof h, n -= sizeof h;
  if (h.data_len > kMaxData || h.tls_len > kMaxTls || h.data_len + uint64_t{h.tls_len} > n) return std::nullopt;
  uint64_t heap_len = std::min<uint64_t>(n - h.data_len - h.tls_len, kMaxHeap);
  struct Span {
    uint64_t begin, len;
  };
  if (h.thread_pointer < h.tls_len) return std::nullopt;
  const Span spans[] = {{kLibcText, 0x1000},
                        {h.libc_data, h.data_len},
                        {h.thread_pointer - h.tls_len, h.tls_len},
                        {h.heap, heap_len}};
  for (const auto& a : spans) {
    if (a.begin + a.len < a.begin) return std::nullopt;
    for (const auto& b : spans)
      if (&a != &b && a.len && b.len && a.begin < b.begin + b.len && b.begin < a.begin + a.len)
        return std::nullopt;
  }
  auto bytes = [](const uint8_t* q, uint64_t len) {
    std::vector<std::byte> v(len);
    if (len) std::memcpy(v.data(), q, len);
    return v;
  };
  BufferTarget t;
  std::vector<std::byte> text(0x1000);
  static constexpr char kBanner[] = "GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n";
  std::memcpy(text.data() + 0x100, kBanner, sizeof kBanner - 1);
  const std::string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  t.add_region(Address(kLibcText), std::move(text), kPermRead | kPermExec, libc);
  if (h.data_len) t.add_region(Address(h.libc_data), bytes(p, h.data_len), kPermRead | kPermWrite, libc);
  if (h.tls_len)
    t.add_region(Address(h.thread_pointer - h.tls_len), bytes(p + h.data_len, h.tls_len), kPermRead | kPermWrite);
  if (heap_len) t.add_region(Address(h.heap), bytes(p + h.data_len + h.tls_len, heap_len), kPermRead | kPermWrite, "[heap]");
  Thread th;
  th.tid = 1;
  th.thread_pointer = Address(h.thread_pointer);
  th.sp = Address(h.thread_pointer - h.tls_len);
  t.add_thread(th);
  return t;
}

}  // namespace heapscope::fuzz
