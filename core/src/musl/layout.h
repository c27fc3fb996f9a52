// Layout: where musl's mallocng keeps what the model reads, on x86-64
// (64-bit pointers, PAGESIZE a constant 4096, so the context has no
// pagesize field). mallocng's structures are the same from musl 1.2.1,
// where it became musl's malloc, through 1.2.5; the offsets below follow
// src/malloc/mallocng/meta.h and were checked against Debian's 1.2.3
// (__malloc_context is 928 bytes in its libc.a).
#pragma once

#include <cstdint>

namespace heapscope::musl {

inline constexpr uint64_t kUnit = 16;       // UNIT: slot granularity, and a group's header
inline constexpr uint64_t kInBand = 4;      // IB: a slot's in-band header, in the 4 bytes before it
inline constexpr uint64_t kPage = 4096;     // maplen counts these; meta areas are one each
inline constexpr int kSizeClasses = 48;     // classes 0..47; 63 marks malloc's own mmapped slots
inline constexpr unsigned kMmappedClass = 63;
inline constexpr unsigned kMaxSlots = 32;   // avail/freed masks are 32 bits; last_idx is 5

// struct malloc_context (__malloc_context, in libc's .bss).
namespace context {
inline constexpr uint64_t kSecret = 0, kInitDone = 8, kFreeMetaHead = 16, kAvailMeta = 24;
inline constexpr uint64_t kAvailMetaCount = 32, kMetaAreaHead = 56, kMetaAreaTail = 64;
inline constexpr uint64_t kActive = 80;           // struct meta *active[48]
inline constexpr uint64_t kUsageByClass = 464;    // size_t usage_by_class[48]
inline constexpr uint64_t kSize = 928;
}  // namespace context

// struct meta_area: one page; `check` is the context's secret.
namespace meta_area {
inline constexpr uint64_t kCheck = 0, kNext = 8, kNslots = 16, kSlots = 24;
inline constexpr uint64_t kSize = kPage;
}  // namespace meta_area

// struct meta: one group's descriptor, 40 bytes in a meta area.
namespace meta {
inline constexpr uint64_t kPrev = 0, kNext = 8, kMem = 16, kAvailMask = 24, kFreedMask = 28, kBits = 32;
inline constexpr uint64_t kSize = 40;
// The bit-fields of the word at kBits: last_idx:5, freeable:1, sizeclass:6, maplen:52.
inline unsigned last_idx(uint64_t bits) { return unsigned(bits & 31); }
inline bool freeable(uint64_t bits) { return (bits >> 5) & 1; }
inline unsigned sizeclass(uint64_t bits) { return unsigned(bits >> 6) & 63; }
inline uint64_t maplen(uint64_t bits) { return bits >> 12; }
}  // namespace meta

// A meta area holds this many metas: (4096 - 24) / 40.
inline constexpr uint64_t kMetasPerArea = (meta_area::kSize - meta_area::kSlots) / meta::kSize;

// struct group: the meta's back-pointer, then active_idx:5, then the slots.
namespace group {
inline constexpr uint64_t kMeta = 0, kActiveIdx = 8, kStorage = kUnit;
}  // namespace group

// size_classes[]: a class's slot stride in units.
uint64_t class_units(unsigned sizeclass);

// A slot's in-band header, the 4 bytes before the pointer malloc returned:
// [-4] zero (a large offset when set), [-3] index:5 | reserved:3,
// [-2..-1] the pointer's offset from the group's storage in units.
namespace slot {
inline constexpr unsigned kReservedInTail = 5;   // reserved is the u32 at the slot's end - 4
inline constexpr unsigned kNestedGroup = 6;      // the slot holds another group
inline constexpr unsigned kOffsetStart = 7;      // the pointer lies u16 units further into the slot
}  // namespace slot

}  // namespace heapscope::musl
