// heap bins on musl: mallocng's groups per size class, each with its slot
// masks (bit i is slot i), where its memory came from and whether it is on
// the class's active list. Text for people, JSON for programs.
#pragma once

#include <string>

#include "heapscope/musl/heap.h"

namespace heapscope {

// `per_class`: the groups shown under each class in text (all in JSON).
std::string musl_groups_text(const musl::Heap& heap, size_t per_class);
std::string musl_groups_json(const musl::Heap& heap);

}  // namespace heapscope
