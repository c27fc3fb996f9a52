// musl::Heap: musl's malloc (mallocng, musl 1.2.1+) as a HeapModel.
// mallocng hands out slots of groups: a group is a run of equal slots of
// one size class (48 classes, 16 bytes to 128 KiB), mapped on its own or
// nested in a slot of a bigger class's group; each group has a meta (its
// descriptor) in a meta area, a page that starts with the context's random
// secret. A meta's avail_mask and freed_mask say which slots are free; a
// slot in use carries a 4-byte header in front of the pointer malloc
// returned that gives its index, its offset from the group, and how many of
// the slot's bytes the program did not ask for, so the model knows each
// allocation's exact size. Allocations of 128 KiB and more are single-slot
// groups mapped for themselves. The root is __malloc_context, in libc's
// .bss (a static program's own): by symbol, or by shape when stripped.
#pragma once

#include <memory>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::musl {

// One group, as its meta describes it (heap bins lists them).
struct Group {
  Address meta;              // its descriptor, in a meta area
  Address mem;               // the group: a 16-byte header, then the slots
  unsigned sizeclass = 0;    // 0..47, or 63 for malloc's own mmapped slots
  unsigned slots = 0;        // last_idx + 1
  uint64_t stride = 0;       // bytes per slot
  uint32_t avail_mask = 0;   // free slots ready to hand out
  uint32_t freed_mask = 0;   // freed slots (and ones never activated)
  uint64_t maplen = 0;       // pages mapped for it; 0 when nested or donated
  bool freeable = true;      // false: memory the dynamic linker donated
  bool active = false;       // on its size class's active list
  bool nested = false;       // inside a slot of another group
};

class Heap : public HeapModel {
 public:
  Address context;              // __malloc_context
  uint64_t secret = 0;          // ctx.secret, the check word of every meta area
  bool found_by_structure = false;  // no symbol named the context
  std::vector<Group> groups;    // every group with a valid meta, in meta order
};

// The mallocng heap of this target; nullptr when no musl is in it.
// Throws UserError when musl is there but its context cannot be found.
std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel);

}  // namespace heapscope::musl
