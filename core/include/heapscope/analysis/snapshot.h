// HeapSnapshot: what a heap held at one stop, small enough to keep and to
// write to a file: live bytes per size class, per C++ type and per
// allocation site (when libheapscope-record was there), free and system
// bytes, and the set of leaked blocks. Two snapshots make a diff
// (snapshot_diff.h); cores, live processes and files all become one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/analysis/stats.h"
#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope {

struct SnapshotLeak {
  uint64_t address = 0;  // the block's user pointer
  uint64_t size = 0;     // the block's size, header included
  std::string type;      // C++ class, or empty
  std::string site;      // allocation stack, or empty
  auto operator<=>(const SnapshotLeak&) const = default;
};

struct HeapSnapshot {
  std::string name;       // as saved (heap snapshot save NAME), or the source's
  std::string source;     // "core FILE", "pid N", "file PATH"
  std::string allocator;  // the model's
  uint64_t pid = 0;       // the recorder's, when it was there
  Tally in_use, free;     // live blocks; free and cached blocks (top included)
  uint64_t system_bytes = 0;
  bool has_sites = false;
  std::map<uint64_t, Tally> by_size_class;  // see size_class()
  std::map<std::string, Tally> by_type;     // "" for blocks of no known type
  std::map<std::string, Tally> by_site;     // "f (a.c:3) < main (a.c:9)"; "" when not recorded
  std::vector<SnapshotLeak> leaks;          // direct and indirect, address order
};

// The class a block size falls into: sizes up to 1 KiB as they are (glibc's
// small chunks step by 16), larger ones rounded up to a power of two.
uint64_t size_class(uint64_t size);

// site_name(stack): the name of a recorded stack (the key of by_site).
HeapSnapshot take_snapshot(const Target& target, const SymbolResolver& symbols, const HeapModel& heap,
                           const sites::RecordTables* tables,
                           const std::function<std::string(uint32_t stack)>& site_name, const CancelToken& cancel);

// The file form: one JSON document. parse_snapshot throws UserError with
// one line when the text is not a snapshot.
std::string snapshot_json(const HeapSnapshot& s);
HeapSnapshot parse_snapshot(std::string_view text, std::string_view where);

}  // namespace heapscope
