#include "jemalloc/roots.h"

#include <cstring>
#include <fmt/format.h>
#include <unordered_set>

#include "heapscope/error.h"

namespace heapscope::jemalloc {

namespace {

constexpr std::string_view kEmapSymbol = "je_arena_emap_global";
constexpr std::string_view kArenasSymbol = "je_arenas";

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// JEMALLOC_VERSION looks like "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c":
// the release, the commits since it, and the commit's hash. Found in the
// library's read-only data by that shape, so no symbol is needed.
std::string version_in(std::string_view bytes) {
  for (size_t at = bytes.find("-g"); at != std::string_view::npos; at = bytes.find("-g", at + 2)) {
    size_t hash_end = at + 2 + 40;
    if (hash_end >= bytes.size() || bytes[hash_end] != '\0') continue;
    bool hex = true;
    for (size_t k = at + 2; k < hash_end && hex; ++k) hex = is_hex(bytes[k]);
    if (!hex) continue;
    size_t b = at;
    while (b > 0 && is_digit(bytes[b - 1])) --b;  // commits since the tag
    if (b == at || b == 0 || bytes[b - 1] != '-') continue;
    size_t start = b - 1;
    while (start > 0 && (is_digit(bytes[start - 1]) || bytes[start - 1] == '.')) --start;
    if (start == b - 1 || (start > 0 && bytes[start - 1] != '\0')) continue;
    return std::string(bytes.substr(start, hash_end - start));
  }
  return {};
}

std::string read_version(const Target& target, const Module& mod, const CancelToken& cancel) {
  for (const auto& range : mod.ranges) {
    const Region* region = target.find_region(range.begin);
    if (!region || region->writable() || region->executable()) continue;
    std::string bytes(range.size(), '\0');
    size_t got = target.read(range.begin, std::as_writable_bytes(std::span(bytes)));
    bytes.resize(got);
    check_cancel(cancel);
    if (auto v = version_in(bytes); !v.empty()) return v;
  }
  return {};
}

// The library's writable data: its own writable mappings and the anonymous
// ones right after them (.bss beyond the file's last page), merged.
std::vector<AddressRange> data_ranges(const Target& target, const Module& mod) {
  std::vector<AddressRange> out;
  bool after_module_data = false;
  for (const auto& r : target.regions()) {
    bool mine = r.path == mod.path && r.writable();
    bool bss = after_module_data && r.path.empty() && r.writable() && !out.empty() &&
               r.range.begin == out.back().end;
    if (mine || bss) {
      if (!out.empty() && out.back().end == r.range.begin) out.back().end = r.range.end;
      else out.push_back(r.range);
    }
    after_module_data = mine || bss;
  }
  return out;
}

struct Finder {
  const Target& target;
  const Layout& l;
  const CancelToken& cancel;

  // A leaf or the root: readable for its whole 2 MiB.
  bool level_readable(uint64_t at) const {
    if (at == 0 || at % 64) return false;
    const Region* r = target.find_region(Address(at));
    return r && r->readable && r->range.contains(Address(at), rtree_level_bytes(l));
  }

  // The root array's entries are zero or leaves.
  bool root_plausible(Address root, const AddressRange& within) const {
    if (!within.contains(root, rtree_level_bytes(l))) return false;
    std::vector<uint64_t> words(rtree_entries(l));
    if (!target.read_exact(root, words.data(), words.size() * 8)) return false;
    int leaves = 0;
    for (uint64_t w : words) {
      if (w == 0) continue;
      if (!level_readable(w)) return false;
      ++leaves;
    }
    return leaves > 0;
  }

  // Which root slots could hold `leaf`: its first extent says which
  // addresses the leaf covers.
  std::vector<uint64_t> root_slots_for_leaf(uint64_t leaf) const {
    auto bytes = target.view(Address(leaf), rtree_level_bytes(l));
    if (bytes.size() < rtree_level_bytes(l)) return {};
    const uint64_t entries = rtree_entries(l);
    for (uint64_t j = 0; j < entries; ++j) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + j * 8, 8);
      if (word == 0) continue;
      Address edata = leaf_edata(l, word);
      auto addr = target.read_u64(edata + l.edata_addr);
      auto size_esn = target.read_u64(edata + l.edata_size_esn);
      if (!addr || !size_esn) return {};
      uint64_t base = *addr & ~(l.page - 1), size = *size_esn & ~(l.page - 1);
      if (size == 0 || base + size < base) return {};
      std::vector<uint64_t> slots;
      const int low = l.rtree_level_bits + 12;  // bits a leaf covers: 18 of key, 12 of page
      for (uint64_t i : {base >> low, (base + size - 1) >> low}) {
        uint64_t key = (i << low) | (j << 12);
        if (key >= base && key < base + size && i < entries &&
            (slots.empty() || slots.back() != i))
          slots.push_back(i);
      }
      return slots;
    }
    return {};
  }

  // The emap, or nullopt; `candidates` says whether any word looked like a
  // leaf pointer at all (none: jemalloc is mapped but was never initialised).
  std::optional<Address> emap_by_shape(const std::vector<AddressRange>& data, bool& candidates) const {
    std::unordered_set<uint64_t> tried;
    candidates = false;
    for (const auto& span : data) {
      for (Address a = span.begin; a + 8 <= span.end; a += 8) {
        if (((a - span.begin) & 0xffff) == 0) check_cancel(cancel);
        auto w = target.read_u64(a);
        if (!w || !level_readable(*w) || !tried.insert(*w).second) continue;
        auto slots = root_slots_for_leaf(*w);
        candidates = candidates || !slots.empty();
        for (uint64_t i : slots) {
          if (a - span.begin < i * 8) continue;
          Address root = a - i * 8;
          if (root_plausible(root, span)) return root - l.rtree_root;
        }
      }
    }
    return std::nullopt;
  }

  bool is_arena(uint64_t at, unsigned ind) const {
    if (at == 0 || at % 64) return false;
    auto got_ind = target.read_value<uint32_t>(Address(at + l.arena_ind));
    auto base = target.read_u64(Address(at + l.arena_base));
    if (!got_ind || *got_ind != ind || !base) return false;
    auto base_ind = target.read_value<uint32_t>(Address(*base + l.base_ind));
    return base_ind && *base_ind == ind;
  }

  // je_arenas: an array whose entry i is null or the arena of index i, and
  // whose entry 0 is the arena whose base is b0. The static `a0` points at
  // arena 0 too: the candidate holding the most arenas wins.
  std::optional<Address> arenas_by_shape(const std::vector<AddressRange>& data, Address b0) const {
    std::optional<Address> best;
    int best_count = 0;
    for (const auto& span : data) {
      for (Address a = span.begin; a + 8 <= span.end; a += 8) {
        if (((a - span.begin) & 0xffff) == 0) check_cancel(cancel);
        auto w = target.read_u64(a);
        if (!w || *w == 0 || *w % 64) continue;
        auto base = target.read_u64(Address(*w + l.arena_base));
        if (!base || Address(*base) != b0 || !is_arena(*w, 0)) continue;
        int count = 1;
        bool ok = true;
        for (int i = 1; i < l.arena_limit && ok; ++i) {
          Address slot = a + uint64_t(i) * 8;
          if (slot + 8 > span.end) break;
          auto e = target.read_u64(slot);
          if (!e) break;
          if (*e == 0) continue;
          ok = is_arena(*e, unsigned(i));
          count += ok;
        }
        if (ok && count > best_count) best = a, best_count = count;
      }
    }
    return best;
  }
};

}  // namespace

std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols,
                                const CancelToken& cancel) {
  const Module* mod = target.find_module("libjemalloc");
  std::string_view symbol_module = mod ? "libjemalloc" : "";  // "": any module (a static link)
  std::optional<Address> emap_sym = symbols.find(symbol_module, kEmapSymbol);
  if (!mod && !emap_sym) return std::nullopt;

  // Linked statically (libjemalloc.a), jemalloc is part of the module whose
  // symbol table named its extent map: the one mapped just below it (the
  // map is in .bss, which may lie past the file's last mapping).
  if (!mod) {
    Address best;
    for (const auto& m : target.modules())
      for (const auto& r : m.ranges)
        if (r.begin <= *emap_sym && r.begin >= best) best = r.begin, mod = &m;
  }
  Roots roots;
  if (mod) roots.version = read_version(target, *mod, cancel);
  for (const auto& l : known_layouts()) {
    if (roots.version.starts_with(l.version_prefix)) {
      roots.layout = &l;
      roots.version_known = true;
      break;
    }
  }
  if (!roots.layout) {
    roots.layout = &known_layouts().front();
    roots.notes.push_back(fmt::format(
        "jemalloc version {} is not one heapscope knows: read with the layout of {}",
        roots.version.empty() ? "(not found)" : roots.version, roots.layout->name));
  }
  const Layout& l = *roots.layout;
  Finder finder{target, l, cancel};
  std::vector<AddressRange> data = mod ? data_ranges(target, *mod) : std::vector<AddressRange>{};

  bool candidates = false;
  if (emap_sym) {
    roots.emap = *emap_sym;
  } else if (auto found = finder.emap_by_shape(data, candidates)) {
    roots.emap = *found;
    roots.by_structure = true;
  } else if (!candidates) {
    return std::nullopt;  // mapped, never initialised (no extent yet): no jemalloc heap
  } else {
    throw UserError{fmt::format(
        "jemalloc {} is mapped but its extent map was not found (its library has no symbol {}; "
        "a debug file for it, libjemalloc2-dbgsym, would name it)",
        roots.version.empty() ? "(version unknown)" : roots.version, kEmapSymbol)};
  }
  auto b0 = target.read_u64(roots.emap + l.rtree_base);
  if (b0) roots.b0 = Address(*b0);

  if (auto sym = symbols.find(symbol_module, kArenasSymbol)) {
    roots.arenas = *sym;
  } else if (!roots.b0.is_null()) {
    if (auto found = finder.arenas_by_shape(data, roots.b0)) roots.arenas = *found;
  }
  if (roots.arenas.is_null())
    roots.notes.push_back(fmt::format(
        "jemalloc's arenas (symbol {}) were not found: thread caches and metadata are not read",
        kArenasSymbol));
  return roots;
}

}  // namespace heapscope::jemalloc
