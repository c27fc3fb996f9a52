// The mems fuzzer's input: a run of regions, each a little header and then
// its bytes. A region is a program's data (where mems_root lives: a writable
// file-backed mapping, so the root is found by its magic without symbols),
// anonymous memory (metadata pages, node mappings, the pool map, thread
// caches) or the one thread's stack. A region may map more bytes than the
// input carries: the rest reads as zero, so a 256 KiB arena whose first pools
// hold data costs only those pools. Decoding makes a BufferTarget; encoding
// is used by the seed maker.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/buffer_target.h"

namespace heapscope::fuzz {

enum class MemsRegionKind : uint32_t { kModuleData = 0, kAnonymous = 1, kStack = 2 };

struct MemsRegionHeader {
  uint64_t address = 0;
  uint32_t length = 0;    // bytes mapped; those past data_len read as zero
  uint32_t data_len = 0;  // bytes that follow this header in the input
  uint32_t kind = 0;      // MemsRegionKind
  uint32_t reserved = 0;
};

struct MemsRegion {
  uint64_t address = 0;
  uint32_t length = 0;
  MemsRegionKind kind = MemsRegionKind::kAnonymous;
  std::vector<std::byte> data;  // at most length bytes; the rest is zero
};

inline constexpr size_t kMaxMemsRegions = 32;
inline constexpr uint32_t kMaxMemsRegion = 2u << 20;   // bytes mapped per region
inline constexpr uint64_t kMaxMemsMapped = 4u << 20;   // bytes mapped in all
inline constexpr char kMemsModulePath[] = "/usr/bin/mems_demo";

inline std::string encode_mems_input(const std::vector<MemsRegion>& regions) {
  std::string out;
  for (const auto& r : regions) {
    MemsRegionHeader h;
    h.address = r.address;
    h.length = r.length;
    h.data_len = static_cast<uint32_t>(r.data.size());
    h.kind = static_cast<uint32_t>(r.kind);
    out.append(reinterpret_cast<const char*>(&h), sizeof h);
    out.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
  }
  return out;
}

// The target an input describes, or nullopt when a region is too long, its
// kind unknown, or regions overlap or wrap (such inputs are not interesting).
// Trailing bytes too short for a region header are ignored.
inline std::optional<BufferTarget> decode_mems_input(const uint8_t* p, size_t n) {
  std::vector<MemsRegionHeader> heads;
  std::vector<const uint8_t*> datas;
  uint64_t mapped = 0;
  while (n >= sizeof(MemsRegionHeader)) {
    if (heads.size() == kMaxMemsRegions) return std::nullopt;
    MemsRegionHeader h;
    std::memcpy(&h, p, sizeof h);
    p += sizeof h, n -= sizeof h;
    if (h.length == 0 || h.length > kMaxMemsRegion || h.data_len > h.length || h.data_len > n ||
        h.kind > static_cast<uint32_t>(MemsRegionKind::kStack) || h.address + h.length < h.address)
      return std::nullopt;
    mapped += h.length;
    if (mapped > kMaxMemsMapped) return std::nullopt;
    heads.push_back(h);
    datas.push_back(p);
    p += h.data_len, n -= h.data_len;
  }
  if (heads.empty()) return std::nullopt;
  for (const auto& a : heads)
    for (const auto& b : heads)
      if (&a != &b && a.address < b.address + b.length && b.address < a.address + a.length) return std::nullopt;
  BufferTarget t;
  bool have_thread = false;
  for (size_t i = 0; i < heads.size(); ++i) {
    const auto& h = heads[i];
    std::vector<std::byte> bytes(h.length);
    if (h.data_len) std::memcpy(bytes.data(), datas[i], h.data_len);
    auto kind = static_cast<MemsRegionKind>(h.kind);
    t.add_region(Address(h.address), std::move(bytes), kPermRead | kPermWrite,
                 kind == MemsRegionKind::kModuleData ? kMemsModulePath
                 : kind == MemsRegionKind::kStack    ? "[stack]"
                                                     : "");
    if (kind == MemsRegionKind::kStack && !have_thread) {
      // The thread's stack pointer at the region's start: all of it is live.
      Thread th;
      th.tid = 1;
      th.sp = Address(h.address);
      th.stack = {Address(h.address), Address(h.address + h.length)};
      t.add_thread(th);
      have_thread = true;
    }
  }
  return t;
}

}  // namespace heapscope::fuzz
