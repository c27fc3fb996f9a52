#include "commands/site_listing.h"

#include "commands/recorded_sites.h"
#include "commands/registry.h"
#include "heapscope/analysis/leaks.h"
#include "heapscope/model/heap_model.h"

namespace heapscope {

sites::SiteGroups group_sites(CommandContext& ctx, const sites::RecordTables& tables, bool leaked,
                              sites::SiteOrder order) {
  const HeapModel& m = model_option(ctx);
  std::optional<LeakAnalysis> leaks;
  if (leaked) leaks = analyze_leaks(ctx.session.target(), m, ctx.cancel);
  auto block_size = [&](Address a) -> std::optional<uint64_t> {
    const Block* b = m.block_with_user_begin(a);
    if (!b || !is_live(m.state(*b))) return std::nullopt;
    if (leaks) {
      LeakClass c = leaks->classes[static_cast<size_t>(b - m.blocks.data())];
      if (c != LeakClass::kDirect && c != LeakClass::kIndirect) return std::nullopt;
    }
    return uint64_t{b->size};
  };
  return sites::group_by_site(tables, block_size, order);
}

void write_site_listing(CommandContext& ctx, const sites::RecordTables& tables, const sites::SiteGroups& groups,
                        bool by_count, bool leaked, size_t text_limit) {
  SitesListing l{tables, groups, {}, 0, by_count, leaked};
  l.shown = std::min<uint64_t>(groups.groups.size(),
                               ctx.args.get_uint("--limit").value_or(ctx.args.json() ? SIZE_MAX : text_limit));
  sites::FrameSymbols symbols(ctx.session.symbols());
  for (size_t i = 0; i < l.shown; ++i) {
    check_cancel(ctx.cancel);
    l.frames.push_back(named_frames(tables, groups.groups[i].stack, symbols));
  }
  if (ctx.args.json()) sites_json(ctx.out, l);
  else sites_text(ctx.out, l);
}

}  // namespace heapscope
