// Renderers for `heap map`: the text strips (and their JSON), and the
// self-contained HTML map (canvas, zoom and pan, hover tooltip, the frag
// figures beside it). The HTML has no external resources.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "heapscope/analysis/frag.h"
#include "heapscope/analysis/model_frag.h"
#include "heapscope/analysis/heapmap.h"
#include "heapscope/glibc/heap.h"
#include "render/style.h"

namespace heapscope {

// Text strips: states, addresses and the legend in colour when `style` is on.
std::string map_text(const glibc::Heap& h, const HeapMap& m, const Style& style = Style());
std::string map_json(const glibc::Heap& h, const HeapMap& m);

// Something the HTML map points at and lists in its side panel: a heap
// problem or a leaked chunk.
struct MapMark {
  Address address;
  uint64_t size = 0;   // of the chunk it concerns (0: a point)
  std::string kind;    // "finding", "direct", "indirect", "possible"
  std::string label;   // the finding's kind and detail, or the leak's class
};

// The whole HTML document. `title` names the target; `findings` is how many
// problems heap check finds; `marks` are drawn on the map and listed.
std::string map_html(const glibc::Heap& h, const HeapMap& m, const FragReport& frag, std::string_view title,
                     size_t findings, const std::vector<MapMark>& marks = {},
                     const std::vector<uint64_t>& first_words = {});
// `first_words`, when given, holds each chunk's first 8 data bytes (indexed
// as h.blocks): the page shows them when zoomed in far enough.

// `heap map` on any other allocator's model: a row per system range,
// grouped by owner, blocks in their generic states. The HTML page is the
// same template fed the model's rows, its frag figures and `marks`.
std::string model_map_text(const HeapModel& h, const HeapMap& m, const Style& style = Style());
std::string model_map_json(const HeapModel& h, const HeapMap& m);
std::string model_map_html(const HeapModel& h, const HeapMap& m, const ModelFragReport& frag, std::string_view title,
                           const std::vector<MapMark>& marks, const std::vector<uint64_t>& first_words = {});

// The page around the data (map_template.cc); "/*HEAPSCOPE_DATA*/" marks
// where the JSON data goes.
std::string_view map_html_template();

std::string base64_encode(std::string_view bytes);

}  // namespace heapscope
