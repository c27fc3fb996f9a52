// `heap chunk ADDR` on any allocator's HeapModel but glibc's (glibc keeps
// its header fields and free lists in heap_render): the block that holds
// ADDR in the allocator's words and the shared ones, in text or one line of
// JSON shaped like glibc's (same keys where they mean the same, plus
// "allocator"); and the one line for an address in no block.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/model/heap_model.h"
#include "heapscope/target.h"
#include "render/sites_render.h"

namespace heapscope {

// What the runner found out about one block; the renderers only format it.
struct BlockView {
  const HeapModel& model;
  const Block& block;
  Address asked;                            // the address the user gave
  std::optional<std::string> type;          // its C++ class, from a vtable (live blocks)
  std::vector<const Finding*> findings;     // the model's findings inside the block
  std::optional<std::vector<unsigned char>> dump;  // --dump: bytes from the block's data
  std::optional<ChunkAllocation> allocation;  // where it was allocated, when the model's sites say
};

std::string block_text(const BlockView& v);
std::string block_json(const BlockView& v);

// The bytes of --dump in text, as glibc's heap chunk prints them: a header
// line, then 16 bytes a line from `at`; and as JSON's "dump" hex string.
std::string dump_text(Address at, const std::vector<unsigned char>& bytes);
std::string dump_hex(const std::vector<unsigned char>& bytes);

// Why `asked` has no block: the blocks nearest to it (when the runner
// found them relevant) and the mapping it is in (`region`, or none).
std::string not_in_block_line(const HeapModel& m, Address asked, const Region* region, const Block* below,
                              const Block* above);

}  // namespace heapscope
