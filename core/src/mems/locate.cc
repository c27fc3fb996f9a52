// Finding mems_root: by its exported symbol, else structurally: the root is a
// statically initialised global, so it sits in a writable mapping of the
// module that links libmems (its .data), with the magic "MeMSroot" at an
// 8-aligned address followed by the layout version and the root size.
#include <algorithm>

#include "mems/builder.h"
#include "target_words.h"

namespace heapscope::mems {
namespace {

constexpr uint64_t kScanCap = 1ull << 30;  // bytes scanned among anonymous regions

bool plausible(const mems_root& r) {
  return r.magic == MEMS_ROOT_MAGIC && r.layout_version != 0 && r.layout_version < 1000 &&
         r.root_size >= 16 && r.root_size <= (1u << 20);
}

bool file_backed(const Region& r) { return !r.path.empty() && r.path[0] != '['; }

void scan_region(const Target& target, const Region& r, const CancelToken& cancel,
                 std::vector<Address>& hits) {
  for_each_word(target, r.range, cancel, [&](uint64_t a, uint64_t v) {
    if (v == MEMS_ROOT_MAGIC) hits.push_back(Address(a));
  });
}

}  // namespace

std::optional<RootLocation> locate_root(const Target& target, const SymbolResolver& symbols,
                                        const CancelToken& cancel) {
  RootLocation loc;
  if (auto a = symbols.find("", "mems_root")) {
    auto r = target.read_value<mems_root>(*a);
    if (r && plausible(*r)) {
      loc.address = *a;
      loc.by_symbol = true;
      return loc;
    }
    loc.notes.push_back(fmt::format(
        "symbol mems_root at {} does not hold the mems root magic; searched memory instead",
        to_hex(*a)));
  }

  // Module data (and the bss right after it) first, then anonymous memory.
  const auto& rs = target.regions();
  std::vector<const Region*> first, second;
  for (size_t i = 0; i < rs.size(); ++i) {
    const Region& r = rs[i];
    if (!r.writable() || !r.readable) continue;
    bool data = file_backed(r) ||
                (i > 0 && r.path.empty() && file_backed(rs[i - 1]) && rs[i - 1].writable() &&
                 rs[i - 1].range.end == r.range.begin);
    (data ? first : second).push_back(&r);
  }
  std::vector<Address> hits;
  for (const Region* r : first) scan_region(target, *r, cancel, hits);
  // Anonymous memory only when no mapping names its file (a core without
  // NT_FILE): else the modules' data was searched, and a heap of another
  // allocator, gigabytes of it, need not be read to learn there is no MeMS.
  const bool named = std::any_of(rs.begin(), rs.end(), [](const Region& r) { return file_backed(r); });
  if (hits.empty() && !named) {
    uint64_t scanned = 0;
    for (const Region* r : second) {
      if (scanned + r->range.size() > kScanCap) continue;
      scanned += r->range.size();
      scan_region(target, *r, cancel, hits);
    }
  }

  // Prefer a root of the version we read, then an initialised one.
  std::optional<Address> best;
  int best_score = -1;
  size_t plausible_count = 0;
  for (Address h : hits) {
    auto r = target.read_value<mems_root>(h);
    if (!r || !plausible(*r)) continue;
    ++plausible_count;
    int score = (r->layout_version == MEMS_LAYOUT_VERSION && r->root_size == sizeof(mems_root)) * 2 +
                (r->initialized == 1);
    if (score > best_score) {
      best_score = score;
      best = h;
    }
  }
  if (!best) return std::nullopt;
  loc.address = *best;
  loc.by_symbol = false;
  if (plausible_count > 1)
    loc.notes.push_back(fmt::format("{} mems roots found in memory; using the one at {}",
                                    plausible_count, to_hex(*best)));
  return loc;
}

}  // namespace heapscope::mems
