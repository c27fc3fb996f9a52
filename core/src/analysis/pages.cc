#include "heapscope/analysis/pages.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "targets/dump_layout.h"
#include "targets/page_size.h"

namespace heapscope {

PagemapEntry decode_pagemap_entry(uint64_t raw) {
  PagemapEntry e;
  e.raw = raw;
  e.present = raw >> 63 & 1;
  e.swapped = raw >> 62 & 1;
  e.file_or_shared = raw >> 61 & 1;
  e.exclusive = raw >> 56 & 1;
  e.soft_dirty = raw >> 55 & 1;
  if (e.present) {
    e.pfn = raw & ((1ull << 55) - 1);
  } else if (e.swapped) {
    e.swap_type = raw & 0x1f;
    e.swap_offset = (raw >> 5) & ((1ull << 50) - 1);
  }
  return e;
}

void PageCounts::add(PageState s, uint64_t pages) {
  switch (s) {
    case PageState::kPresent: present += pages; break;
    case PageState::kSwapped: swapped += pages; break;
    case PageState::kAbsent: absent += pages; break;
    case PageState::kZero: zero += pages; break;
    case PageState::kUnknown: unknown += pages; break;
  }
}

void Residency::set_mapped(std::vector<AddressRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  mapped_ = std::move(ranges);
}

void PageCounts::add(const PageCounts& o) {
  present += o.present, swapped += o.swapped, absent += o.absent, zero += o.zero, unknown += o.unknown;
}

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// ------------------------------------------------------------ live: pagemap

class PagemapResidency : public Residency {
 public:
  PagemapResidency(int fd, uint64_t page_size, std::optional<uint64_t> zero_pfn)
      : fd_(fd), ps_(page_size), zero_pfn_(zero_pfn) {}

  PageState classify(const PagemapEntry& e) const {
    if (e.swapped) return PageState::kSwapped;
    if (!e.present) return PageState::kAbsent;
    if (e.file_or_shared) return PageState::kPresent;
    if (e.pfn != 0) return zero_pfn_ && e.pfn == *zero_pfn_ ? PageState::kZero : PageState::kPresent;
    // Frame numbers hidden: an anonymous page mapped more than once is the
    // zero page (or, after fork, shared with another process).
    return e.exclusive ? PageState::kPresent : PageState::kZero;
  }

  std::vector<PageState> states(Address first_page, uint64_t n) const override {
    std::vector<PageState> out;
    out.reserve(n);
    std::vector<uint64_t> buf;
    uint64_t done = 0;
    while (done < n) {
      uint64_t batch = std::min<uint64_t>(n - done, 1 << 16);
      buf.assign(batch, 0);
      uint64_t page_index = first_page.value / ps_ + done;
      ssize_t got = ::pread(fd_.get(), buf.data(), batch * 8, static_cast<off_t>(page_index * 8));
      uint64_t entries = got > 0 ? static_cast<uint64_t>(got) / 8 : 0;
      for (uint64_t i = 0; i < batch; ++i) {
        if (i >= entries) {
          out.push_back(PageState::kUnknown);
          continue;
        }
        out.push_back(classify(decode_pagemap_entry(buf[i])));
      }
      done += batch;
    }
    return out;
  }

  bool live() const override { return true; }
  uint64_t page_size() const override { return ps_; }

  std::vector<std::string> notes() const override {
    std::vector<std::string> n{
        "absent pages were never touched or were released (madvise, e.g. by malloc_trim); "
        "/proc/PID/pagemap cannot tell which",
        "zero pages were read but never written (heapscope's own reads do that to untouched "
        "pages): they map the kernel's shared zero page and hold no memory"};
    if (!zero_pfn_)
      n.push_back("frame numbers read as zero (they need CAP_SYS_ADMIN): an anonymous page mapped "
                  "by more than one process (shared after fork) counts as a zero page");
    return n;
  }

  std::optional<PagemapEntry> entry(Address a) const override {
    uint64_t raw = 0;
    if (::pread(fd_.get(), &raw, 8, static_cast<off_t>(a.value / ps_ * 8)) != 8) return std::nullopt;
    return decode_pagemap_entry(raw);
  }

 private:
  Fd fd_;
  uint64_t ps_;
  std::optional<uint64_t> zero_pfn_;
};

// The zero page's frame number: read a fresh private page of our own (a read
// fault maps the zero page) and look it up in our pagemap. Nothing without
// CAP_SYS_ADMIN (frame numbers read as zero).
std::optional<uint64_t> find_zero_pfn(uint64_t ps) {
  void* m = ::mmap(nullptr, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return std::nullopt;
  volatile const char* p = static_cast<const char*>(m);
  (void)*p;
  std::optional<uint64_t> pfn;
  Fd fd(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  uint64_t raw = 0;
  if (fd.get() >= 0 &&
      ::pread(fd.get(), &raw, 8, static_cast<off_t>(reinterpret_cast<uint64_t>(m) / ps * 8)) == 8) {
    PagemapEntry e = decode_pagemap_entry(raw);
    if (e.present && e.pfn) pfn = e.pfn;
  }
  ::munmap(m, ps);
  return pfn;
}

// ------------------------------------------------------------ core: holes

class CoreResidency : public Residency {
 public:
  CoreResidency(targets::DumpLayout layout, uint64_t page_size) : layout_(std::move(layout)), page_(page_size) {}

  std::vector<PageState> states(Address first_page, uint64_t n) const override {
    std::vector<PageState> out;
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(state(first_page.value + i * page_));
    return out;
  }
  bool live() const override { return false; }
  uint64_t page_size() const override { return page_; }

  std::vector<std::string> notes() const override {
    std::vector<std::string> n{
        "a core file cannot tell swapped pages from resident ones (the kernel reads swapped "
        "pages back to dump them) and has no frame numbers"};
    if (layout_.holes_known)
      n.push_back("pages not in the dump are holes the kernel skipped: never touched, or released "
                  "(madvise) and not touched since");
    else
      n.push_back("cannot tell which pages were never touched: " + layout_.why_not);
    return n;
  }

 private:
  PageState state(uint64_t va) const {
    const auto& segs = layout_.segments;
    auto it = std::upper_bound(segs.begin(), segs.end(), va,
                               [](uint64_t v, const targets::DumpedSegment& l) { return v < l.vaddr; });
    if (it == segs.begin()) return PageState::kUnknown;
    --it;
    if (va - it->vaddr >= it->memsz) return PageState::kUnknown;
    uint64_t rel = va - it->vaddr;
    if (rel + page_ > it->filesz) return PageState::kUnknown;  // not dumped at all (e.g. file-backed text)
    if (!layout_.holes_known) return PageState::kUnknown;
    uint64_t off = it->offset + rel;
    // In a data extent: in the dump. In a hole: skipped by the kernel.
    const auto& data = layout_.data;
    auto d = std::upper_bound(data.begin(), data.end(), off,
                              [](uint64_t o, const std::pair<uint64_t, uint64_t>& e) { return o < e.first; });
    if (d != data.begin()) {
      --d;
      if (off < d->second) return PageState::kPresent;
    }
    return PageState::kAbsent;
  }

  targets::DumpLayout layout_;
  uint64_t page_;
};

}  // namespace

Result<std::unique_ptr<Residency>> open_pagemap(int pid, uint64_t page_size) {
  std::string path = fmt::format("/proc/{}/pagemap", pid);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Error{fmt::format("cannot open {}: {}", path, std::strerror(errno))};
  return std::unique_ptr<Residency>(new PagemapResidency(fd, page_size, find_zero_pfn(page_size)));
}

Result<std::unique_ptr<Residency>> open_residency(const Target& target) {
  // A core file names its process's pid too: the core comes first.
  const uint64_t ps = targets::page_size(target);
  std::vector<AddressRange> mapped;
  for (const Region& r : target.regions()) mapped.push_back(r.range);
  if (target.core_path()) {
    auto layout = targets::target_dump_layout(target);
    if (!layout) return layout.error();
    std::unique_ptr<Residency> res(new CoreResidency(std::move(*layout), ps));
    res->set_mapped(std::move(mapped));
    return res;
  }
  if (auto pid = target.pid()) {
    // Only a process on this machine has a pagemap we can read.
    auto r = open_pagemap(*pid, ps);
    if (!r) return Error{r.error().message + " (page residency needs a local live process)"};
    (*r)->set_mapped(std::move(mapped));
    return r;
  }
  return Error{"page residency needs a local live process (/proc/PID/pagemap) or an ELF core file; "
               "this target is neither"};
}

// ------------------------------------------------------------ reports

namespace {

struct Span {
  int arena;
  AddressRange range;
  bool sbrk;
};

std::vector<Span> heap_regions(const glibc::Heap& heap, std::optional<int> arena, uint64_t ps) {
  std::vector<Span> out;
  auto page_range = [&](AddressRange r) {
    return AddressRange{r.begin.align_down(ps), Address((r.end.value + ps - 1) & ~(ps - 1))};
  };
  for (const auto& a : heap.arenas) {
    if (arena && a.index != *arena) continue;
    for (const auto& h : a.heaps) out.push_back({a.index, page_range(h.range), a.main});
  }
  if (!arena)
    for (const auto& c : heap.blocks)
      if (c.kind == glibc::ChunkState::kMmapped)
        out.push_back({glibc::kMmappedArena, page_range({c.address, c.end()}), false});
  std::sort(out.begin(), out.end(), [](const Span& x, const Span& y) { return x.range.begin < y.range.begin; });
  return out;
}

// Counts the states of the pages of r (page-aligned) into `into`: those in
// the target's mapped ranges asked from `res` a bounded piece at a time, the
// rest unknown at once.
void count_pages(const Residency& res, AddressRange r, PageCounts& into, const CancelToken& cancel) {
  const uint64_t ps = res.page_size();
  constexpr uint64_t kPiece = uint64_t{1} << 20;  // pages per request
  auto ask = [&](Address b, Address e) {
    while (b < e) {
      check_cancel(cancel);
      const uint64_t n = std::min<uint64_t>((e.value - b.value) / ps, kPiece);
      for (PageState s : res.states(b, n)) into.add(s);
      b = b + n * ps;
    }
  };
  if (!res.mapped()) return ask(r.begin, r.end);
  uint64_t asked = 0;
  Address done = r.begin;
  for (const AddressRange& m : *res.mapped()) {
    const Address b = std::max({done, r.begin, m.begin.align_down(ps)});
    const Address e = std::min(r.end, Address((m.end.value + ps - 1) & ~(ps - 1)));
    if (b >= e) continue;
    ask(b, e);
    asked += (e.value - b.value) / ps;
    done = e;
  }
  into.add(PageState::kUnknown, r.size() / ps - asked);
}

// /proc/kpageflags bit names (Documentation/admin-guide/mm/pagemap.rst).
const char* const kKpageflagNames[] = {
    "LOCKED", "ERROR", "REFERENCED", "UPTODATE", "DIRTY", "LRU", "ACTIVE", "SLAB",
    "WRITEBACK", "RECLAIM", "BUDDY", "MMAP", "ANON", "SWAPCACHE", "SWAPBACKED", "COMPOUND_HEAD",
    "COMPOUND_TAIL", "HUGE", "UNEVICTABLE", "HWPOISON", "NOPAGE", "KSM", "THP", "OFFLINE",
    "ZERO_PAGE", "IDLE", "PGTABLE"};

}  // namespace

PagesReport compute_pages(const Residency& res, const glibc::Heap& heap, const FragReport& frag,
                          std::optional<int> arena, const CancelToken& cancel) {
  PagesReport r;
  r.live = res.live();
  r.page_size = res.page_size();
  r.notes = res.notes();
  const uint64_t ps = r.page_size;
  for (const Span& s : heap_regions(heap, arena, ps)) {
    check_cancel(cancel);
    RegionPages rp;
    rp.arena = s.arena;
    rp.range = s.range;
    rp.sbrk = s.sbrk && s.arena >= 0 && heap.arenas[static_cast<size_t>(s.arena)].main;
    count_pages(res, s.range, rp.pages, cancel);
    // The pages malloc_trim(0) would release inside this region.
    for (const TrimRange& t : frag.trim_ranges) {
      if (t.arena != s.arena || t.range.end <= s.range.begin || t.range.begin >= s.range.end) continue;
      Address b = std::max(t.range.begin, s.range.begin), e = std::min(t.range.end, s.range.end);
      count_pages(res, {b.align_down(ps), Address((e.value + ps - 1) & ~(ps - 1))}, rp.trim_pages, cancel);
    }
    r.total.add(rp.pages);
    r.trim_total.add(rp.trim_pages);
    r.regions.push_back(rp);
  }
  return r;
}

std::optional<OsPage> os_page(const Target& target, Address a) {
  if (!target.pid() || target.core_path()) return std::nullopt;
  const uint64_t ps = targets::page_size(target);
  auto res = open_pagemap(*target.pid(), ps);
  if (!res) return std::nullopt;
  auto e = (*res)->entry(a);
  if (!e) return std::nullopt;
  return OsPage{*e, ps};
}

PagesReport page_of_address(const Residency& res, const glibc::Heap& heap, const FragReport& frag,
                            Address addr) {
  PagesReport r;
  r.live = res.live();
  r.page_size = res.page_size();
  r.notes = res.notes();
  AddressPage ap;
  ap.address = addr;
  ap.page = addr.align_down(r.page_size);
  ap.state = res.states(ap.page, 1).at(0);
  ap.entry = res.entry(ap.page);
  if (ap.entry && ap.entry->present && ap.entry->pfn == 0) ap.pfn_hidden = true;
  if (ap.entry && ap.entry->present && ap.entry->pfn != 0) {
    Fd kf(::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC));
    uint64_t flags = 0;
    if (kf.get() >= 0 &&
        ::pread(kf.get(), &flags, 8, static_cast<off_t>(ap.entry->pfn * 8)) == 8) {
      ap.kpageflags = flags;
      for (size_t b = 0; b < std::size(kKpageflagNames); ++b)
        if (flags >> b & 1) ap.kpageflag_names.emplace_back(kKpageflagNames[b]);
    }
  }
  ap.chunk = heap.chunk_containing(addr);
  for (const TrimRange& t : frag.trim_ranges)
    if (t.range.contains(ap.page)) ap.in_trim_range = true;
  r.address = ap;
  return r;
}

ModelPagesReport compute_model_pages(const Residency& res, const HeapModel& heap, const CancelToken& cancel) {
  ModelPagesReport r;
  r.live = res.live();
  r.page_size = res.page_size();
  r.notes = res.notes();
  const uint64_t ps = r.page_size;
  // System ranges that share a page are counted once: merge after rounding.
  std::vector<AddressRange> ranges;
  for (const AddressRange& s : heap.system) {
    AddressRange p{s.begin.align_down(ps), Address((s.end.value + ps - 1) & ~(ps - 1))};
    if (!ranges.empty() && p.begin <= ranges.back().end) ranges.back().end = std::max(ranges.back().end, p.end);
    else ranges.push_back(p);
  }
  auto resident = [](PageState s) { return s == PageState::kPresent || s == PageState::kSwapped; };
  for (const AddressRange& range : ranges) {
    check_cancel(cancel);
    ModelRegionPages rp;
    rp.range = range;
    std::vector<PageState> st = res.states(range.begin, range.size() / ps);
    for (PageState p : st) rp.pages.add(p);
    auto first = std::lower_bound(heap.blocks.begin(), heap.blocks.end(), range.begin,
                                  [](const Block& b, Address a) { return b.address < a; });
    if (first != heap.blocks.end() && first->address < range.end) rp.owner = first->owner;
    uint64_t walked = 0;
    for (auto b = first; b != heap.blocks.end() && b->address < range.end; ++b) {
      if ((++walked & 0xffff) == 0) check_cancel(cancel);
      StatePages& sp = r.states[static_cast<size_t>(heap.state(*b))];
      const uint64_t begin = b->address.value, end = std::min(b->end().value, range.end.value);
      sp.bytes += b->size;
      for (uint64_t page = begin & ~(ps - 1); page < end; page += ps) {
        uint64_t i = (page - range.begin.value) / ps;
        if (i < st.size() && resident(st[i]))
          sp.resident_bytes += std::min(end, page + ps) - std::max(begin, page);
      }
    }
    r.total.add(rp.pages);
    r.regions.push_back(rp);
  }
  return r;
}

}  // namespace heapscope
