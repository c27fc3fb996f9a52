#include "glibc/locate.h"

#include <algorithm>
#include <array>
#include <span>
#include <cstring>
#include <string_view>
#include <vector>

#include "heapscope/error.h"

namespace heapscope::glibc {
namespace {

bool is_libc_path(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return base.starts_with("libc.so") || base.starts_with("libc-2.");
}

std::vector<const Region*> libc_regions(const Target& target) {
  std::vector<const Region*> out;
  for (const auto& r : target.regions())
    if (is_libc_path(r.path)) out.push_back(&r);
  return out;
}

// The writable memory glibc's statics live in: libc's own rw mapping and the
// anonymous bss right after it.
std::vector<AddressRange> libc_data_ranges(const Target& target) {
  std::vector<AddressRange> out;
  const auto& rs = target.regions();
  // Capped: libc's data and bss are tens of KiB; a hostile core's are not.
  constexpr uint64_t kMaxScan = 4ull << 20;
  auto capped = [&](AddressRange r) {
    if (r.size() > kMaxScan) r.end = r.begin + kMaxScan;
    return r;
  };
  for (size_t i = 0; i < rs.size(); ++i) {
    if (!is_libc_path(rs[i].path) || !rs[i].writable()) continue;
    out.push_back(capped(rs[i].range));
    if (i + 1 < rs.size() && rs[i + 1].path.empty() && rs[i + 1].writable() &&
        rs[i + 1].range.begin == rs[i].range.end)
      out.push_back(capped(rs[i + 1].range));
    if (out.size() >= 16) break;
  }
  return out;
}

}  // namespace

std::optional<LibcVersion> read_libc_version(const Target& target) {
  static constexpr std::string_view kBanner = "release version ";
  std::vector<std::byte> buf;
  for (const Region* r : libc_regions(target)) {
    if (r->writable() || r->range.size() > (64ull << 20)) continue;
    buf.resize(r->range.size());
    size_t n = target.read(r->range.begin, buf);
    std::string_view text(reinterpret_cast<const char*>(buf.data()), n);
    size_t pos = 0;
    while ((pos = text.find(kBanner, pos)) != std::string_view::npos) {
      pos += kBanner.size();
      int major = 0, minor = 0;
      size_t i = pos;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
        major = major * 10 + (text[i++] - '0');
      if (i >= text.size() || text[i] != '.' || major == 0 || major > 9) continue;
      ++i;
      size_t minor_start = i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - minor_start < 3)
        minor = minor * 10 + (text[i++] - '0');
      if (i == minor_start) continue;
      return LibcVersion{major, minor, std::to_string(major) + "." + std::to_string(minor)};
    }
  }
  // Old libcs carry the version in their file name (libc-2.31.so).
  for (const Region* r : libc_regions(target)) {
    auto p = r->path.rfind("libc-2.");
    if (p == std::string::npos) continue;
    int minor = std::atoi(r->path.c_str() + p + 7);
    if (minor > 0) return LibcVersion{2, minor, "2." + std::to_string(minor)};
  }
  return std::nullopt;
}

bool looks_like_main_arena(const Target& target, const Layout& l, Address a) {
  // An initialised malloc_state: every bin is either empty (fd == bk == the
  // bin itself) or points into mapped memory, and most bins are empty in a
  // live program's main arena; next is a mapped address (itself when alone).
  // Cheap test first, as the structural search calls this at every 8 bytes
  // of libc's data: the unsorted bin is empty (fd == bk == itself) or links
  // two aligned, non-null pointers.
  auto bin1 = target.read_value<std::array<uint64_t, 2>>(a + l.ms_bins);
  if (!bin1) return false;
  const uint64_t self1 = a.value + l.ms_bins - 16;
  if (!((*bin1)[0] == self1 && (*bin1)[1] == self1) &&
      ((*bin1)[0] == 0 || (*bin1)[1] == 0 || ((*bin1)[0] & 7) || ((*bin1)[1] & 7)))
    return false;
  std::array<uint64_t, 2 * 128 - 2> storage;
  if (l.nbins > 128) return false;
  std::span<uint64_t> bins(storage.data(), static_cast<size_t>(2 * l.nbins - 2));
  if (!target.read_exact(a + l.ms_bins, bins.data(), bins.size() * 8)) return false;
  int self = 0;
  for (int i = 1; i < l.nbins; ++i) {
    uint64_t bin = a.value + l.ms_bins + (i - 1) * 16 - 16;
    uint64_t fd = bins[(i - 1) * 2], bk = bins[(i - 1) * 2 + 1];
    if (fd == bin && bk == bin) {
      ++self;
    } else if (fd == 0 || bk == 0 || (fd & 7) || (bk & 7)) {
      return false;
    }
  }
  if (self < l.nbins / 4) return false;
  auto next = target.read_pointer(a + l.ms_next);
  if (!next || (next->value != a.value && !target.is_mapped(*next))) return false;
  auto top = target.read_pointer(a + l.ms_top);
  if (!top || !target.is_mapped(*top)) return false;
  // system_mem is a page multiple when the program break starts on a page
  // (the kernel's; a hostile size is the walker's finding, not a reason to
  // miss the arena); qemu-user starts it at the executable's unaligned end of
  // bss, and glibc's main heap then spans a fraction of a page more.
  auto system_mem = target.read_u64(a + l.ms_system_mem);
  return system_mem && *system_mem > 0 && (*system_mem % 4096 == 0 || *system_mem < (1ull << 47));
}

bool looks_like_mp(const Target& target, const Layout& l, Address a, Address main_top) {
  auto sbrk = target.read_pointer(a + l.mp_sbrk_base);
  if (!sbrk || sbrk->is_null() || !target.is_mapped(*sbrk)) return false;
  // The main heap starts at sbrk_base and holds the main arena's top (unless
  // brk failed and the main arena lives in mmapped memory: not handled here).
  const Region* heap_region = target.find_region(*sbrk);
  if (!heap_region || !heap_region->range.contains(main_top)) return false;
  auto arena_test = target.read_u64(a + l.mp_arena_test);
  if (!arena_test || *arena_test == 0 || *arena_test > 4096) return false;
  auto trim = target.read_u64(a + l.mp_trim_threshold);
  auto mmap_threshold = target.read_u64(a + l.mp_mmap_threshold);
  if (!trim || !mmap_threshold || *mmap_threshold == 0 || *mmap_threshold > (64ull << 20))
    return false;
  if (l.has_tcache && l.mp_tcache_bins >= 0) {
    auto bins = target.read_u64(a + static_cast<uint64_t>(l.mp_tcache_bins));
    if (!bins || *bins > 64) return false;
  }
  return true;
}

Roots locate_roots(const Target& target, const SymbolResolver& symbols, const Layout& l) {
  Roots roots;
  // Older libcs map as libc-2.NN.so (libc.so.6 is a symlink to it).
  bool versioned_name = false;
  for (const Region* r : libc_regions(target))
    versioned_name = versioned_name || r->path.find("/libc-2.") != std::string::npos;
  const char* module = versioned_name ? "libc-2." : "libc.so";
  auto arena = symbols.find(module, "main_arena");
  auto mp = symbols.find(module, "mp_");
  if (arena && mp && looks_like_main_arena(target, l, *arena)) {
    roots.main_arena = *arena;
    roots.mp = *mp;
    roots.by_symbols = true;
    return roots;
  }
  auto ranges = libc_data_ranges(target);
  if (ranges.empty()) throw UserError{"no glibc found in the target (no libc.so mapping)"};
  std::optional<Address> found_arena;
  for (const auto& r : ranges) {
    for (Address a = r.begin; a + l.ms_size <= r.end && !found_arena; a += 16) {
      // Cheap test first: bin 1 (unsorted) fd/bk either self or non-null.
      auto fd = target.read_u64(a + l.ms_bins);
      if (!fd || *fd == 0) continue;
      if (looks_like_main_arena(target, l, a)) found_arena = a;
    }
    // main_arena is 32-byte aligned in practice; the 16-step covers 8-aligned? no:
    // malloc_state has pointer alignment only, so also try the odd 8 offsets.
    for (Address a = r.begin + 8; a + l.ms_size <= r.end && !found_arena; a += 16) {
      auto fd = target.read_u64(a + l.ms_bins);
      if (!fd || *fd == 0) continue;
      if (looks_like_main_arena(target, l, a)) found_arena = a;
    }
  }
  if (!found_arena)
    throw UserError{"glibc's main_arena not found (the program may not have used malloc yet)"};
  auto top = target.read_pointer(*found_arena + l.ms_top);
  std::optional<Address> found_mp;
  for (const auto& r : ranges) {
    for (Address a = r.begin; a + l.mp_size <= r.end && !found_mp; a += 8)
      if (looks_like_mp(target, l, a, *top)) found_mp = a;
  }
  if (!found_mp) throw UserError{"glibc's mp_ (malloc parameters) not found"};
  roots.main_arena = *found_arena;
  roots.mp = *found_mp;
  return roots;
}

}  // namespace heapscope::glibc
