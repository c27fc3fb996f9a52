// Internal: reads of the arenas' heaps for the free-list walks.
#pragma once

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "heapscope/glibc/heap.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

// Words of the arenas' heaps through one view of each heap (a core file
// shows a heap whole): the list walks read a few words a node, at random
// places, and a virtual call and a region lookup per word cost as much as
// the read itself. Answers exactly as Target::read_u64. Not WordReader
// (target.h): that one keeps the run from the page of its last miss up,
// made for passes up through memory; a list jumps up and down its heap, so
// most nodes below the run would miss it (`heap stats` on lists: +11%).
class HeapWords {
 public:
  HeapWords(const Target& t, const std::vector<Arena>& arenas) : t_(t) {
    for (const auto& ar : arenas)
      for (const auto& h : ar.heaps) {
        auto bytes = t.view(h.range.begin, h.range.size());
        if (bytes.size() == h.range.size() && !bytes.empty())
          views_.push_back({h.range.begin.value, h.range.end.value, bytes.data()});
      }
    std::sort(views_.begin(), views_.end(), [](const View& a, const View& b) { return a.begin < b.begin; });
  }
  std::optional<uint64_t> u64(Address a) const {
    if (const std::byte* p = bytes(a, 8)) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    return t_.read_u64(a);
  }
  // The n bytes at a inside one heap's view, or nullptr.
  const std::byte* bytes(Address a, uint64_t n) const {
    if (last_ < views_.size() && views_[last_].holds(a.value, n)) return views_[last_].at(a.value);
    auto it = std::upper_bound(views_.begin(), views_.end(), a.value,
                               [](uint64_t x, const View& v) { return x < v.begin; });
    if (it == views_.begin() || !(--it)->holds(a.value, n)) return nullptr;
    last_ = static_cast<size_t>(it - views_.begin());
    return it->at(a.value);
  }

 private:
  struct View {
    uint64_t begin, end;
    const std::byte* data;
    bool holds(uint64_t a, uint64_t n) const { return a >= begin && a < end && end - a >= n; }
    const std::byte* at(uint64_t a) const { return data + (a - begin); }
  };
  const Target& t_;
  std::vector<View> views_;  // address order; heaps do not overlap in a sound heap, and a lookup checks its view
  mutable size_t last_ = SIZE_MAX;
};

}  // namespace heapscope::glibc
