#include "commands/mimalloc_bins.h"

#include <fmt/format.h>

#include "heapscope/error.h"
#include "heapscope/mimalloc/heap.h"
#include "heapscope/session.h"
#include "render/mimalloc_render.h"

namespace heapscope {

bool run_mimalloc_bins(CommandContext& ctx) {
  try {
    ctx.session.glibc_heap(ctx.cancel);
    return false;  // glibc's heap is there: its bins
  } catch (const UserError&) {
  }
  const mimalloc::Heap* heap = nullptr;
  for (const HeapModel* m : ctx.session.heap_models(ctx.cancel))
    if (!heap) heap = dynamic_cast<const mimalloc::Heap*>(m);
  if (!heap) return false;
  if (!ctx.args.positional.empty())
    throw UserError{fmt::format("heap bins {}: glibc's list kinds; mimalloc keeps per-page lists (heap bins)",
                                ctx.args.positional[0])};
  int only = -1;
  if (auto a = ctx.args.get_uint("--arena")) {
    if (*a >= heap->owners.size())
      throw UserError{fmt::format("no owner {} (mimalloc's heap has {} owners: 0..{})", *a, heap->owners.size(),
                                  heap->owners.size() - 1)};
    only = int(*a);
  }
  size_t per_heap = ctx.args.get_uint("--limit").value_or(ctx.args.json() ? SIZE_MAX : 20);
  ctx.out.write(ctx.args.json() ? mimalloc_pages_json(*heap, only, per_heap)
                                : mimalloc_pages_text(*heap, only, per_heap));
  return true;
}

}  // namespace heapscope
