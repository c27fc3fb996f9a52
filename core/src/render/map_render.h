// Renderers for `heap map`: the text strips (and their JSON), and the
// self-contained HTML map (canvas, zoom and pan, hover tooltip, the frag
// figures beside it). The HTML has no external resources.
#pragma once

#include <string>
#include <string_view>

#include "heapscope/analysis/frag.h"
#include "heapscope/analysis/heapmap.h"
#include "heapscope/glibc/heap.h"

namespace heapscope {

std::string map_text(const glibc::Heap& h, const HeapMap& m);
std::string map_json(const glibc::Heap& h, const HeapMap& m);

// The whole HTML document. `title` names the target; `findings` is how many
// problems heap check finds.
std::string map_html(const glibc::Heap& h, const HeapMap& m, const FragReport& frag, std::string_view title,
                     size_t findings);

// The page around the data (map_template.cc); "/*HEAPSCOPE_DATA*/" marks
// where the JSON data goes.
std::string_view map_html_template();

std::string base64_encode(std::string_view bytes);

}  // namespace heapscope
