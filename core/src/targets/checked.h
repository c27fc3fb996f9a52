// Checked arithmetic and bounds-checked little-endian reads over byte spans:
// every offset and size that comes from a file or another process is hostile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace heapscope::targets {

// a + b, or nullopt on overflow.
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// True when [off, off + n) lies inside a buffer of `size` bytes.
inline bool in_bounds(uint64_t size, uint64_t off, uint64_t n) {
  return off <= size && n <= size - off;
}

// The bytes [off, off + n) of `s`, or an empty span when out of bounds.
inline std::span<const std::byte> subspan(std::span<const std::byte> s, uint64_t off, uint64_t n) {
  if (!in_bounds(s.size(), off, n)) return {};
  return s.subspan(off, n);
}

// A T copied from s[off], or nullopt when it does not fit.
template <typename T>
std::optional<T> load(std::span<const std::byte> s, uint64_t off) {
  if (!in_bounds(s.size(), off, sizeof(T))) return std::nullopt;
  T v;
  std::memcpy(&v, s.data() + off, sizeof(T));
  return v;
}

inline uint64_t align_up(uint64_t v, uint64_t a) {
  uint64_t r = (v + a - 1) & ~(a - 1);
  return r < v ? UINT64_MAX & ~(a - 1) : r;
}

}  // namespace heapscope::targets
