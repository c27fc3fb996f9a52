// CallbackTarget: the debugger-callback target and its page cache.
#include "heapscope/callback_target.h"

#include <algorithm>

namespace heapscope {

CallbackTarget::CallbackTarget(ReadFn read, std::vector<Region> regions, std::vector<Thread> threads,
                               std::vector<Module> modules, std::string description)
    : read_(std::move(read)),
      regions_(std::move(regions)),
      threads_(std::move(threads)),
      modules_(std::move(modules)),
      description_(std::move(description)) {
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.range.begin < b.range.begin; });
  // Overlapping regions from a confused front-end: clip, keep sorted.
  for (size_t i = 1; i < regions_.size(); ++i)
    if (regions_[i].range.begin < regions_[i - 1].range.end) regions_[i].range.begin = regions_[i - 1].range.end;
  std::erase_if(regions_, [](const Region& r) { return r.range.empty(); });
  for (auto& t : threads_)
    if (t.stack.empty() && !t.sp.is_null())
      if (const Region* r = find_region(t.sp)) t.stack = r->range;
}

const CallbackTarget::Page& CallbackTarget::fetch(uint64_t page) const {
  if (auto it = pages_.find(page); it != pages_.end()) return it->second;
  static const Page kMissing;
  // How far this run may go: 64 KiB, the region's end, the next cached page.
  uint64_t limit = page + kMaxRun < page ? UINT64_MAX - kPageSize + 1 : page + kMaxRun;
  if (!regions_.empty()) {
    const Region* r = find_region(Address(page));
    if (!r) {
      // The page may start before a region that begins mid-page.
      r = find_region(Address(page + kPageSize - 1));
      if (!r) return pages_.emplace(page, kMissing).first->second;
    }
    if (!r->readable) return pages_.emplace(page, kMissing).first->second;
    limit = std::min(limit, r->range.end.value);
  }
  uint64_t end = page + kPageSize;
  while (end < limit && !pages_.count(end)) end += kPageSize;
  end = std::max(std::min(end, limit), page + 1);
  uint64_t len = end - page;

  auto buf = std::unique_ptr<std::byte[]>(new std::byte[len]);
  ++callbacks_;
  size_t got = std::min<size_t>(read_(page, buf.get(), len), len);
  if (got < len && len > kPageSize && got < kPageSize) {
    // The run failed early (debuggers often fail a whole read for one bad
    // byte): try the first page alone before calling it missing.
    ++callbacks_;
    got = std::min<size_t>(read_(page, buf.get(), kPageSize), kPageSize);
    if (got == kPageSize) {
      len = kPageSize;
      end = page + kPageSize;
    }
  }
  fetched_ += got;
  // Whole pages read are valid; a page the read stopped in is missing; pages
  // after it stay unknown (fetched on their own later).
  uint64_t valid_end = page + (got == len ? len : got & ~(kPageSize - 1));
  const std::byte* base = buf.get();
  runs_.push_back(std::move(buf));
  for (uint64_t p = page; p < valid_end; p += kPageSize) pages_[p] = Page{base + (p - page), valid_end};
  if (valid_end < end && !pages_.count(valid_end)) pages_.emplace(valid_end, kMissing);
  auto it = pages_.find(page);
  return it->second;
}

std::span<const std::byte> CallbackTarget::view(Address addr, uint64_t max_size) const {
  if (max_size == 0) return {};
  std::lock_guard lock(mu_);
  uint64_t page = addr.value & ~(kPageSize - 1);
  if (page != last_page_) {
    last_ = fetch(page);
    last_page_ = page;
  }
  if (!last_.data || addr.value >= last_.valid_end) return {};
  return {last_.data + (addr.value - page), std::min(max_size, last_.valid_end - addr.value)};
}

uint64_t CallbackTarget::callback_count() const {
  std::lock_guard lock(mu_);
  return callbacks_;
}

uint64_t CallbackTarget::bytes_fetched() const {
  std::lock_guard lock(mu_);
  return fetched_;
}

}  // namespace heapscope
