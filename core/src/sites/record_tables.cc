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

// Reads elements [first, first + count) of a segmented array into out
// (elem_size bytes each); returns how many whole elements the target had.
uint64_t read_segmented(const Target& t, const uint64_t* directory, uint64_t seg0, size_t elem_size,
                        uint64_t count, const CancelToken& cancel, std::vector<std::byte>& out,
                        std::vector<std::string>& findings, const char* what) {
  out.assign(count * elem_size, std::byte{0});
  uint64_t done = 0;
  for (uint32_t k = 0; k < HSR_SEGMENTS && done < count; ++k) {
    check_cancel(cancel);
    uint64_t in_segment = std::min<uint64_t>(seg0 << k, count - done);
    if (directory[k] == 0) {
      findings.push_back(fmt::format("{} segment {} is missing ({} entries expected in it)", what, k, in_segment));
      return done;
    }
    size_t want = in_segment * elem_size;
    size_t got = t.read(Address(directory[k]), std::span(out.data() + done * elem_size, want));
    if (got < want) {
      findings.push_back(fmt::format("{} segment {} at {}: only {} of {} bytes readable", what, k,
                                     to_hex(directory[k]), got, want));
      return done + got / elem_size;
    }
    done += in_segment;
  }
  return done;
}

void read_stacks(const Target& t, const hsr_root& root, const CancelToken& cancel, RecordTables& out) {
  uint64_t count = root.stacks_used;
  if (count > kMaxStacks) {
    out.findings.push_back(fmt::format("root says {} stacks; reading the first {}", count, kMaxStacks));
    count = kMaxStacks;
  }
  std::vector<std::byte> raw;
  count = read_segmented(t, root.stack_segments, HSR_STACK_SEGMENT0, sizeof(hsr_stack), count, cancel, raw,
                         out.findings, "stack");
  out.stacks.resize(count);
  std::vector<uint64_t> frames;
  for (uint64_t i = 0; i < count; ++i) {
    if ((i & 4095) == 0) check_cancel(cancel);
    hsr_stack s;
    std::memcpy(&s, raw.data() + i * sizeof s, sizeof s);
    uint32_t depth = s.depth;
    if (depth > HSR_MAX_DEPTH) {
      out.findings.push_back(fmt::format("stack {} has depth {} (at most {})", i + 1, depth, HSR_MAX_DEPTH));
      depth = HSR_MAX_DEPTH;
    }
    frames.resize(depth);
    size_t got = t.read(Address(s.frames), std::as_writable_bytes(std::span(frames)));
    if (got < depth * sizeof(uint64_t)) {
      out.findings.push_back(fmt::format("stack {}: frames at {} unreadable", i + 1, to_hex(s.frames)));
      depth = static_cast<uint32_t>(got / sizeof(uint64_t));
    }
    auto& stack = out.stacks[i];
    stack.reserve(depth);
    for (uint32_t f = 0; f < depth; ++f) stack.push_back(Address(frames[f]));
  }
}

void read_records(const Target& t, const hsr_root& root, const CancelToken& cancel, RecordTables& out) {
  uint64_t count = root.records_used;
  if (count > kMaxRecords) {
    out.findings.push_back(fmt::format("root says {} records; reading the first {}", count, kMaxRecords));
    count = kMaxRecords;
  }
  std::vector<std::byte> raw;
  count = read_segmented(t, root.record_segments, HSR_RECORD_SEGMENT0, sizeof(hsr_record), count, cancel,
                         raw, out.findings, "record");
  out.records.reserve(std::min<uint64_t>(count, root.live_records));
  size_t bad_stacks = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if ((i & 65535) == 0) check_cancel(cancel);
    hsr_record r;
    std::memcpy(&r, raw.data() + i * sizeof r, sizeof r);
    if (r.address == 0) continue;
    const uint64_t address = r.address;  // copies: the record is packed
    const uint32_t stack_id = r.stack_id;
    SiteRecord rec{Address(address), r.seq, r.thread, kNoStack};
    if (stack_id != 0 && stack_id <= out.stacks.size())
      rec.stack = stack_id - 1;
    else if (stack_id != 0 && bad_stacks++ == 0)
      out.findings.push_back(fmt::format("record of {} names stack {}, past the {} stacks",
                                         to_hex(address), stack_id, out.stacks.size()));
    out.records.push_back(rec);
  }
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
  auto root = target.read_value<hsr_root>(*at);
  if (!root) throw UserError{fmt::format("the recorder's root at {} is unreadable", to_hex(*at))};
  if (root->layout_version != HSR_LAYOUT_VERSION || root->root_size != sizeof(hsr_root) ||
      root->record_size != sizeof(hsr_record) || root->stack_size != sizeof(hsr_stack))
    throw UserError{fmt::format(
        "the recorder's root at {} has layout version {} (size {}); this heapscope reads version {}",
        to_hex(*at), root->layout_version, root->root_size, HSR_LAYOUT_VERSION)};
  out.root = *at;
  out.by_symbol = !out.findings.empty() ? false : symbols.find("", HSR_ROOT_SYMBOL).has_value();
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

}  // namespace heapscope::sites
