// `heap bins` on a tcmalloc target: its free lists per size class instead of
// glibc's bins.
#include <fmt/format.h>

#include "commands/registry.h"
#include "heapscope/error.h"
#include "heapscope/session.h"
#include "heapscope/tcmalloc/heap.h"
#include "render/tcmalloc_render.h"

namespace heapscope {

bool run_tcmalloc_bins(CommandContext& ctx) {
  const auto* h = dynamic_cast<const tcmalloc::Heap*>(&ctx.session.heap_model(ctx.cancel));
  if (!h) return false;
  if (!ctx.args.positional.empty() || ctx.args.has("--arena"))
    throw UserError{"tcmalloc has no arenas and no glibc bins: heap bins lists its size classes' free lists"};
  size_t limit = ctx.args.get_uint("--limit").value_or(SIZE_MAX);
  ctx.out.write(ctx.args.json() ? tcmalloc_bins_json(*h, limit) : tcmalloc_bins_text(*h, limit));
  return true;
}

}  // namespace heapscope
