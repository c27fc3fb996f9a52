// Types: a chunk whose first word points into a C++ vtable is an object of
// that class. The class name comes from the `_ZTV...` symbol ("vtable for
// Widget") of the module holding the vtable; each distinct first word is
// resolved once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "heapscope/analysis/stats.h"
#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope {

class TypeNamer {
 public:
  // The blocks asked about are `heap`'s: their first word is the vtable
  // pointer of a C++ object, at the model's user_begin.
  TypeNamer(const Target& target, const SymbolResolver& symbols, const HeapModel& heap)
      : target_(target), symbols_(symbols), heap_(heap) {}

  // The class of a live block (in use, mmapped), or nullopt.
  std::optional<std::string> type_of(const Block& c);
  // The same as an id: 0 for none, else 1 + index into names().
  uint32_t type_id(const Block& c);
  const std::vector<std::string>& names() const { return names_; }
  // type_id of chunks[i] for each i of `which` (address order), appended to
  // out; reads ahead, for lists of a million chunks.
  // With `maybe` (a bit per chunk, as LeakAnalysis::maybe_typed), chunks
  // whose bit is clear are 0 without a read.
  void type_ids(const std::vector<Block>& chunks, const std::vector<uint32_t>& which,
                std::vector<uint32_t>& out, const std::vector<uint64_t>* maybe = nullptr);

 private:
  uint32_t resolve(uint64_t vptr);
  bool in_module(uint64_t v);
  std::optional<uint64_t> first_word(Address a);

  // The last view of target memory: chunks are asked in address order, so
  // most first words come from it without a call into the target.
  uint64_t view_begin_ = 0;
  std::span<const std::byte> view_;

  std::vector<AddressRange> module_ranges_;  // file-backed mappings, merged; built on first use
  bool ranges_built_ = false;

  const Target& target_;
  const SymbolResolver& symbols_;
  const HeapModel& heap_;
  std::unordered_map<uint64_t, uint32_t> by_vptr_;
  std::unordered_map<std::string, uint32_t> by_name_;
  std::vector<std::string> names_;
};

// `heap stats --by-type`: in-use and mmapped chunks per type (untyped last).
struct TypeRow {
  std::string type;  // empty: no type known
  Tally tally;
};
std::vector<TypeRow> stats_by_type(const Target& target, const SymbolResolver& symbols,
                                   const HeapModel& heap, const CancelToken& cancel);

}  // namespace heapscope
