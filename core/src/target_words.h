// Visiting every word of a stretch of target memory that the target has,
// whatever lies between: missing pages, gaps between regions, the top of the
// address space. Every scan of raw memory goes through here (reference
// roots, MeMS leaks, the search for mems_root), so a hostile range costs at
// most the regions the target really has.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/target.h"

namespace heapscope {

// Where a scan that found nothing at `a` goes on: the next page when a is in
// a readable region (a page missing from a core) or the target lists no
// regions; the end of an unreadable region holding a; else the next region
// above a. At or below a when there is nothing further (the scan stops).
inline uint64_t next_scan_address(const Target& t, uint64_t a) {
  const auto& rs = t.regions();
  const Region* r = rs.empty() ? nullptr : t.find_region(Address(a));
  if (rs.empty() || (r && r->readable)) return (a | 4095) + 1;
  if (r) return (r->range.end.value + 7) & ~7ull;
  auto it = std::upper_bound(rs.begin(), rs.end(), a,
                             [](uint64_t x, const Region& reg) { return x < reg.range.begin.value; });
  return it == rs.end() ? 0 : (it->range.begin.value + 7) & ~7ull;
}

// Calls f(address_of_word, value) for each aligned word of [range) the target
// has; missing pages and the gaps between regions are skipped (a corrupt
// size can make the range span most of the address space), and so are the
// stretches the target knows to be zeros (Target::next_populated): a zero
// word points nowhere. Polls the token every 64 Ki words and every 256 stretches.
inline constexpr size_t kReleaseWords = size_t{2} << 20;  // 16 MiB

template <typename F>
void for_each_word(const Target& t, AddressRange range, const CancelToken& cancel, F&& f) {
  uint64_t a = (range.begin.value + 7) & ~7ull;
  const uint64_t end = range.end.value & ~7ull;
  for (uint32_t runs = 0; a < end; ++runs) {
    if ((runs & 0xff) == 0xff) check_cancel(cancel);
    const AddressRange run = t.next_populated({Address(a), Address(end)});
    if (run.empty() || run.begin.value >= end) break;
    a = std::max<uint64_t>(a, (run.begin.value + 7) & ~7ull);
    const uint64_t run_end = std::min<uint64_t>(end, (run.end.value + 7) & ~7ull);
    if (run_end <= a) break;  // a backend answering outside the range
    while (a < run_end) {
      auto v = t.view(Address(a), run_end - a);
      if (v.size() < 8) {
        uint64_t next = 0;
        uint64_t w = 0;
        if (!v.empty() && t.read_exact(Address(a), &w, 8)) {
          f(a, w);  // a word across two backing blocks
          next = a + 8;
        } else {
          next = next_scan_address(t, a);
        }
        if (next <= a) return;  // nothing further, or the top of the address space
        a = next;
        continue;
      }
      const size_t n = v.size() / 8;
      const std::byte* p = v.data();
      for (size_t i = 0; i < n; ++i) {
        if ((i & 0xffff) == 0xffff) check_cancel(cancel);
        // Each 16 MiB scanned is dropped again (a mapped core's pages count in
        // our RSS): memory follows what is kept, not what was looked at.
        if (i != 0 && i % kReleaseWords == 0)
          t.done_reading({Address(a + 8 * (i - kReleaseWords)), Address(a + 8 * i)});
        uint64_t w;
        std::memcpy(&w, p + 8 * i, 8);
        f(a + 8 * i, w);
      }
      if (n > kReleaseWords)
        t.done_reading({Address(a + 8 * ((n - 1) / kReleaseWords * kReleaseWords)), Address(a + 8 * n)});
      a += 8 * n;
    }
  }
}

}  // namespace heapscope
