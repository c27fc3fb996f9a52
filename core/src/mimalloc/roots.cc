#include "mimalloc/roots.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>

namespace heapscope::mimalloc {

namespace {

constexpr std::string_view kModule = "libmimalloc";
constexpr std::string_view kVersionSymbol = "mi_version";
constexpr std::string_view kMainHeapSymbol = "_mi_heap_main";

// mi_version() is `return MI_MALLOC_VERSION;`: an optional endbr64, then
// `mov eax, imm32` (b8 imm32).
int version_from_code(const Target& target, Address fn) {
  uint8_t code[12];
  if (!target.read_exact(fn, code, sizeof code)) return 0;
  size_t at = 0;
  if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) at = 4;
  if (code[at] != 0xb8) return 0;
  uint32_t v;
  std::memcpy(&v, code + at + 1, 4);
  return v > 0 && v < 100000 ? int(v) : 0;
}

uint64_t field(const std::byte* header, uint64_t off) {
  uint64_t v;
  std::memcpy(&v, header + off, 8);
  return v;
}

// The header of a segment at `at` as far as it can be told alone: its
// sizes within their bounds and its first span (the header's own slices)
// as long as the header says. Returns the segment's key (its cookie xor
// its address), or nullopt.
std::optional<uint64_t> segment_key(const Target& target, const Layout& l, Address at) {
  std::byte header[512];
  const uint64_t want = l.seg_slices + l.page_size;
  if (want > sizeof header || !target.read_exact(at, header, want)) return std::nullopt;
  uint64_t info = field(header, l.seg_info_slices), slices = field(header, l.seg_segment_slices);
  uint64_t entries = field(header, l.seg_slice_entries), kind = field(header, l.seg_kind) & 0xffffffff;
  uint64_t cookie = field(header, l.seg_cookie);
  uint32_t count, offset;
  std::memcpy(&count, header + l.seg_slices + l.page_slice_count, 4);
  std::memcpy(&offset, header + l.seg_slices + l.page_slice_offset, 4);
  if (info == 0 || info > 16 || entries == 0 || entries > l.slices_per_segment || entries <= info) return std::nullopt;
  if (kind > 1 || slices < entries || slices > (uint64_t{1} << 47) / l.slice_size) return std::nullopt;
  if (kind == 0 && slices != entries) return std::nullopt;
  if (count != info || offset != 0 || cookie == 0) return std::nullopt;
  return cookie ^ at.value;
}

// Anonymous writable mappings: where mimalloc's OS memory lies.
bool may_hold_segments(const Region& r) {
  return r.readable && r.writable() && (r.path.empty() || r.path == "[heap]");
}

std::vector<AddressRange> writable_ranges(const Target& target, const Module& mod) {
  std::vector<AddressRange> out;
  bool after = false;
  for (const auto& r : target.regions()) {
    bool mine = r.path == mod.path && r.writable();
    bool bss = after && r.path.empty() && r.writable() && !out.empty() && r.range.begin == out.back().end;
    if (mine || bss) {
      if (!out.empty() && out.back().end == r.range.begin) out.back().end = r.range.end;
      else out.push_back(r.range);
    }
    after = mine || bss;
  }
  return out;
}

}  // namespace

std::string version_name(int code) {
  if (code <= 0) return "";
  return fmt::format("{}.{}.{}", code / 100, code / 10 % 10, code % 10);
}

std::optional<Roots> find_roots(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  const Module* mod = target.find_module(kModule);
  std::string_view symbol_module = mod ? kModule : "";  // "": any module (mimalloc built into the program)
  std::optional<Address> main_sym = symbols.find(symbol_module, kMainHeapSymbol);
  if (!mod && !main_sym) return std::nullopt;

  Roots roots;
  if (auto fn = symbols.find(symbol_module, kVersionSymbol)) roots.version_code = version_from_code(target, *fn);
  for (const auto& l : known_layouts()) {
    if (l.version_code == roots.version_code) {
      roots.layout = &l;
      roots.version_known = true;
    }
  }
  if (!roots.layout) {
    roots.layout = &known_layouts().front();
    roots.notes.push_back(fmt::format("mimalloc version {} is not one heapscope knows: read with the layout of {}",
                                      roots.version_code ? version_name(roots.version_code) : "(not found)",
                                      roots.layout->name));
  }
  const Layout& l = *roots.layout;
  if (mod) roots.module_data = writable_ranges(target, *mod);
  if (main_sym) {
    roots.main_heap = *main_sym;
    roots.by_structure = false;
    if (auto cookie = target.read_u64(*main_sym + l.heap_cookie)) roots.key = *cookie;
  }

  // Every aligned address of the anonymous mappings: a handful per GiB.
  std::map<uint64_t, std::vector<Address>> by_key;
  for (const auto& r : target.regions()) {
    if (!may_hold_segments(r)) continue;
    check_cancel(cancel);
    uint64_t first = (r.range.begin.value + l.segment_size - 1) & ~(l.segment_size - 1);
    for (uint64_t a = first, n = 0; a >= r.range.begin.value && a < r.range.end.value; a += l.segment_size, ++n) {
      if ((n & 1023) == 1023) check_cancel(cancel);  // a reservation of terabytes: many candidates
      if (auto key = segment_key(target, l, Address(a))) by_key[*key].push_back(Address(a));
    }
  }
  // One key for the process: the main heap's, else the one most segments share.
  const std::vector<Address>* best = nullptr;
  if (auto it = by_key.find(roots.key); main_sym && it != by_key.end()) best = &it->second;
  if (main_sym && !best && !by_key.empty()) {
    roots.by_structure = true;
    roots.notes.push_back(fmt::format("the cookie of {} at {} is no segment's key: segments found by shape",
                                      kMainHeapSymbol, to_hex(*main_sym)));
  }
  for (const auto& [key, segs] : by_key) {
    if (main_sym && best && roots.key == key) continue;
    if (!best || segs.size() > best->size()) {
      best = &segs;
      roots.key = key;
    }
  }
  if (!best) return std::nullopt;  // loaded, but it never made a segment
  roots.segments = *best;
  for (const auto& [key, segs] : by_key)
    if (&segs != best)
      for (Address a : segs)
        roots.notes.push_back(fmt::format("a segment-like header at {} has another process key: left out", to_hex(a)));
  return roots;
}

}  // namespace heapscope::mimalloc
