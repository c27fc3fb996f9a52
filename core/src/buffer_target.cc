#include "heapscope/buffer_target.h"

#include <algorithm>

namespace heapscope {

void BufferTarget::add_region(Address at, std::vector<std::byte> bytes, uint8_t perms,
                              std::string path) {
  Region r;
  r.range = {at, at + bytes.size()};
  r.perms = perms;
  r.path = std::move(path);
  std::erase_if(regions_, [&](const Region& x) { return x.range.begin == at; });
  regions_.push_back(r);
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.range.begin < b.range.begin; });
  blocks_[at.value] = std::move(bytes);
}

bool BufferTarget::write(Address at, const void* src, size_t n) {
  auto it = blocks_.upper_bound(at.value);
  if (it == blocks_.begin()) return false;
  --it;
  uint64_t off = at.value - it->first;
  if (off > it->second.size() || n > it->second.size() - off) return false;
  std::memcpy(it->second.data() + off, src, n);
  return true;
}

std::span<const std::byte> BufferTarget::view(Address addr, uint64_t max_size) const {
  auto it = blocks_.upper_bound(addr.value);
  if (it == blocks_.begin()) return {};
  --it;
  uint64_t off = addr.value - it->first;
  if (off >= it->second.size()) return {};
  uint64_t n = std::min<uint64_t>(max_size, it->second.size() - off);
  return {it->second.data() + off, n};
}

}  // namespace heapscope
