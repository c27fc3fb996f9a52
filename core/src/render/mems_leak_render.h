// Renderers for `mems leaks`, in text and one line of JSON.
#pragma once

#include <string>
#include <unordered_map>

#include "heapscope/analysis/mems_leaks.h"
#include "heapscope/mems/heap.h"
#include "heapscope/output.h"
#include "heapscope/symbols.h"

namespace heapscope {

// Allocation sites the runner could resolve, keyed by address.
using SiteSymbols = std::unordered_map<uint64_t, SymbolAt>;

struct MemsLeakListing {
  bool summary = false;
  SiteSymbols sites;
};

// Written to `out` as they are rendered: one row per leaked segment or block.
void mems_leaks_text(OutputWriter& out, const mems::SegmentHeap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l);
void mems_leaks_json(OutputWriter& out, const mems::SegmentHeap& h, const MemsLeakAnalysis& a, const MemsLeakListing& l);

}  // namespace heapscope
