// HeapMap: every heap of every arena reduced to spans for drawing. A span is
// a run of adjacent chunks in one state; when there are too many runs to
// draw, the heaps are cut into cells of `granularity` bytes and each cell
// takes the state that covers most of it (or kMixed when none covers 60%).
// The text strip is the same idea with one character per cell.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

// Span states are glibc::ChunkState values, plus kMixed; on any other
// model, BlockState values plus kModelMixedState.
inline constexpr uint8_t kMixedState = glibc::kChunkStateCount;
inline constexpr uint8_t kModelMixedState = kBlockStateCount;

struct MapSpan {
  uint64_t offset = 0;  // from the heap's begin
  uint64_t size = 0;
  uint8_t state = 0;    // a ChunkState, or kMixedState
  uint32_t chunks = 0;  // chunks that start in this span
};

struct MapHeap {
  int arena = 0;         // on any other model: the owner index, or kNoOwner
  int index = 0;         // heap number within its arena, oldest first (a model's: its range number)
  AddressRange range;
  bool sbrk = false;
  std::vector<MapSpan> spans;
  std::string strip;     // text: one character per cell
  uint64_t chunks = 0;
};

struct HeapMap {
  uint64_t granularity = 0;   // 0: spans are exact runs of chunks
  size_t arenas = 0;          // arenas drawn
  std::vector<MapHeap> heaps; // arena by arena, oldest heap first
  std::vector<const glibc::Chunk*> mmapped;
  size_t strip_width = 0;
};

// Character for a span state in the text strip, and the legend in order.
char map_char(uint8_t state);
std::string map_state_name(uint8_t state);  // glibc::state_name, or "mixed"
std::vector<uint8_t> map_legend_states();

// The same for any other model's span states.
char model_map_char(uint8_t state);
std::string model_map_state_name(uint8_t state);  // block_state_name, or "mixed"
std::vector<uint8_t> model_map_legend_states();

// max_spans bounds the spans of all heaps together (the HTML map's size);
// strip_width is the number of characters per heap in the text strip.
HeapMap build_heap_map(const glibc::Heap& heap, std::optional<int> arena, size_t strip_width,
                       size_t max_spans, const CancelToken& cancel = CancelToken());
// Any other allocator's model: one row per system range, grouped by owner
// (the owner of the range's first block), spans in BlockState values.
HeapMap build_model_map(const HeapModel& heap, size_t strip_width, size_t max_spans,
                        const CancelToken& cancel = CancelToken());

}  // namespace heapscope
