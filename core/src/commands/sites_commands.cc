// `heap sites`: live memory by allocation stack, from the tables
// libheapscope-record kept in the target (recorder/).
#include <fmt/format.h>

#include <map>

#include "commands/registry.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/sites/site_groups.h"
#include "render/sites_render.h"

namespace heapscope {
namespace {

constexpr size_t kTextSites = 20;

void run_sites(CommandContext& ctx) {
  auto by = ctx.args.get("--by").value_or("bytes");
  if (by != "bytes" && by != "count") throw UserError{fmt::format("--by takes bytes or count, not '{}'", by)};
  const Target& t = ctx.session.target();
  const SymbolResolver& symbols = ctx.session.symbols();
  auto tables = sites::read_record_tables(t, symbols, ctx.cancel);
  if (!tables)
    throw UserError{"no allocation sites recorded in this process: run it with "
                    "LD_PRELOAD=libheapscope-record.so (see \"Allocation sites\" in the README)"};
  const HeapModel& m = model_option(ctx);
  auto block_size = [&m](Address a) -> std::optional<uint64_t> {
    const Block* b = m.block_with_user_begin(a);
    if (!b || !is_live(m.state(*b))) return std::nullopt;
    return uint64_t{b->size};
  };
  auto groups = sites::group_by_site(*tables, block_size,
                                     by == "count" ? sites::SiteOrder::kCount : sites::SiteOrder::kBytes);
  SitesListing l{*tables, groups, {}, 0, by == "count"};
  l.shown = std::min<uint64_t>(groups.groups.size(),
                               ctx.args.get_uint("--limit").value_or(ctx.args.json() ? SIZE_MAX : kTextSites));
  // Return addresses point after the call: the call's line is at ra - 1.
  std::map<uint64_t, std::optional<SymbolAt>> cache;
  for (size_t i = 0; i < l.shown; ++i) {
    check_cancel(ctx.cancel);
    auto& row = l.symbols.emplace_back();
    uint32_t stack = groups.groups[i].stack;
    if (stack == sites::kNoStack) continue;
    for (Address ra : tables->stacks[stack]) {
      auto [it, fresh] = cache.try_emplace(ra.value);
      if (fresh && ra.value > 0) it->second = symbols.at(Address(ra.value - 1));
      row.push_back(it->second);
    }
  }
  if (ctx.args.json())
    sites_json(ctx.out, l);
  else
    sites_text(ctx.out, l);
}

}  // namespace

void add_sites_commands(std::vector<CommandSpec>& t) {
  t.push_back({"heap", "sites", "Show live memory by allocation stack (needs libheapscope-record)",
               "heap sites [--by bytes|count] [--limit N] [--allocator NAME] [--json]",
               "Reads the tables libheapscope-record.so keeps in a program it is preloaded into\n"
               "(LD_PRELOAD) or linked with: for each live allocation, the stack that made it.\n"
               "Sites are unique stacks; bytes are the sizes of their in-use chunks, headers\n"
               "included. Frames are return addresses, named with the line of the call.",
               {{"--by", "bytes|count", "order sites by bytes (default) or by allocations"},
                {"--limit", "N", "print at most N sites (text: 20, JSON: all)"}, kAllocatorOption},
               0, 0, run_sites});
}

}  // namespace heapscope
