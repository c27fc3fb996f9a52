#include "render/try_free_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace heapscope {

using glibc::TryFreeOutcome;
using json = nlohmann::ordered_json;

namespace {

uint64_t tcache_bin_size(int bin) { return 32 + 16 * static_cast<uint64_t>(bin); }

std::string outcome_text(const glibc::TryFreeReport& r, const Style& style) {
  switch (r.outcome) {
    case TryFreeOutcome::kNothing: return "nothing";
    case TryFreeOutcome::kAbort: return style.paint(Hue::kFinding, "glibc aborts: " + r.message);
    case TryFreeOutcome::kCrash: return style.paint(Hue::kFinding, "crash: " + r.message);
    case TryFreeOutcome::kTcache:
      return fmt::format("{}: count {} -> {} of {}",
                         style.paint(Hue::kTcache, fmt::format("tcache bin {} (size {:#x}) of thread {}", r.bin,
                                                               tcache_bin_size(r.bin), r.tid)),
                         r.count, r.count + 1, r.capacity);
    case TryFreeOutcome::kFast:
      return fmt::format("{}, as its first chunk",
                         style.paint(Hue::kFast, fmt::format("fastbin {} (size {:#x}) of arena {}", r.bin,
                                                             tcache_bin_size(r.bin), r.arena)));
    case TryFreeOutcome::kUnsorted:
      return fmt::format("{} as chunk {}, size {:#x}",
                         style.paint(Hue::kUnsorted, fmt::format("unsorted bin of arena {}", r.arena)),
                         style.address(r.merged), r.merged_size);
    case TryFreeOutcome::kTop:
      return fmt::format("{}: top becomes {}, size {:#x}",
                         style.paint(Hue::kTop, fmt::format("merged into the top chunk of arena {}", r.arena)),
                         style.address(r.merged), r.merged_size);
    case TryFreeOutcome::kMunmap:
      return fmt::format("{}({}, {:#x})", style.paint(Hue::kMmapped, "munmap"), style.address(r.merged),
                         r.merged_size);
  }
  return "?";
}

}  // namespace

std::string try_free_text(const glibc::TryFreeReport& r, const Style& style) {
  if (r.pointer.is_null()) return "free(0x0): free(NULL) does nothing\n";
  std::string out = fmt::format("free({}) with glibc {}: chunk {}", style.address(r.pointer), r.version,
                                style.address(r.chunk));
  if (r.size_field) out += fmt::format(", size {:#x} (size field {:#x})", r.size, *r.size_field);
  if (!r.known_state.empty()) out += ", " + style.paint(state_hue(r.known_state), r.known_state);
  if (r.arena >= 0) out += fmt::format(", arena {}", r.arena);
  out += "\n";
  for (size_t i = 0; i < r.checks.size(); ++i) {
    const auto& c = r.checks[i];
    // FAIL is the check glibc aborts on; "no" a test that only picks the way on.
    const bool fatal = !c.passed && i + 1 == r.checks.size() && r.outcome == TryFreeOutcome::kAbort;
    out += fmt::format("  {} {}: {}\n",
                       c.passed ? style.paint(Hue::kGood, "ok  ") : fatal ? style.paint(Hue::kFinding, "FAIL") : "no  ",
                       c.name, c.detail);
  }
  out += "  => " + outcome_text(r, style) + "\n";
  for (const auto& n : r.notes) out += "  then: " + n + "\n";
  return out;
}

std::string try_free_json(const glibc::TryFreeReport& r, size_t findings) {
  json checks = json::array();
  for (const auto& c : r.checks) checks.push_back({{"check", c.name}, {"ok", c.passed}, {"detail", c.detail}});
  json doc{{"pointer", to_hex(r.pointer)},
           {"chunk", to_hex(r.chunk)},
           {"size_field", r.size_field ? json(*r.size_field) : json(nullptr)},
           {"size", r.size},
           {"state", r.known_state.empty() ? json(nullptr) : json(r.known_state)},
           {"arena", r.arena},
           {"glibc_version", r.version},
           {"checks", std::move(checks)},
           {"outcome", std::string(glibc::try_free_outcome_name(r.outcome))},
           {"message", r.message}};
  if (r.outcome == TryFreeOutcome::kTcache) {
    doc["bin"] = r.bin;
    doc["thread"] = r.tid;
    doc["count"] = r.count;
    doc["capacity"] = r.capacity;
  } else if (r.outcome == TryFreeOutcome::kFast) {
    doc["bin"] = r.bin;
  } else if (r.outcome == TryFreeOutcome::kUnsorted || r.outcome == TryFreeOutcome::kTop ||
             r.outcome == TryFreeOutcome::kMunmap) {
    doc["merged"] = {{"address", to_hex(r.merged)}, {"size", r.merged_size}};
  }
  doc["notes"] = r.notes;
  doc["findings"] = findings;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace heapscope
