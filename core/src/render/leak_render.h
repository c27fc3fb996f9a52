// Renderers for `heap leaks`, `heap refs` and `heap stats --by-type`, in
// text and one line of JSON. The runner gathers everything (filtered chunks,
// their types, the first bytes of a few direct leaks); these only format.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/analysis/leak_groups.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/analysis/types.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/output.h"
#include "render/style.h"

namespace heapscope {

struct LeakListing {
  enum class Mode { kDefault, kSummary, kList } mode = Mode::kDefault;
  std::vector<uint32_t> chunks;                  // matching listed chunks, address order
  bool filtered = false;                         // --type or --min-size left some out
  std::vector<uint32_t> types;                   // one per chunks entry: 0 none, else 1 + index in type_names
  std::vector<std::string> type_names;
  size_t limit = SIZE_MAX;                       // rows (groups, or chunks with --list / JSON)
  std::vector<LeakGroup> groups;                 // of `chunks`: the default text table, and JSON
  struct Dump {
    uint32_t chunk = 0;
    uint32_t type = 0;
    std::vector<unsigned char> bytes;
  };
  std::vector<Dump> dumps;  // text only: first bytes of a few direct leaks
};

// Written to `out` as they are rendered (--list and JSON can hold a million chunks).
// Text: leak classes, states and addresses in colour when `style` is on.
void leaks_text(OutputWriter& out, const HeapModel& h, const LeakAnalysis& a, const LeakListing& l,
                const Style& style = Style());
// `findings`: how many problems heap check finds.
void leaks_json(OutputWriter& out, const HeapModel& h, const LeakAnalysis& a, const LeakListing& l,
                size_t findings);

// Written to `out` row by row too: a chunk can have a holder in every heap
// word, and a program as many classes as it likes.
void refs_text(OutputWriter& out, const HeapModel& h, const RefsReport& r, const Style& style = Style());
void refs_json(OutputWriter& out, const HeapModel& h, const RefsReport& r);

void type_stats_text(OutputWriter& out, const std::vector<TypeRow>& rows);
void type_stats_json(OutputWriter& out, const std::vector<TypeRow>& rows);

}  // namespace heapscope
