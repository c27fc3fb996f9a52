// A synthetic musl mallocng heap in a BufferTarget, beside a musl libc.so
// without symbols (the context is found by shape): a meta area, a mapped
// group of four 64-byte slots (one at a cycled offset, one freed, one
// holding a nested group of two 16-byte slots), and one allocation in a
// mapping of its own. Used by tests/unit/musl_heap_test.cc and the musl
// fuzz target's seed maker (tests/fuzz/make_musl_seeds.cc).
#pragma once

#include <memory>
#include <vector>

#include "heapscope/buffer_target.h"
#include "heapscope/musl/heap.h"
#include "musl/layout.h"

namespace heapscope::testing {

using namespace musl;

inline constexpr char kPath[] = "/usr/lib/x86_64-linux-musl/libc.so";
inline constexpr uint64_t kSecret = 0x1234567890abcdefull;
inline constexpr uint64_t kData = 0x10000000, kCtx = kData + 0x400;
inline constexpr uint64_t kArea = 0x20000000;
inline constexpr uint64_t kMeta0 = kArea + meta_area::kSlots, kMeta1 = kMeta0 + meta::kSize, kMeta2 = kMeta1 + meta::kSize,
                   kMeta3 = kMeta2 + meta::kSize;
inline constexpr uint64_t kGroupA = 0x30000000;            // one page, class 3: four 64-byte slots
inline constexpr uint64_t kSlotA = kGroupA + kUnit;        // slot i at kSlotA + 64 i
inline constexpr uint64_t kGroupB = kSlotA + 3 * 64;       // nested in A's slot 3: class 0, two 16-byte slots
inline constexpr uint64_t kGroupC = 0x30100000;            // malloc's own mapping: two pages, one slot

uint64_t meta_bits(unsigned last_idx, bool freeable, unsigned sc, uint64_t maplen) {
  return last_idx | uint64_t(freeable) << 5 | uint64_t(sc) << 6 | maplen << 12;
}

struct MuslSynthetic {
  BufferTarget t;

  MuslSynthetic() {
    t.add_region(Address(kData), std::vector<std::byte>(0x1000), kPermRead | kPermWrite, kPath);
    t.add_region(Address(kArea), std::vector<std::byte>(kPage));
    t.add_region(Address(kGroupA), std::vector<std::byte>(kPage));
    t.add_region(Address(kGroupC), std::vector<std::byte>(2 * kPage));
    t.add_module({kPath, Address(kData), {{Address(kData), Address(kData + 0x1000)}}, ""});
    // The context: one meta area, four metas handed out (the fourth freed).
    put(kCtx + context::kSecret, kSecret);
    put32(kCtx + context::kInitDone, 1);
    put(kCtx + context::kFreeMetaHead, kMeta3);
    put(kCtx + context::kAvailMeta, kMeta3 + meta::kSize);
    put(kCtx + context::kAvailMetaCount, kMetasPerArea - 4);
    put(kCtx + context::kMetaAreaHead, kArea);
    put(kCtx + context::kMetaAreaTail, kArea);
    put(kCtx + context::kActive + 8 * 3, kMeta0);
    put(kCtx + context::kActive + 8 * 0, kMeta1);
    put(kCtx + context::kUsageByClass + 8 * 3, 4);
    put(kCtx + context::kUsageByClass + 8 * 0, 2);
    put(kArea + meta_area::kCheck, kSecret);
    put32(kArea + meta_area::kNslots, uint32_t(kMetasPerArea));
    // Group A: slot 0 holds 40 bytes, slot 1 10 bytes two units in, slot 2
    // is freed, slot 3 holds group B.
    meta(kMeta0, kMeta0, kGroupA, 0, 1u << 2, meta_bits(3, true, 3, 1));
    slot_header(kSlotA, 0, 0, 40, 64);
    t.write_value(Address(kSlotA + 64 - 3), uint8_t(slot::kOffsetStart << 5));
    t.write_value(Address(kSlotA + 64 - 2), uint16_t(2));
    slot_header(kSlotA + 64 + 32, 1, 4 + 2, 10, 64 - 32);
    slot_header(kSlotA + 3 * 64, 3, 12, 0, 64);
    t.write_value(Address(kSlotA + 3 * 64 - 3), uint8_t(3 | slot::kNestedGroup << 5));
    // Group B: slot 0 holds 5 bytes, slot 1 is ready to hand out.
    meta(kMeta1, kMeta1, kGroupB, 1u << 1, 0, meta_bits(1, true, 0, 0));
    slot_header(kGroupB + kUnit, 0, 0, 5, 16);
    // Group C: 5000 bytes in a mapping of their own.
    meta(kMeta2, 0, kGroupC, 0, 0, meta_bits(0, true, kMmappedClass, 2));
    slot_header(kGroupC + kUnit, 0, 0, 5000, 2 * kPage - kUnit);
    // A freed meta: zeroed, alone on the free list.
    put(kMeta3 + meta::kPrev, kMeta3);
    put(kMeta3 + meta::kNext, kMeta3);
  }

  // Every write lands in a region added above.
  void put(uint64_t at, uint64_t v) { t.write_value(Address(at), v); }
  void put32(uint64_t at, uint32_t v) { t.write_value(Address(at), v); }
  // A meta alone on its ring (ring = itself) or on none (ring = 0).
  void meta(uint64_t at, uint64_t ring, uint64_t mem, uint32_t avail, uint32_t freed, uint64_t bits) {
    put(at + meta::kPrev, ring);
    put(at + meta::kNext, ring);
    put(at + meta::kMem, mem);
    put32(at + meta::kAvailMask, avail);
    put32(at + meta::kFreedMask, freed);
    put(at + meta::kBits, bits);
    put(mem + group::kMeta, at);
  }
  // The header in front of p, slot `index` at `offset` units into its group,
  // holding n of the `room` bytes from p to the slot's end.
  void slot_header(uint64_t p, unsigned index, uint16_t offset, uint64_t n, uint64_t room) {
    const uint64_t end = p + room - kInBand;
    uint64_t reserved = end - p - n;
    if (reserved >= slot::kReservedInTail) {
      put32(end - 4, uint32_t(reserved));
      reserved = slot::kReservedInTail;
    }
    t.write_value(Address(p - 3), uint8_t(index | reserved << 5));
    t.write_value(Address(p - 2), offset);
  }

  std::unique_ptr<HeapModel> build() {
    auto syms = make_no_symbols();
    CancelToken cancel;
    return musl::try_build(t, *syms, cancel);
  }
};

// The regions in the order the fuzz input holds them.
inline constexpr uint64_t kMuslRegions[][2] = {
    {kData, 0x1000}, {kArea, kPage}, {kGroupA, kPage}, {kGroupC, 2 * kPage}};

}  // namespace heapscope::testing
