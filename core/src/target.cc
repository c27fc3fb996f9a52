#include "heapscope/target.h"

#include <algorithm>

namespace heapscope {

size_t Target::read(Address addr, std::span<std::byte> out) const {
  size_t done = 0;
  while (done < out.size()) {
    if (addr.value + done < addr.value) break;  // wrapped past the top
    auto s = view(addr + done, out.size() - done);
    if (s.empty()) break;
    std::memcpy(out.data() + done, s.data(), s.size());
    done += s.size();
  }
  return done;
}

bool Target::read_exact(Address addr, void* dst, size_t n) const {
  return read(addr, {static_cast<std::byte*>(dst), n}) == n;
}

const Region* Target::find_region(Address addr) const {
  const auto& rs = regions();
  auto it = std::upper_bound(rs.begin(), rs.end(), addr,
                             [](Address a, const Region& r) { return a < r.range.begin; });
  if (it == rs.begin()) return nullptr;
  --it;
  return it->range.contains(addr) ? &*it : nullptr;
}

const Module* Target::find_module(std::string_view name_part) const {
  for (const auto& m : modules()) {
    auto slash = m.path.rfind('/');
    std::string_view base = slash == std::string::npos ? std::string_view(m.path)
                                                       : std::string_view(m.path).substr(slash + 1);
    if (base.find(name_part) != std::string_view::npos) return &m;
  }
  return nullptr;
}

}  // namespace heapscope
