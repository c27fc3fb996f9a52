// Safe-linking (glibc 2.32+, PROTECT_PTR/REVEAL_PTR in malloc.c): a tcache
// or fastbin link is stored XORed with the address of the field that holds
// it, shifted right by the page bits (12 in glibc, whatever the page size).
// The one place heapscope decodes it; XOR is its own inverse.
#pragma once

#include <cstdint>

#include "heapscope/address.h"

namespace heapscope::glibc {

constexpr uint64_t reveal_link(Address field, uint64_t stored) { return stored ^ (field.value >> 12); }

}  // namespace heapscope::glibc
