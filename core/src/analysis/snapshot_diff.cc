#include "heapscope/analysis/snapshot_diff.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace heapscope {
namespace {

template <typename Key, typename Name>
std::vector<DiffRow> changed_rows(const std::map<Key, Tally>& before, const std::map<Key, Tally>& after, Name name) {
  std::map<Key, DiffRow> rows;
  for (const auto& [k, t] : before) rows[k].before = t;
  for (const auto& [k, t] : after) rows[k].after = t;
  std::vector<DiffRow> out;
  for (auto& [k, r] : rows) {
    if (r.before.bytes == r.after.bytes && r.before.chunks == r.after.chunks) continue;
    r.key = name(k);
    out.push_back(std::move(r));
  }
  // Largest change first, either way; then the key, so the order is stable.
  std::stable_sort(out.begin(), out.end(), [](const DiffRow& a, const DiffRow& b) {
    uint64_t x = static_cast<uint64_t>(std::llabs(a.bytes_change())), y = static_cast<uint64_t>(std::llabs(b.bytes_change()));
    return x > y;
  });
  return out;
}

}  // namespace

SnapshotDiff diff_snapshots(const HeapSnapshot& before, const HeapSnapshot& after) {
  SnapshotDiff d;
  d.before_name = before.name;
  d.after_name = after.name;
  d.in_use_before = before.in_use;
  d.in_use_after = after.in_use;
  d.free_before = before.free;
  d.free_after = after.free;
  d.system_before = before.system_bytes;
  d.system_after = after.system_bytes;
  d.by_size_class = changed_rows(before.by_size_class, after.by_size_class,
                                 [](uint64_t c) { return fmt::format("{}", c); });
  d.by_type = changed_rows(before.by_type, after.by_type, [](const std::string& n) { return n; });
  d.sites = before.has_sites && after.has_sites;
  if (d.sites) d.by_site = changed_rows(before.by_site, after.by_site, [](const std::string& n) { return n; });
  auto same_block = [](const SnapshotLeak& a, const SnapshotLeak& b) {
    return a.address != b.address ? a.address < b.address : a.size < b.size;
  };
  std::set_difference(after.leaks.begin(), after.leaks.end(), before.leaks.begin(), before.leaks.end(),
                      std::back_inserter(d.new_leaks), same_block);
  std::set_difference(before.leaks.begin(), before.leaks.end(), after.leaks.begin(), after.leaks.end(),
                      std::back_inserter(d.gone_leaks), same_block);
  return d;
}

}  // namespace heapscope
