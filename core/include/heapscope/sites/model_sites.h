// The allocation sites of one heap model, wherever they are kept: the
// allocator's own records when it keeps them (MeMS: mems_sites.h), else the
// recorder's tables (libheapscope-record interposes whatever malloc the
// program calls). The one place that chooses, for the site commands and
// for snapshots.
#pragma once

#include <optional>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::sites {

// nullopt: the model keeps no sites and the target has no recorder.
std::optional<RecordTables> model_site_tables(const HeapModel& model, const Target& target,
                                              const SymbolResolver& symbols, const CancelToken& cancel);

}  // namespace heapscope::sites
