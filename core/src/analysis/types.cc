// TypeNamer: chunks named by the vtable their first word points into.
#include "heapscope/analysis/types.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "heapscope/analysis/refs.h"

namespace heapscope {

namespace {
constexpr std::string_view kVtablePrefix = "vtable for ";
}  // namespace

uint32_t TypeNamer::resolve(uint64_t vptr) {
  // Vtables live in a module's file-backed mappings (relro or data); a
  // pointer elsewhere (heap, stack, small numbers) needs no symbol lookup.
  const Region* r = target_.find_region(Address(vptr));
  if (!r || r->path.empty() || r->path[0] != '/' || (vptr & 7)) return 0;
  auto sym = symbols_.at(Address(vptr));
  // The object's vptr points past the offset-to-top and typeinfo words.
  if (!sym || sym->offset < 16 || !sym->name.starts_with(kVtablePrefix)) return 0;
  std::string name = sym->name.substr(kVtablePrefix.size());
  auto [it, added] = by_name_.emplace(name, static_cast<uint32_t>(names_.size() + 1));
  if (added) names_.push_back(std::move(name));
  return it->second;
}

// Vtables live in file-backed mappings; most first words (numbers, text,
// heap pointers) fail this check and need no lookup at all.
bool TypeNamer::in_module(uint64_t v) {
  if (!ranges_built_) {
    ranges_built_ = true;
    for (const auto& r : target_.regions()) {
      if (r.path.empty() || r.path[0] != '/') continue;
      if (!module_ranges_.empty() && module_ranges_.back().end == r.range.begin)
        module_ranges_.back().end = r.range.end;
      else
        module_ranges_.push_back(r.range);
    }
  }
  auto it = std::upper_bound(module_ranges_.begin(), module_ranges_.end(), Address(v),
                             [](Address a, const AddressRange& r) { return a < r.begin; });
  return it != module_ranges_.begin() && std::prev(it)->contains(Address(v));
}

std::optional<uint64_t> TypeNamer::first_word(Address a) {
  if (a.value - view_begin_ > view_.size() || view_.size() - (a.value - view_begin_) < 8) {
    view_begin_ = a.value;
    view_ = target_.view(a, 1 << 20);
    if (view_.size() < 8) return target_.read_u64(a);
  }
  uint64_t w;
  std::memcpy(&w, view_.data() + (a.value - view_begin_), 8);
  return w;
}

uint32_t TypeNamer::type_id(const Block& c) {
  if (!heap_.is_live(c) || heap_.user_area(c).size() < 8) return 0;
  auto w = first_word(heap_.user_begin(c));
  if (!w || (*w & 7) || !in_module(*w)) return 0;
  auto it = by_vptr_.find(*w);
  if (it != by_vptr_.end()) return it->second;
  uint32_t id = resolve(*w);
  by_vptr_.emplace(*w, id);
  return id;
}

void TypeNamer::type_ids(const std::vector<Block>& chunks, const std::vector<uint32_t>& which,
                         std::vector<uint32_t>& out, const std::vector<uint64_t>* maybe) {
  constexpr size_t kAhead = 16;  // chunks: a few hundred bytes ahead of the reads
  out.reserve(out.size() + which.size());
  if (maybe) {
    for (uint32_t i : which) out.push_back(((*maybe)[i >> 6] >> (i & 63)) & 1 ? type_id(chunks[i]) : 0);
    return;
  }
  for (size_t k = 0; k < which.size(); ++k) {
    if (k + kAhead < which.size()) {
      uint64_t off = heap_.user_begin(chunks[which[k + kAhead]]).value - view_begin_;
      if (off < view_.size()) __builtin_prefetch(view_.data() + off);
    }
    out.push_back(type_id(chunks[which[k]]));
  }
}

std::optional<std::string> TypeNamer::type_of(const Block& c) {
  uint32_t id = type_id(c);
  if (!id) return std::nullopt;
  return names_[id - 1];
}

std::vector<TypeRow> stats_by_type(const Target& target, const SymbolResolver& symbols,
                                   const HeapModel& heap, const CancelToken& cancel) {
  TypeNamer namer(target, symbols, heap);
  std::vector<Tally> by_id(1);
  size_t n = 0;
  for (const auto& c : heap.blocks) {
    if (!heap.is_live(c)) continue;
    if ((++n & 0xffff) == 0) check_cancel(cancel);
    uint32_t id = namer.type_id(c);
    if (id >= by_id.size()) by_id.resize(id + 1);
    by_id[id].add(c.size);
  }
  std::vector<TypeRow> rows;
  for (size_t id = 1; id < by_id.size(); ++id)
    if (by_id[id].chunks) rows.push_back({namer.names()[id - 1], by_id[id]});
  std::sort(rows.begin(), rows.end(), [](const TypeRow& a, const TypeRow& b) {
    return a.tally.bytes != b.tally.bytes ? a.tally.bytes > b.tally.bytes : a.type < b.type;
  });
  if (by_id[0].chunks) rows.push_back({"", by_id[0]});
  return rows;
}

}  // namespace heapscope
