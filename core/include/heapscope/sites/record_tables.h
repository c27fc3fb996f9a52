// RecordTables: what libheapscope-record (recorder/) left in a target's
// memory, decoded without running code in it: for each live allocation, its
// user address, sequence number, thread and the stack of return addresses
// that allocated it. Found through the exported root `heapscope_record_root`
// or, without symbols, by its magic in writable memory; every table read is
// bounds-checked, and what does not add up becomes a finding, not a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::sites {

inline constexpr uint32_t kNoStack = UINT32_MAX;

struct SiteRecord {
  Address address;          // the allocation's user pointer
  uint64_t seq = 0;         // process-wide allocation number, from 1
  uint32_t thread = 0;      // Linux thread id of the allocating thread (0: not recorded)
  uint32_t stack = kNoStack;  // index into RecordTables::stacks
};

struct RecordTables {
  // Who kept the records, and why a live block may have none, for people:
  // the recorder, or an allocator that records its own sites (mems_sites.h).
  std::string origin = "libheapscope-record";
  std::string unrecorded = "allocated before libheapscope-record started, or not by malloc";
  Address root;
  bool by_symbol = false;   // found through the symbol (else by its magic)
  bool busy = false;        // a thread was changing the tables when the target stopped
  uint64_t pid = 0;         // 0: not recorded
  uint64_t allocations = 0; // recorded since the start
  uint64_t dropped = 0;     // not recorded (the recorder ran out of table memory)
  std::vector<SiteRecord> records;             // live allocations, in address order
  std::vector<std::vector<Address>> stacks;    // return addresses, innermost first
  std::vector<std::string> findings;           // what did not add up, with addresses
};

// The recorder's tables, or nullopt when the target has no recorder root.
// Throws UserError when a root is there but of a layout this build cannot
// read (the message says which version).
std::optional<RecordTables> read_record_tables(const Target& target, const SymbolResolver& symbols,
                                               const CancelToken& cancel);

// The record of the allocation whose user pointer is `user`, or nullptr.
const SiteRecord* record_at(const RecordTables& tables, Address user);

}  // namespace heapscope::sites
