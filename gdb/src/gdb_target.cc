#include "gdb_target.h"

#include <algorithm>

namespace heapscope::gdbfe {

void fill_stacks(const std::vector<Region>& regions, std::vector<Thread>& threads) {
  for (auto& t : threads) {
    if (!t.stack.empty()) continue;
    auto it = std::upper_bound(regions.begin(), regions.end(), t.sp,
                               [](Address a, const Region& r) { return a < r.range.begin; });
    if (it != regions.begin() && std::prev(it)->range.contains(t.sp)) t.stack = std::prev(it)->range;
  }
}

ThreadsFromDebugger::ThreadsFromDebugger(std::unique_ptr<Target> inner, std::vector<Thread> threads)
    : inner_(std::move(inner)), threads_(std::move(threads)) {
  fill_stacks(inner_->regions(), threads_);
}

DebuggerReadTarget::DebuggerReadTarget(ReadFn read, std::vector<Region> regions,
                                       bool regions_complete, std::vector<Thread> threads,
                                       std::vector<Module> modules, std::optional<int> pid,
                                       std::string description)
    : read_(std::move(read)),
      regions_(std::move(regions)),
      regions_complete_(regions_complete && !regions_.empty()),
      threads_(std::move(threads)),
      modules_(std::move(modules)),
      pid_(pid),
      description_(std::move(description)) {
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.range.begin < b.range.begin; });
  fill_stacks(regions_, threads_);
}

const std::string& DebuggerReadTarget::load_page(uint64_t page) const {
  if (auto it = pages_.find(page); it != pages_.end()) return it->second;
  // Read ahead to the end of the block or of the region, whichever is first.
  uint64_t end = (page & ~(kBlock - 1)) + kBlock;
  if (end < page) end = page + kPage;  // wrapped at the top of the address space
  if (const Region* r = find_region(Address(page))) {
    end = std::min(end, std::max(r->range.end.value, page + kPage));
  } else if (regions_complete_) {
    return pages_[page];  // empty: no mapping there
  }
  std::optional<std::string> bytes;
  if (end - page > kPage) {
    ++reads_;
    bytes = read_(page, end - page);
    if (bytes && bytes->size() != end - page) bytes.reset();
  }
  if (!bytes) {  // one page at a time: a block may straddle an unreadable page
    end = page + kPage;
    ++reads_;
    bytes = read_(page, kPage);
    if (bytes && bytes->size() != kPage) bytes.reset();
  }
  if (!bytes) return pages_[page];
  for (uint64_t p = page; p < end; p += kPage) {
    auto [it, inserted] = pages_.try_emplace(p);
    if (inserted) it->second.assign(*bytes, p - page, kPage);
  }
  return pages_[page];
}

std::span<const std::byte> DebuggerReadTarget::view(Address addr, uint64_t max_size) const {
  if (max_size == 0) return {};
  uint64_t page = addr.value & ~(kPage - 1);
  const std::string& bytes = load_page(page);
  if (bytes.empty()) return {};
  uint64_t off = addr.value - page;
  uint64_t n = std::min<uint64_t>(max_size, kPage - off);
  return {reinterpret_cast<const std::byte*>(bytes.data() + off), n};
}

}  // namespace heapscope::gdbfe
