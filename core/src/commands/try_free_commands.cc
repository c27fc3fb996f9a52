// `heap try-free ADDR`: what glibc's free() would do with a pointer.
#include <fmt/format.h>

#include "commands/registry.h"
#include "glibc/try_free.h"
#include "heapscope/analysis/check.h"
#include "heapscope/glibc/heap.h"
#include "render/try_free_render.h"

namespace heapscope {

namespace {

std::string run_try_free(CommandContext& ctx) {
  const auto& h = ctx.session.glibc_heap(ctx.cancel);
  glibc::TryFreeInputs in;
  in.tcache_key = ctx.session.heap_check(ctx.cancel).tcache_key;
  // mallopt(M_MXFAST) takes at most 80 * sizeof(size_t) / 4 bytes: a
  // larger value is not global_max_fast (a symbol resolved wrong), so the
  // default stands.
  constexpr uint64_t kMaxFastLimit = 80 * 8 / 4 + 16;
  if (auto a = ctx.session.symbols().find(h.libc_module, "global_max_fast"))
    if (auto v = ctx.session.target().read_u64(*a); v && *v <= kMaxFastLimit) in.max_fast = *v;
  if (auto tid = ctx.args.get_uint("--thread")) {
    bool known = false;
    for (const auto& t : ctx.session.target().threads()) known = known || static_cast<uint64_t>(t.tid) == *tid;
    if (!known) throw UserError{fmt::format("no thread {} in the target", *tid)};
    in.tid = static_cast<int>(*tid);
  }
  auto r = glibc::try_free(h, ctx.session.target(), parse_address(ctx.args.positional.at(0)), in);
  if (ctx.args.json()) return try_free_json(r, heap_problems(ctx));
  return with_findings_footer(ctx, try_free_text(r, Style(ctx.color)));
}

}  // namespace

void add_try_free_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "try-free", "Show what glibc's free() would do with a pointer (read-only)",
               "heap try-free ADDR [--thread TID] [--json]",
               "free()'s checks in glibc's order, for the target's glibc version, on the words free() would\n"
               "read: the first that fails gives glibc's exact abort message; when all pass, where the chunk\n"
               "would go (a tcache bin and its count, a fastbin, the unsorted bin after merging, top, munmap).\n"
               "Nothing is written. ADDR is the pointer the program would pass (the user pointer).",
               {{"--thread", "TID", "the thread that frees (its tcache); default: the first thread (a core's crashing one)",
                 ValueKind::kNumber}},
               1, 1, rendered_whole(run_try_free), {{"ADDR", ValueKind::kAddress}}});
}

}  // namespace heapscope
