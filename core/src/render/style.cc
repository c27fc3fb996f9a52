#include "render/style.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace heapscope {

namespace {

// SGR codes, chosen as pwndbg's heap views colour them: allocated chunks
// green, each free list its own colour, top bright, addresses blue, anything
// wrong red.
std::string_view sgr(Hue hue) {
  switch (hue) {
    case Hue::kPlain: return "";
    case Hue::kAddress: return "34";      // blue
    case Hue::kInUse: return "32";        // green
    case Hue::kTcache: return "35";       // magenta
    case Hue::kFast: return "36";         // cyan
    case Hue::kUnsorted: return "33";     // yellow
    case Hue::kSmall: return "93";        // bright yellow
    case Hue::kLarge: return "95";        // bright magenta
    case Hue::kTop: return "96";          // bright cyan
    case Hue::kMmapped: return "92";      // bright green
    case Hue::kMetadata: return "90";     // grey
    case Hue::kAnomaly: return "91";      // bright red
    case Hue::kFinding: return "1;31";    // bold red
    case Hue::kGood: return "1;32";       // bold green
  }
  return "";
}

constexpr std::array<std::pair<std::string_view, Hue>, 14> kStateHues{{
    {"in_use", Hue::kInUse},
    {"tcache", Hue::kTcache},
    {"fast", Hue::kFast},
    {"unsorted", Hue::kUnsorted},
    {"small", Hue::kSmall},
    {"large", Hue::kLarge},
    {"top", Hue::kTop},
    {"mmapped", Hue::kMmapped},
    {"mapped", Hue::kMmapped},
    {"metadata", Hue::kMetadata},
    {"free_unlisted", Hue::kAnomaly},
    {"unknown", Hue::kAnomaly},
    {"free", Hue::kUnsorted},
    {"cached", Hue::kTcache},
}};

}  // namespace

std::string Style::paint(Hue hue, std::string_view text) const {
  const std::string_view code = sgr(hue);
  if (!on_ || code.empty() || text.empty()) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

std::string Style::address(Address a) const { return paint(Hue::kAddress, to_hex(a)); }

std::string Style::left(Hue hue, std::string_view text, size_t width) const {
  std::string out = paint(hue, text);
  if (text.size() < width) out.append(width - text.size(), ' ');
  return out;
}

std::string Style::right(Hue hue, std::string_view text, size_t width) const {
  std::string out = text.size() < width ? std::string(width - text.size(), ' ') : std::string();
  return out + paint(hue, text);
}

Hue state_hue(std::string_view state, Hue fallback) {
  for (const auto& [name, hue] : kStateHues)
    if (name == state) return hue;
  return fallback;
}

Hue block_state_hue(BlockState state) { return state_hue(block_state_name(state)); }

Hue kind_hue(const BlockKind& kind) { return state_hue(kind.name, block_state_hue(kind.state)); }

}  // namespace heapscope
