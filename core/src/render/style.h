// Style: heapscope's one colour scheme for text output. Renderers ask it to
// paint a piece of text in a hue (a chunk state, an address, a finding);
// when colour is off, as for JSON, a pipe or NO_COLOR, it returns the text
// untouched, so no escape code ever reaches plain output. Front-ends only
// decide whether colour is on (CommandContext::color); every escape code
// heapscope prints is in style.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "heapscope/address.h"
#include "heapscope/model/heap_model.h"

namespace heapscope {

enum class Hue : uint8_t {
  kPlain,
  kAddress,
  kInUse,
  kTcache,
  kFast,
  kUnsorted,
  kSmall,
  kLarge,
  kTop,
  kMmapped,
  kMetadata,
  kAnomaly,  // bytes the walk could not place (free_unlisted, unknown)
  kFinding,  // a heap problem, an abort glibc would make
  kGood,     // what a check found in order (free() would accept the pointer)
};

class Style {
 public:
  explicit Style(bool on = false) : on_(on) {}
  bool on() const { return on_; }

  // `text` in the hue's colour (reset after it); `text` itself when off.
  std::string paint(Hue hue, std::string_view text) const;
  // An address as 0x... hex in the address colour.
  std::string address(Address a) const;
  // `text` painted, then padded with spaces to `width` visible columns
  // (left-aligned) or led by them (right-aligned): the padding stays outside
  // the colour so the columns line up the same with colour on and off.
  std::string left(Hue hue, std::string_view text, size_t width) const;
  std::string right(Hue hue, std::string_view text, size_t width) const;

 private:
  bool on_;
};

// The hue of a state by its name: glibc's chunk states ("tcache",
// "unsorted", ...) and the states every allocator shares ("free", "cached").
// Names it does not know (another allocator's own kinds) take `fallback`.
Hue state_hue(std::string_view state, Hue fallback = Hue::kPlain);
// The hue of a shared block state (another allocator's kinds).
Hue block_state_hue(BlockState state);
// The hue of a model's block kind: its own name when that is a known state
// ("tcache", "fast"), else its shared state's.
Hue kind_hue(const BlockKind& kind);

}  // namespace heapscope
