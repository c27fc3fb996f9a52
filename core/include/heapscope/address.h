// Address: a location in the target's address space, never in ours.
// AddressRange: a half-open [begin, end) span of target addresses.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace heapscope {

struct Address {
  uint64_t value = 0;

  constexpr Address() = default;
  constexpr explicit Address(uint64_t v) : value(v) {}

  constexpr bool is_null() const { return value == 0; }
  constexpr auto operator<=>(const Address&) const = default;
  constexpr Address operator+(uint64_t d) const { return Address(value + d); }
  constexpr Address operator-(uint64_t d) const { return Address(value - d); }
  constexpr uint64_t operator-(Address o) const { return value - o.value; }
  constexpr Address& operator+=(uint64_t d) { value += d; return *this; }
  constexpr Address align_down(uint64_t a) const { return Address(value & ~(a - 1)); }
  constexpr bool aligned(uint64_t a) const { return (value & (a - 1)) == 0; }
};

// "0x..." lower-case hex, the one address spelling used in text and JSON.
std::string to_hex(Address a);
std::string to_hex(uint64_t v);

struct AddressRange {
  Address begin;
  Address end;  // one past the last byte

  constexpr uint64_t size() const { return end.value > begin.value ? end.value - begin.value : 0; }
  constexpr bool empty() const { return size() == 0; }
  constexpr bool contains(Address a) const { return a >= begin && a < end; }
  // True when [a, a+n) lies wholly inside, without overflow.
  constexpr bool contains(Address a, uint64_t n) const {
    return a >= begin && a <= end && n <= end.value - a.value;
  }
  constexpr auto operator<=>(const AddressRange&) const = default;
};

}  // namespace heapscope

template <>
struct std::hash<heapscope::Address> {
  size_t operator()(heapscope::Address a) const noexcept { return std::hash<uint64_t>()(a.value); }
};
