// `heap check`: glibc's integrity checks on every chunk and list.

#include "commands/registry.h"
#include "heapscope/analysis/check.h"
#include "heapscope/glibc/heap.h"
#include "render/check_render.h"

namespace heapscope {

namespace {

std::string run_check(CommandContext& ctx) {
  const auto& h = ctx.session.glibc_heap();
  CheckOptions opt;
  if (auto arena = arena_option(ctx, h)) opt.arena = *arena;
  // glibc 2.34+ keeps the key in a static; with libc's symbols we read it
  // rather than infer it from the entries.
  if (auto a = ctx.session.symbols().find("libc.so", "tcache_key"))
    if (auto v = ctx.session.target().read_u64(*a); v && *v) opt.tcache_key = *v;
  CheckReport r = check_heap(h, ctx.session.target(), opt, ctx.cancel);
  return ctx.args.json() ? check_json(r) : check_text(r);
}

}  // namespace

void add_check_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "check", "Check every chunk and free list against glibc's own integrity checks",
               "heap check [--arena I] [--json]",
               "Each problem is printed with its address, what is wrong, the message glibc would abort\n"
               "with when the program next touches it, and the likely cause (an overflow from the chunk\n"
               "before, a double free, a write after free).",
               {{"--arena", "I", "only arena I (0 is the main arena; ring order) and its threads' tcaches"}}, 0,
               0, run_check});
}

}  // namespace heapscope
