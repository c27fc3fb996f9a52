// Renderer for `heap sites`: live memory by allocation stack, in text and
// one line of JSON. The runner groups and symbolises; this only formats.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "heapscope/output.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/sites/site_groups.h"
#include "heapscope/symbols.h"

namespace heapscope {

struct SitesListing {
  const sites::RecordTables& tables;
  const sites::SiteGroups& groups;
  std::vector<std::vector<std::optional<SymbolAt>>> symbols;  // per shown group, per frame
  size_t shown = 0;          // groups listed (--limit)
  bool by_count = false;
};

void sites_text(OutputWriter& out, const SitesListing& l);
void sites_json(OutputWriter& out, const SitesListing& l);

}  // namespace heapscope
