#include "tcmalloc/roots.h"

#include <fmt/format.h>

#include <cstring>
#include <unordered_set>

#include "glibc/locate.h"  // module_data_ranges
#include "heapscope/error.h"

namespace heapscope::tcmalloc {

namespace {

constexpr std::string_view kSizemapSymbol = "_ZN8tcmalloc6Static8sizemap_E";
constexpr std::string_view kCentralSymbol = "_ZN8tcmalloc6Static14central_cache_E";
constexpr std::string_view kPageheapSymbol = "_ZN8tcmalloc6Static9pageheap_E";
constexpr std::string_view kThreadHeapsSymbol = "_ZN8tcmalloc11ThreadCache13thread_heaps_E";
constexpr std::string_view kThreadcacheAllocatorSymbol = "_ZN8tcmalloc21threadcache_allocatorE";
constexpr std::string_view kSystemTakenSymbol = "TCMalloc_SystemTaken";
constexpr std::string_view kInitedSymbol = "_ZN8tcmalloc6Static7inited_E";
constexpr std::string_view kExtensionVtableSymbol = "_ZTV15MallocExtension";

// TC_VERSION_STRING, "gperftools 2.10", in the library's read-only data.
std::string version_in(std::string_view bytes) {
  constexpr std::string_view kPrefix = "gperftools ";
  for (size_t at = bytes.find(kPrefix); at != std::string_view::npos; at = bytes.find(kPrefix, at + 1)) {
    size_t b = at + kPrefix.size(), e = b;
    while (e < bytes.size() && ((bytes[e] >= '0' && bytes[e] <= '9') || bytes[e] == '.')) ++e;
    if (e > b && e < bytes.size() && bytes[e] == '\0' && (at == 0 || bytes[at - 1] == '\0'))
      return std::string(bytes.substr(b, e - b));
  }
  return {};
}

std::string read_version(const Target& target, const Module& mod, const CancelToken& cancel) {
  for (const auto& range : mod.ranges) {
    const Region* region = target.find_region(range.begin);
    if (!region || region->writable() || region->executable() || range.size() > (64u << 20)) continue;
    std::string bytes(range.size(), '\0');
    bytes.resize(target.read(range.begin, std::as_writable_bytes(std::span(bytes))));
    check_cancel(cancel);
    if (auto v = version_in(bytes); !v.empty()) return v;
  }
  return {};
}

// The module's writable data and bss, adjacent pieces merged: the page heap
// (1.5 MiB) may start in the file's last page and go on in the bss.
std::vector<AddressRange> data_of(const Target& target, const Module& mod) {
  std::vector<AddressRange> out;
  for (AddressRange r : glibc::module_data_ranges(target, mod.path)) {
    if (!out.empty() && out.back().end == r.begin) out.back().end = r.end;
    else out.push_back(r);
  }
  return out;
}

constexpr int kMaxDamagedRootEntries = 4;
constexpr int kSpansAskedPerLeaf = 16;

class Finder {
 public:
  Finder(const Target& t, const Layout& l, const CancelToken& c) : target_(t), l_(l), cancel_(c) {}

  std::optional<int32_t> i32(Address a) const { return target_.read_value<int32_t>(a); }
  std::optional<uint64_t> u64(Address a) const { return target_.read_u64(a); }

  // A size map: class 0 is 0 bytes, then 8, 16, ... increasing to at most
  // kMaxSize, as many as num_size_classes says.
  bool sizemap_plausible(Address sizemap) const {
    auto n = u64(sizemap + l_.sizemap_num_size_classes);
    if (!n || *n < 3 || *n > uint64_t(l_.class_sizes_max)) return false;
    int32_t last = -1;
    for (uint64_t c = 0; c < *n; ++c) {
      auto size = i32(sizemap + l_.sizemap_class_to_size + 4 * c);
      auto pages = u64(sizemap + l_.sizemap_class_to_pages + 8 * c);
      if (!size || !pages || *size <= last || uint64_t(*size) > l_.max_size) return false;
      if (c > 0 && (*pages == 0 || *pages > 256)) return false;
      last = *size;
    }
    return i32(sizemap + l_.sizemap_class_to_size + 4) == 8;
  }

  std::optional<Address> sizemap_by_shape(const std::vector<AddressRange>& data) const {
    for (const auto& span : data) {
      for (Address a = span.begin; a + 12 <= span.end; a += 4) {
        if (((a - span.begin) & 0xfffff) == 0) check_cancel(cancel_);
        if (i32(a) != 0 || i32(a + 4) != 8 || i32(a + 8) != 16) continue;
        if (a - span.begin < l_.sizemap_class_to_size) continue;
        Address sizemap = a - l_.sizemap_class_to_size;
        if (sizemap_plausible(sizemap)) return sizemap;
      }
    }
    return std::nullopt;
  }

  // A span list header is a ring: its next's prev is itself.
  bool ring_plausible(Address header) const {
    auto next = u64(header + l_.span_next);
    if (!next) return false;
    if (*next == header.value) return true;
    auto back = u64(Address(*next) + l_.span_prev);
    return back && *back == header.value;
  }

  // The central free lists: entry i says size class i, and its span lists
  // are rings.
  bool central_plausible(Address central, uint64_t classes) const {
    for (uint64_t c = 0; c < classes; ++c) {
      Address entry = central + c * l_.central_size;
      if (u64(entry + l_.central_size_class) != c || !ring_plausible(entry + l_.central_empty) ||
          !ring_plausible(entry + l_.central_nonempty))
        return false;
    }
    return true;
  }

  std::optional<Address> central_by_shape(const std::vector<AddressRange>& data, uint64_t classes) const {
    const uint64_t second = l_.central_size + l_.central_size_class;  // entry 1's size class
    for (const auto& span : data) {
      for (Address a = span.begin + second; a + 8 <= span.end; a += 8) {
        if (((a - span.begin) & 0xfffff) == 0) check_cancel(cancel_);
        if (u64(a) != 1) continue;
        Address central = a - second;
        if (span.contains(central, classes * l_.central_size) && central_plausible(central, classes))
          return central;
      }
    }
    return std::nullopt;
  }

  uint64_t leaf_entries() const { return uint64_t{1} << l_.pagemap_leaf_bits; }
  uint64_t root_entries() const { return uint64_t{1} << l_.pagemap_root_bits; }

  bool leaf_readable(uint64_t at) const {
    if (at == 0 || at % 8) return false;
    const Region* r = target_.find_region(Address(at));
    return r && r->readable && r->range.contains(Address(at), leaf_entries() * 8);
  }

  // Which root slot holds `leaf`: a span it names says which pages it
  // covers. The first few spans are asked: one may be damaged.
  std::optional<uint64_t> root_slot_for_leaf(uint64_t leaf) const {
    auto bytes = target_.view(Address(leaf), leaf_entries() * 8);
    if (bytes.size() < leaf_entries() * 8) return std::nullopt;
    int asked = 0;
    for (uint64_t j = 0; j < leaf_entries() && asked < kSpansAskedPerLeaf; ++j) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + j * 8, 8);
      if (word == 0) continue;
      ++asked;
      auto start = u64(Address(word) + l_.span_start), length = u64(Address(word) + l_.span_length);
      if (!start || !length || *length == 0 || *start + *length < *start) continue;
      // The page j of this leaf lies in the span: the leaf's index follows.
      for (uint64_t page : {*start, *start + *length - 1}) {
        if ((page & (leaf_entries() - 1)) != j) continue;
        uint64_t i = page >> l_.pagemap_leaf_bits;
        if (i < root_entries()) return i;
      }
    }
    return std::nullopt;
  }

  // Zero or leaves, mostly: a few damaged entries (the walk reports them)
  // do not hide the page map.
  bool root_plausible(Address root, const AddressRange& within) const {
    if (!within.contains(root, root_entries() * 8)) return false;
    std::vector<uint64_t> words(root_entries());
    if (!target_.read_exact(root, words.data(), words.size() * 8)) return false;
    int leaves = 0, others = 0;
    for (uint64_t w : words) {
      if (w == 0) continue;
      if (leaf_readable(w)) ++leaves;
      else if (++others > kMaxDamagedRootEntries) return false;
    }
    return leaves > others;
  }

  std::optional<Address> pagemap_by_shape(const std::vector<AddressRange>& data) const {
    std::unordered_set<uint64_t> tried;
    for (const auto& span : data) {
      for (Address a = span.begin; a + 8 <= span.end; a += 8) {
        if (((a - span.begin) & 0xffff) == 0) check_cancel(cancel_);
        auto w = u64(a);
        if (!w || *w % 16 || !leaf_readable(*w) || !tried.insert(*w).second) continue;
        auto i = root_slot_for_leaf(*w);
        if (!i || a - span.begin < *i * 8) continue;
        Address root = a - *i * 8;
        if (root_plausible(root, span)) return root;
      }
    }
    return std::nullopt;
  }

 private:
  const Target& target_;
  const Layout& l_;
  const CancelToken& cancel_;
};

// The module holding tcmalloc: its shared library, or (a static link) the
// module whose symbols named the size map, the one mapped just below it.
const Module* tcmalloc_module(const Target& target, std::optional<Address> sizemap_sym) {
  if (const Module* mod = target.find_module("libtcmalloc")) return mod;
  const Module* best_mod = nullptr;
  if (!sizemap_sym) return nullptr;
  Address best;
  for (const auto& m : target.modules())
    for (const auto& r : m.ranges)
      if (r.begin <= *sizemap_sym && r.begin >= best) best = r.begin, best_mod = &m;
  return best_mod;
}

}  // namespace

std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  const Module* lib = target.find_module("libtcmalloc");
  std::string_view symbol_module = lib ? "libtcmalloc" : "";  // "": any module (a static link)
  auto sizemap_sym = symbols.find(symbol_module, kSizemapSymbol);
  const Module* mod = tcmalloc_module(target, sizemap_sym);
  if (!mod) return std::nullopt;

  Roots roots;
  roots.module = mod->path;
  roots.version = read_version(target, *mod, cancel);
  for (const auto& l : known_layouts()) {
    if (roots.version == l.version) {
      roots.layout = &l;
      roots.version_known = true;
      break;
    }
  }
  if (!roots.layout) {
    roots.layout = &known_layouts().front();
    roots.notes.push_back(fmt::format("tcmalloc version {} is not one heapscope knows: read with the layout of {}",
                                      roots.version.empty() ? "(not found)" : roots.version, roots.layout->name));
  }
  const Layout& l = *roots.layout;
  Finder finder(target, l, cancel);
  std::vector<AddressRange> data = data_of(target, *mod);

  auto symbol = [&](std::string_view name) { return symbols.find(symbol_module, name).value_or(Address()); };
  roots.thread_heaps = symbol(kThreadHeapsSymbol);
  roots.threadcache_allocator = symbol(kThreadcacheAllocatorSymbol);
  roots.system_taken = symbol(kSystemTakenSymbol);
  // The vtable's address point: past its offset-to-top and typeinfo words.
  if (Address vtable = symbol(kExtensionVtableSymbol); !vtable.is_null()) roots.default_extension_vptr = vtable + 16;

  if (sizemap_sym) {
    roots.sizemap = *sizemap_sym;
  } else if (auto found = finder.sizemap_by_shape(data)) {
    roots.sizemap = *found;
    roots.by_structure = true;
  }
  if (roots.sizemap.is_null() || !finder.sizemap_plausible(roots.sizemap)) {
    // Static::inited_ (exported) tells a damaged size map from one never filled.
    auto inited_at = symbols.find(symbol_module, kInitedSymbol);
    auto inited = inited_at ? target.read_value<uint8_t>(*inited_at) : std::nullopt;
    if (!inited || *inited == 0) return std::nullopt;  // loaded, never initialised: no tcmalloc heap
    throw UserError{fmt::format("tcmalloc {} in {} is initialised but its size map {}",
                                roots.version.empty() ? "(version unknown)" : roots.version, mod->path,
                                roots.sizemap.is_null() ? "was not found (damaged?)" : "is damaged")};
  }
  uint64_t classes = *finder.u64(roots.sizemap + l.sizemap_num_size_classes);

  auto need = [&](std::string_view what, std::string_view sym) {
    return UserError{fmt::format(
        "tcmalloc {} is in {} but its {} was not found (no symbol {} in the library; a debug file for it, "
        "libgoogle-perftools4-dbgsym or libtcmalloc-minimal4-dbgsym, would name it)",
        roots.version.empty() ? "(version unknown)" : roots.version, mod->path, what, sym)};
  };
  if (auto sym = symbols.find(symbol_module, kCentralSymbol)) {
    roots.central_cache = *sym;
  } else if (auto found = finder.central_by_shape(data, classes)) {
    roots.central_cache = *found;
    roots.by_structure = true;
  } else {
    throw need("central free lists", kCentralSymbol);
  }
  if (auto sym = symbols.find(symbol_module, kPageheapSymbol)) {
    roots.pageheap = *sym;
  } else if (auto root = finder.pagemap_by_shape(data)) {
    roots.pageheap = *root - l.pageheap_pagemap_root;
    roots.by_structure = true;
  } else {
    throw need("page map", kPageheapSymbol);
  }
  if (roots.thread_heaps.is_null())
    roots.notes.push_back(fmt::format("tcmalloc's thread caches (symbol {}) were not found: they are not read",
                                      kThreadHeapsSymbol));
  return roots;
}

}  // namespace heapscope::tcmalloc
