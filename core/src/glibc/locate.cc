#include "glibc/locate.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "glibc/builder.h"
#include "glibc/other_malloc.h"
#include "heapscope/error.h"

namespace heapscope::glibc {
namespace {

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_libc_path(std::string_view path) {
  std::string_view base = base_name(path);
  return (base.starts_with("libc.so") || base.starts_with("libc-2.")) && !is_musl_path(path);
}

// Bytes of a read-only region, for string searches (capped: libc's are a
// few MiB, a hostile core's may claim anything).
std::vector<std::byte> read_text(const Target& target, const Region& r) {
  constexpr uint64_t kMaxText = 64ull << 20;
  std::vector<std::byte> buf;
  if (r.writable() || !r.readable || r.range.size() > kMaxText) return buf;
  buf.resize(r.range.size());
  buf.resize(target.read(r.range.begin, buf));
  return buf;
}

std::string_view as_text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool holds_code(const Target& target, std::string_view path) {
  for (const auto& r : target.regions())
    if (r.path == path && r.executable()) return true;
  return false;
}

// A glibc linked statically: the tunables' environment variable name is in
// every glibc since 2.26, static or not (__libc_start_main reads it).
std::optional<LibcImage> static_glibc(const Target& target) {
  // A budget: a program with no libc.so may map many large files.
  uint64_t budget = 256ull << 20;
  for (const Module& m : target.modules()) {
    if (m.path.empty() || m.path[0] != '/' || !holds_code(target, m.path)) continue;
    for (const auto& r : target.regions()) {
      if (r.path != m.path || r.range.size() > budget) continue;
      budget -= r.range.size();
      std::vector<std::byte> text = read_text(target, r);
      if (as_text(text).find("GLIBC_TUNABLES") == std::string_view::npos) continue;
      LibcImage image{std::string(base_name(m.path)), true, {}};
      for (const auto& q : target.regions())
        if (q.path == m.path) image.regions.push_back(&q);
      return image;
    }
  }
  return std::nullopt;
}

std::vector<AddressRange> data_ranges(const Target& target, const LibcImage& image) {
  std::vector<AddressRange> out;
  std::string_view last;
  for (const Region* r : image.regions) {
    if (r->path == last) continue;
    last = r->path;
    auto more = module_data_ranges(target, r->path);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

// The message when glibc is there but its heap was never set up.
[[noreturn]] void throw_heap_unused(const Target& target, const SymbolResolver& symbols, std::string_view why) {
  if (auto other = find_other_malloc(target, symbols)) throw UserError{other_malloc_message(*other)};
  throw UserError{std::string(why)};
}

// One layout per family of releases whose malloc structures are the same
// (the rows in between differ in nothing the walk reads, or in what the
// data decides: safe-linking). A static executable has no version banner.
struct Family {
  std::string_view row;   // the representative row in the layout table
  std::string_view text;  // the releases it stands for
};
constexpr std::array<Family, 4> kFamilies = {{
    {"2.44", "2.43-2.44"}, {"2.42", "2.42"}, {"2.36", "2.35-2.41"}, {"2.31", "2.31-2.34"}}};

const Layout* row_named(std::string_view name) {
  for (const auto& l : all_layouts())
    if (l.name == name) return &l;
  return nullptr;
}

// The first 8-aligned address in ranges where a `size`-byte structure is accepted.
std::optional<Address> search(const std::vector<AddressRange>& ranges, uint64_t size, auto&& accept) {
  for (const auto& r : ranges)
    for (Address a = r.begin; a < r.end && r.end - a >= size; a += 8)
      if (accept(a)) return a;
  return std::nullopt;
}

// main_arena and mp_ with layout l: by symbol (trusted) or by structure.
// nullopt when the structure finds no arena.
std::optional<Roots> find_roots_with(const Target& target, const SymbolResolver& symbols, const LibcImage& image,
                                     const Layout& l, const std::vector<AddressRange>& ranges) {
  auto arena = symbols.find(image.module, "main_arena");
  auto mp = symbols.find(image.module, "mp_");
  // Trusted, when their bytes are there at all (a truncated core may lack
  // them: then nothing found by symbol or by structure is the heap).
  if (arena && mp && target.read_u64(*arena + l.ms_top) && target.read_u64(*arena + l.ms_system_mem) &&
      target.read_u64(*mp))
    return Roots{*arena, *mp, true};
  // An arena whose system_mem and top agree with each other first; else
  // (one of them smashed: the walk's finding) one that is right in the rest.
  std::optional<Address> found_arena;
  for (bool extent : {true, false}) {
    found_arena = search(ranges, l.ms_size, [&](Address a) {
      // Cheap test first: bin 1 (unsorted) fd is never null once initialised.
      auto fd = target.read_u64(a + l.ms_bins);
      return fd && *fd != 0 && looks_like_main_arena(target, l, a, extent);
    });
    if (found_arena) break;
  }
  if (!found_arena) return std::nullopt;
  auto top = target.read_pointer(*found_arena + l.ms_top);
  auto found_mp = search(ranges, l.mp_size, [&](Address a) { return looks_like_mp(target, l, a, *top); });
  if (!found_mp) throw UserError{"glibc's mp_ (malloc parameters) not found"};
  return Roots{*found_arena, *found_mp, false};
}

// 2.42 has the layouts of 2.35-2.41 but a larger tcache_perthread_struct:
// the first chunk of the main heap (the main thread's tcache) tells them apart.
bool tcache_has_layout(const Target& target, const Layout& l, Address mp) {
  auto sbrk = target.read_pointer(mp + l.mp_sbrk_base);
  if (!sbrk) return false;
  Address first = Address((sbrk->value + 2 * l.size_sz + l.malloc_alignment - 1) & ~(l.malloc_alignment - 1)) -
                  2 * l.size_sz;
  auto size = target.read_u64(first + l.size_sz);
  const uint64_t want = (l.tcache_struct_size + l.size_sz + l.malloc_alignment - 1) & ~(l.malloc_alignment - 1);
  return size && (*size & ~uint64_t{7}) == want;
}

}  // namespace

bool ring_closes(const Target& target, const Layout& l, Address a) {
  // main_arena, then each thread arena, back to main_arena.
  Address next = a;
  for (int i = 0; i < kMaxArenas; ++i) {
    auto n = target.read_pointer(next + l.ms_next);
    if (!n || (n->value & 7)) return false;
    if (*n == a) return true;
    next = *n;
  }
  return false;
}

std::vector<AddressRange> module_data_ranges(const Target& target, std::string_view path) {
  std::vector<AddressRange> out;
  const auto& rs = target.regions();
  // Capped: libc's data and bss are tens of KiB; a hostile core's are not.
  constexpr uint64_t kMaxScan = 4ull << 20;
  auto capped = [&](AddressRange r) {
    if (r.size() > kMaxScan) r.end = r.begin + kMaxScan;
    return r;
  };
  for (size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].path != path || !rs[i].writable()) continue;
    out.push_back(capped(rs[i].range));
    if (i + 1 < rs.size() && rs[i + 1].path.empty() && rs[i + 1].writable() &&
        rs[i + 1].range.begin == rs[i].range.end)
      out.push_back(capped(rs[i + 1].range));
    if (out.size() >= 16) break;
  }
  return out;
}

std::optional<LibcImage> find_libc_image(const Target& target) {
  LibcImage image;
  // Older libcs map as libc-2.NN.so (libc.so.6 is a symlink to it).
  for (const auto& r : target.regions()) {
    if (!is_libc_path(r.path)) continue;
    image.regions.push_back(&r);
    if (r.path.find("/libc-2.") != std::string::npos) image.module = "libc-2.";
  }
  if (image.regions.empty()) return static_glibc(target);
  if (image.module.empty()) image.module = "libc.so";
  return image;
}

std::optional<LibcVersion> read_libc_version(const Target& target, const LibcImage& image) {
  static constexpr std::string_view kBanner = "release version ";
  for (const Region* r : image.regions) {
    std::vector<std::byte> buf = read_text(target, *r);
    std::string_view text = as_text(buf);
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
  for (const Region* r : image.regions) {
    auto p = r->path.rfind("libc-2.");
    if (p == std::string::npos) continue;
    int minor = std::atoi(r->path.c_str() + p + 7);
    if (minor > 0) return LibcVersion{2, minor, "2." + std::to_string(minor)};
  }
  return std::nullopt;
}

bool looks_like_main_arena(const Target& target, const Layout& l, Address a, bool extent_matches) {
  // What glibc relies on in an initialised malloc_state, whatever its bins
  // hold: each bin is empty (fd == bk == the bin itself) or links chunks
  // (aligned, mapped) whose size fits the bin; fastbins are null or
  // aligned; `next` closes the ring of arenas; top lies in the main heap,
  // whose extent is system_mem.
  const uint64_t align = l.malloc_alignment - 1;
  auto bin1 = target.read_value<std::array<uint64_t, 2>>(a + l.ms_bins);
  if (!bin1) return false;
  const uint64_t self1 = a.value + l.ms_bins - 16;
  if (!((*bin1)[0] == self1 && (*bin1)[1] == self1) &&
      ((*bin1)[0] == 0 || (*bin1)[1] == 0 || ((*bin1)[0] & align) || ((*bin1)[1] & align)))
    return false;
  if (l.nbins > 128) return false;
  std::array<uint64_t, 2 * 128 - 2> bins;
  const size_t nwords = static_cast<size_t>(2 * l.nbins - 2);
  if (!target.read_exact(a + l.ms_bins, bins.data(), nwords * 8)) return false;
  int linked = 0, misfits = 0;
  for (int i = 1; i < l.nbins; ++i) {
    uint64_t bin = a.value + l.ms_bins + (i - 1) * 16 - 16;
    uint64_t fd = bins[(i - 1) * 2], bk = bins[(i - 1) * 2 + 1];
    if (fd == bin && bk == bin) continue;
    if (fd == 0 || bk == 0 || (fd & align) || (bk & align)) return false;
    ++linked;
    auto [lo, hi] = bin_size_range(i);
    for (uint64_t c : {fd, bk}) {
      auto size = target.read_u64(Address(c) + l.size_sz);
      uint64_t s = size ? *size & ~uint64_t{7} : 0;
      if (!size || s < std::max(lo, l.min_chunk) || s > hi) ++misfits;
    }
  }
  // A corrupted chunk or two is the walk's finding, not a reason to miss
  // the arena; a region of unrelated pointers fits no bin at all.
  if (misfits > 2 + linked / 4) return false;
  for (int i = 0; i < l.nfastbins; ++i) {
    auto p = target.read_u64(a + l.ms_fastbins + 8 * static_cast<uint64_t>(i));
    if (!p || (*p & align) || (*p && !target.is_mapped(Address(*p)))) return false;
  }
  if (!ring_closes(target, l, a)) return false;
  auto top = target.read_pointer(a + l.ms_top);
  auto system_mem = target.read_u64(a + l.ms_system_mem);
  if (!top || !system_mem || *system_mem == 0 || (top->value & align)) return false;
  const Region* heap = target.find_region(*top);
  if (!heap || !heap->writable()) return false;
  // The main heap runs from mp_.sbrk_base to top's end: system_mem bytes.
  // With top's size smashed, the heap's mapping still bounds system_mem.
  if (!extent_matches) return true;
  auto top_size = target.read_u64(*top + l.size_sz);
  if (top_size) {
    uint64_t end = top->value + (*top_size & ~uint64_t{7});
    if (end >= top->value && end - heap->range.begin.value >= *system_mem && end <= heap->range.end.value &&
        end - *system_mem <= top->value)
      return true;
  }
  return *system_mem <= heap->range.size();
}

bool looks_like_mp(const Target& target, const Layout& l, Address a, Address main_top) {
  auto sbrk = target.read_pointer(a + l.mp_sbrk_base);
  if (!sbrk || sbrk->is_null() || !target.is_mapped(*sbrk)) return false;
  // The main heap starts at sbrk_base and holds the main arena's top (unless
  // brk failed and the main arena lives in mmapped memory: not handled here).
  const Region* heap_region = target.find_region(*sbrk);
  if (!heap_region || !heap_region->range.contains(main_top) || *sbrk > main_top) return false;
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

Located locate_glibc(const Target& target, const SymbolResolver& symbols) {
  auto image = find_libc_image(target);
  if (!image) {
    if (auto other = find_other_malloc(target, symbols)) throw UserError{other_malloc_message(*other)};
    throw UserError{"no glibc found in the target (no libc.so mapping, nor a glibc linked into the program)"};
  }
  Located out{*image, {}, {}, {}};
  const auto ranges = data_ranges(target, *image);
  if (!image->linked_statically) {
    auto version = read_libc_version(target, *image);
    if (!version) {
      if (auto other = find_other_malloc(target, symbols)) throw UserError{other_malloc_message(*other)};
      throw UserError{"no glibc found in the target (no libc version string in its memory)"};
    }
    out.version = *version;
    out.layout = layout_for_version(version->major, version->minor);
    auto roots = find_roots_with(target, symbols, *image, *out.layout.layout, ranges);
    if (!roots) throw_heap_unused(target, symbols, "glibc's main_arena not found (the program may not have used malloc yet)");
    out.roots = *roots;
  } else {
    // No version banner: the family whose layout the arena and mp_ fit. A
    // root found by symbol is trusted; only its layout is asked of it.
    for (const Family& f : kFamilies) {
      const Layout* l = row_named(f.row);
      if (!l) continue;
      auto roots = find_roots_with(target, symbols, *image, *l, ranges);
      if (!roots || !ring_closes(target, *l, roots->main_arena)) continue;
      auto top = target.read_pointer(roots->main_arena + l->ms_top);
      if (!top || !looks_like_mp(target, *l, roots->mp, *top)) continue;
      if (f.row == "2.42" && !tcache_has_layout(target, *l, roots->mp)) continue;
      out.version = LibcVersion{l->major, l->minor, std::string(f.text)};
      out.layout = {l, true};
      out.roots = *roots;
      break;
    }
    if (!out.layout.layout)
      throw_heap_unused(target, symbols,
                        symbols.find(image->module, "main_arena")
                            ? "glibc's malloc was never used in this process (main_arena is not initialised)"
                            : "glibc's main_arena not found in the executable (glibc is linked statically; the "
                              "program may not have used malloc yet)");
  }
  // A root found by symbol is trusted; only an arena malloc never set up
  // is no heap at all: its top is null until malloc's first call, and its
  // system_mem 0 until the first allocation (malloc_info or mallopt set it
  // up without allocating), unless only other arenas or mmap were used.
  const Layout& l = *out.layout.layout;
  const Address arena = out.roots.main_arena;
  auto top = target.read_u64(arena + l.ms_top);
  auto system_mem = target.read_u64(arena + l.ms_system_mem);
  auto next = target.read_pointer(arena + l.ms_next);
  auto n_mmaps = target.read_value<int32_t>(out.roots.mp + l.mp_n_mmaps);
  if ((top && *top == 0) || (system_mem && *system_mem == 0 && next && *next == arena && n_mmaps && *n_mmaps == 0))
    throw_heap_unused(target, symbols, "glibc's malloc was never used in this process (main_arena is not initialised)");
  return out;
}

}  // namespace heapscope::glibc
