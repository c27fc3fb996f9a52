#include "commands/site_listing.h"

#include "commands/registry.h"

namespace heapscope {

sites::SiteGroups group_sites(CommandContext& ctx, const SiteSource& source, bool leaked, sites::SiteOrder order) {
  return sites::group_by_site(source.tables, source.counted_size(ctx, leaked), order);
}

void write_site_listing(CommandContext& ctx, const SiteSource& source, const sites::SiteGroups& groups,
                        bool by_count, bool leaked, size_t text_limit) {
  const sites::RecordTables& tables = source.tables;
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
