// Decoding libheapscope-record's tables (recorder/include/heapscope_record_layout.h)
// from target memory: segments read in bulk, every index and count checked
// against what the root says and what the target holds.
#include "heapscope/sites/record_tables.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "heapscope/error.h"
#include "heapscope_record_layout.h"
#include "sites/locate_root.h"

namespace heapscope::sites {
namespace {

constexpr uint64_t kMaxRecords = 1ull << 32;
constexpr uint64_t kMaxStacks = 1ull << 28;

// Visits elements [0, count) of a segmented array, elem_size bytes each, in
// pieces of at most kPiece bytes: a corrupt count costs what the target
// really holds, never an allocation of its size. Stops at a missing or
// unreadable segment (a finding); returns how many elements it visited.
constexpr size_t kPiece = 1 << 20;

template <typename F>
uint64_t visit_segmented(const Target& t, const uint64_t* directory, uint64_t seg0, size_t elem_size,
                         uint64_t count, const CancelToken& cancel, std::vector<std::string>& findings,
                         const char* what, F&& visit) {
  std::vector<std::byte> piece;
  uint64_t done = 0;
  for (uint32_t k = 0; k < HSR_SEGMENTS && done < count; ++k) {
    uint64_t in_segment = std::min<uint64_t>(seg0 << k, count - done);
    if (directory[k] == 0) {
      findings.push_back(fmt::format("{} segment {} is missing ({} entries expected in it)", what, k, in_segment));
      return done;
    }
    for (uint64_t at = 0; at < in_segment;) {
      check_cancel(cancel);
      uint64_t n = std::min<uint64_t>(in_segment - at, kPiece / elem_size);
      piece.resize(n * elem_size);
      Address from(directory[k] + at * elem_size);
      size_t got = t.read(from, std::span(piece));
      for (uint64_t i = 0; i < got / elem_size; ++i) visit(piece.data() + i * elem_size);
      done += got / elem_size;
      if (got < piece.size()) {
        findings.push_back(fmt::format("{} segment {} at {}: unreadable from {}", what, k, to_hex(directory[k]),
                                       to_hex(from + got)));
        return done;
      }
      at += n;
    }
  }
  return done;
}

void read_stacks(const Target& t, const hsr_root& root, const CancelToken& cancel, RecordTables& out) {
  uint64_t count = root.stacks_used;
  if (count > kMaxStacks) {
    out.findings.push_back(fmt::format("root says {} stacks; reading the first {}", count, kMaxStacks));
    count = kMaxStacks;
  }
  std::vector<uint64_t> frames;
  visit_segmented(t, root.stack_segments, HSR_STACK_SEGMENT0, sizeof(hsr_stack), count, cancel, out.findings,
                  "stack", [&](const std::byte* raw) {
    hsr_stack s;
    std::memcpy(&s, raw, sizeof s);
    const uint64_t id = out.stacks.size() + 1;
    uint32_t depth = s.depth;
    if (depth > HSR_MAX_DEPTH) {
      out.findings.push_back(fmt::format("stack {} has depth {} (at most {})", id, depth, HSR_MAX_DEPTH));
      depth = HSR_MAX_DEPTH;
    }
    frames.resize(depth);
    size_t got = t.read(Address(s.frames), std::as_writable_bytes(std::span(frames)));
    if (got < depth * sizeof(uint64_t)) {
      out.findings.push_back(fmt::format("stack {}: frames at {} unreadable", id, to_hex(s.frames)));
      depth = static_cast<uint32_t>(got / sizeof(uint64_t));
    }
    auto& stack = out.stacks.emplace_back();
    stack.reserve(depth);
    for (uint32_t f = 0; f < depth; ++f) stack.push_back(Address(frames[f]));
  });
}

void read_records(const Target& t, const hsr_root& root, const CancelToken& cancel, RecordTables& out) {
  uint64_t count = root.records_used;
  if (count > kMaxRecords) {
    out.findings.push_back(fmt::format("root says {} records; reading the first {}", count, kMaxRecords));
    count = kMaxRecords;
  }
  size_t bad_stacks = 0;
  visit_segmented(t, root.record_segments, HSR_RECORD_SEGMENT0, sizeof(hsr_record), count, cancel, out.findings,
                  "record", [&](const std::byte* raw) {
    hsr_record r;
    std::memcpy(&r, raw, sizeof r);
    const uint64_t hidden = r.address;  // copies: the record is packed
    const uint64_t address = hidden ? HSR_HIDE(hidden) : 0;
    const uint32_t stack_id = r.stack_id;
    if (address == 0) return;
    SiteRecord rec{Address(address), r.seq, r.thread, kNoStack};
    if (stack_id != 0 && stack_id <= out.stacks.size())
      rec.stack = stack_id - 1;
    else if (stack_id != 0 && bad_stacks++ == 0)
      out.findings.push_back(fmt::format("record of {} names stack {}, past the {} stacks",
                                         to_hex(address), stack_id, out.stacks.size()));
    out.records.push_back(rec);
  });
  if (bad_stacks > 1)
    out.findings.push_back(fmt::format("{} records name a stack past the table", bad_stacks));
  // An address recorded twice (freed by a path the recorder did not see):
  // the newest record is the allocation.
  std::sort(out.records.begin(), out.records.end(), [](const SiteRecord& a, const SiteRecord& b) {
    return a.address != b.address ? a.address < b.address : a.seq > b.seq;
  });
  auto last = std::unique(out.records.begin(), out.records.end(),
                          [](const SiteRecord& a, const SiteRecord& b) { return a.address == b.address; });
  out.records.erase(last, out.records.end());
  if (!out.busy && out.records.size() != root.live_records)
    out.findings.push_back(fmt::format("{} live records found, the root counts {}", out.records.size(),
                                       root.live_records));
}

}  // namespace

std::optional<RecordTables> read_record_tables(const Target& target, const SymbolResolver& symbols,
                                               const CancelToken& cancel) {
  RecordTables out;
  auto at = locate_record_root(target, symbols, cancel, out.findings);
  if (!at) return std::nullopt;
  auto root = target.read_value<hsr_root>(at->address);
  if (!root) throw UserError{fmt::format("the recorder's root at {} is unreadable", to_hex(at->address))};
  if (root->layout_version != HSR_LAYOUT_VERSION || root->root_size != sizeof(hsr_root) ||
      root->record_size != sizeof(hsr_record) || root->stack_size != sizeof(hsr_stack))
    throw UserError{fmt::format(
        "the recorder's root at {} has layout version {} (size {}); this heapscope reads version {}",
        to_hex(at->address), root->layout_version, root->root_size, HSR_LAYOUT_VERSION)};
  out.root = at->address;
  out.by_symbol = at->by_symbol;
  out.busy = root->busy != 0;
  out.pid = root->pid;
  out.allocations = root->allocations;
  out.dropped = root->dropped;
  if (!root->initialized) return out;
  if (out.busy)
    out.findings.push_back("the target stopped while a thread was changing the recorder's tables: "
                           "one record may be missing or stale");
  read_stacks(target, *root, cancel, out);
  read_records(target, *root, cancel, out);
  return out;
}

const SiteRecord* record_at(const RecordTables& tables, Address user) {
  auto it = std::lower_bound(tables.records.begin(), tables.records.end(), user,
                             [](const SiteRecord& r, Address a) { return r.address < a; });
  return it != tables.records.end() && it->address == user ? &*it : nullptr;
}

}  // namespace heapscope::sites
