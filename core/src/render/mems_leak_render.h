// Renderers for `mems leaks`, in text and one line of JSON.
#pragma once

#include <string>
#include <unordered_map>

#include "heapscope/analysis/mems_leaks.h"
#include "heapscope/mems/heap.h"
#include "heapscope/symbols.h"

namespace heapscope {

// Allocation sites the runner could resolve, keyed by address.
using SiteSymbols = std::unordered_map<uint64_t, SymbolAt>;

struct MemsLeakListing {
  bool summary = false;
  SiteSymbols sites;
};

std::string mems_leaks_text(const mems::Heap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l);
std::string mems_leaks_json(const mems::Heap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l);

}  // namespace heapscope
