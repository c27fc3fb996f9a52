// `heap check`: glibc's integrity checks on every chunk and list; on
// another allocator, the findings of its model's walk.
#include <fmt/format.h>

#include "commands/registry.h"
#include "heapscope/analysis/check.h"
#include "heapscope/glibc/heap.h"
#include "render/check_render.h"

namespace heapscope {

namespace {

void write_report(CommandContext& ctx, const CheckReport& r) {
  ctx.found_problems = !r.findings.empty();
  if (ctx.args.json()) check_json(ctx.out, r);
  else check_text(ctx.out, r, Style(ctx.color));
}

void run_check(CommandContext& ctx) {
  const HeapModel& model = model_option(ctx);
  const auto* glibc = dynamic_cast<const glibc::Heap*>(&model);
  if (!glibc) {
    // Another allocator: what its walk found wrong is the report.
    if (ctx.args.get("--arena"))
      throw UserError{fmt::format("--arena is not available for {} yet", model.allocator)};
    ctx.found_problems = !model.findings.empty();
    if (ctx.args.json()) model_check_json(ctx.out, model);
    else model_check_text(ctx.out, model);
    return;
  }
  const glibc::Heap& h = *glibc;
  if (auto arena = arena_option(ctx, h)) {
    CheckOptions opt = ctx.session.check_options(h);
    opt.arena = *arena;
    write_report(ctx, check_heap(h, ctx.session.target(), opt, ctx.cancel));
    return;
  }
  write_report(ctx, ctx.session.heap_check(ctx.cancel));
}

}  // namespace

size_t heap_problems(CommandContext& ctx) { return ctx.session.heap_check(ctx.cancel).findings.size(); }

std::string with_findings_footer(CommandContext& ctx, std::string text, AddressRange shown) {
  if (!ctx.args.json()) text += findings_footer(ctx.session.heap_check(ctx.cancel), shown, Style(ctx.color));
  return text;
}

void write_findings_footer(CommandContext& ctx) {
  if (!ctx.args.json()) ctx.out.write(findings_footer(ctx.session.heap_check(ctx.cancel), {}, Style(ctx.color)));
}

void add_check_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "check", "Check every chunk and free list against glibc's own integrity checks",
               "heap check [--arena I] [--allocator NAME] [--json]",
               "Each problem is printed with its address, what is wrong, the message glibc would abort\n"
               "with when the program next touches it, and the likely cause (an overflow from the chunk\n"
               "before, a double free, a write after free). On another allocator (jemalloc, musl), the\n"
               "problems its heap walk met: address, owner, kind and what is wrong.",
               {{"--arena", "I", "only arena I (0 is the main arena; ring order) and its threads' tcaches",
                 ValueKind::kNumber}, kAllocatorOption}, 0,
               0, run_check});
}

}  // namespace heapscope
