// The site table shared by `heap sites` and `heap leaks --by-site`: a site
// source's records grouped by stack, over every live block or over the
// leaked ones only, then rendered with their frames named.
#pragma once

#include "commands/recorded_sites.h"
#include "heapscope/command.h"
#include "heapscope/sites/site_groups.h"

namespace heapscope {

// Groups over the source's blocks: live ones, or (leaked) the ones its
// leak analysis classes direct or indirect.
sites::SiteGroups group_sites(CommandContext& ctx, const SiteSource& source, bool leaked, sites::SiteOrder order);
// Text shows `text_limit` sites unless --limit says otherwise; JSON all.
void write_site_listing(CommandContext& ctx, const SiteSource& source, const sites::SiteGroups& groups,
                        bool by_count, bool leaked, size_t text_limit);

}  // namespace heapscope
