// The site table shared by `heap sites` and `heap leaks --by-site`: the
// recorder's records grouped by stack, over every live block or over the
// leaked ones only, then rendered with their frames named.
#pragma once

#include "heapscope/command.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/sites/site_groups.h"

namespace heapscope {

// Groups over the session's heap model: live blocks, or (leaked) the
// blocks heap leaks classes direct or indirect.
sites::SiteGroups group_sites(CommandContext& ctx, const sites::RecordTables& tables, bool leaked,
                              sites::SiteOrder order);
// Text shows `text_limit` sites unless --limit says otherwise; JSON all.
void write_site_listing(CommandContext& ctx, const sites::RecordTables& tables, const sites::SiteGroups& groups,
                        bool by_count, bool leaked, size_t text_limit);

}  // namespace heapscope
