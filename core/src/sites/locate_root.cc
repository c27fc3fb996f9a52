// Finding the recorder's root: the exported symbol, else its magic at an
// 8-aligned address in writable module data (the root is a statically
// initialised global of libheapscope-record.so, or of the program linking it).
#include <fmt/format.h>

#include "heapscope_record_layout.h"
#include "sites/locate_root.h"
#include "target_words.h"

namespace heapscope::sites {
namespace {

constexpr uint64_t kScanCap = 256ull << 20;  // bytes of module data searched at most

bool module_data(const std::vector<Region>& rs, size_t i) {
  const Region& r = rs[i];
  auto file_backed = [](const Region& x) { return !x.path.empty() && x.path[0] != '['; };
  // .data is file-backed; the .bss after it is an anonymous neighbour.
  return file_backed(r) || (i > 0 && r.path.empty() && file_backed(rs[i - 1]) &&
                            rs[i - 1].range.end == r.range.begin);
}

}  // namespace

std::optional<RootAt> locate_record_root(const Target& target, const SymbolResolver& symbols,
                                         const CancelToken& cancel, std::vector<std::string>& notes) {
  if (auto a = symbols.find("", HSR_ROOT_SYMBOL)) {
    if (target.read_u64(*a) == HSR_ROOT_MAGIC) return RootAt{*a, true};
    notes.push_back(fmt::format("symbol {} at {} does not hold the recorder's magic; searched memory instead",
                                HSR_ROOT_SYMBOL, to_hex(*a)));
  }
  const auto& rs = target.regions();
  uint64_t scanned = 0;
  std::optional<Address> found;
  for (size_t i = 0; i < rs.size() && !found; ++i) {
    const Region& r = rs[i];
    if (!r.readable || !r.writable() || !module_data(rs, i)) continue;
    if (scanned + r.range.size() > kScanCap) continue;
    scanned += r.range.size();
    for_each_word(target, r.range, cancel, [&](uint64_t a, uint64_t v) {
      if (!found && v == HSR_ROOT_MAGIC) found = Address(a);
    });
  }
  if (!found) return std::nullopt;
  return RootAt{*found, false};
}

}  // namespace heapscope::sites
