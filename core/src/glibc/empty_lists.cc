#include "glibc/empty_lists.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "glibc/builder.h"

namespace heapscope::glibc {

namespace {

constexpr int kLastUsedBin = 126;  // bin 127 exists but no size maps to it

}  // namespace

std::vector<FreeList> empty_free_lists(const Heap& heap) {
  std::vector<FreeList> out;
  if (!heap.layout) return out;
  const Layout& l = *heap.layout;
  std::set<uint64_t> held;  // head slots of the lists the walk kept
  for (const auto& fl : heap.lists) held.insert(fl.head.value);
  auto add = [&](FreeList fl) {
    if (!held.count(fl.head.value)) out.push_back(std::move(fl));
  };
  if (l.has_tcache)
    for (const auto& t : heap.tcaches) {
      const Address entries = t.address + l.tcache_bins * l.tcache_counts_width;
      for (int i = 0; i < l.tcache_bins; ++i) {
        FreeList fl{ListKind::kTcache, t.arena, i, t.tid, entries + 8 * i};
        fl.min_size = l.min_chunk + std::min(i, l.tcache_small_bins) * l.malloc_alignment;
        fl.max_size = i < l.tcache_small_bins ? fl.min_size : UINT64_MAX;
        add(std::move(fl));
      }
    }
  for (const auto& ar : heap.arenas) {
    for (int i = 0; i < l.nfastbins; ++i) {
      FreeList fl{ListKind::kFast, ar.index, i, 0, ar.address + l.ms_fastbins + 8 * i};
      fl.min_size = fl.max_size = l.min_chunk + i * l.malloc_alignment;
      add(std::move(fl));
    }
    for (int i = 1; i < std::min(l.nbins, kLastUsedBin + 1); ++i) {
      const ListKind kind = i == 1 ? ListKind::kUnsorted : i < 64 ? ListKind::kSmall : ListKind::kLarge;
      // The head slot as the walk names it: the bin's fd word.
      FreeList fl{kind, ar.index, i, 0, ar.address + l.ms_bins + (i - 1) * 2 * l.size_sz};
      std::tie(fl.min_size, fl.max_size) = bin_size_range(i);
      add(std::move(fl));
    }
  }
  return out;
}

void sort_free_lists(std::vector<const FreeList*>& lists) {
  auto key = [](const FreeList* f) {
    const bool tcache = f->kind == ListKind::kTcache;
    return std::make_tuple(!tcache, f->arena, tcache ? f->head.value : 0, f->kind != ListKind::kFast, f->bin);
  };
  std::stable_sort(lists.begin(), lists.end(), [&](const FreeList* a, const FreeList* b) { return key(a) < key(b); });
}

}  // namespace heapscope::glibc
