// Renderer for the allocation-site commands: `heap sites` (table and
// tree), `heap leaks --by-site`, the allocation of `heap chunk`, and the
// flame graph page. Runners group and symbolise; this only formats.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapscope/output.h"
#include "heapscope/sites/record_tables.h"
#include "heapscope/sites/site_groups.h"
#include "heapscope/sites/site_tree.h"
#include "heapscope/symbols.h"

namespace heapscope {

// A return address and the call it returns from, when a symbol covers it.
struct NamedFrame {
  Address ra;
  std::optional<SymbolAt> symbol;
};
// "site_alpha (record_sites.c:36)", "name+0x10", or the bare address.
std::string frame_text(const NamedFrame& f);
nlohmann::ordered_json frame_json(const NamedFrame& f);

// Who recorded the sites: "libheapscope-record, root 0x..., pid 42", or
// "MeMS, root 0x..." (no pid); with_root false leaves the root out.
std::string recorded_by(const sites::RecordTables& t, bool with_root);

struct SitesListing {
  const sites::RecordTables& tables;
  const sites::SiteGroups& groups;
  std::vector<std::vector<NamedFrame>> frames;  // per shown group
  size_t shown = 0;          // groups listed (--limit)
  bool by_count = false;
  bool leaked = false;       // groups of leaked allocations, not of every live one
};

void sites_text(OutputWriter& out, const SitesListing& l);
void sites_json(OutputWriter& out, const SitesListing& l);

struct SiteTreeListing {
  const sites::RecordTables& tables;
  const sites::SiteTree& tree;
  std::vector<NamedFrame> frames;  // per tree node (the root's is empty)
  size_t children_shown = 0;       // text: children listed per node (--limit)
  bool leaked = false;
};

void site_tree_text(OutputWriter& out, const SiteTreeListing& l);
void site_tree_json(OutputWriter& out, const SiteTreeListing& l);
// One self-contained page (inline CSS and JS, no network): the tree as a
// flame graph, outermost frame at the bottom, widths in bytes.
void flamegraph_html(OutputWriter& out, const SiteTreeListing& l);

// The recorded allocation of one chunk (heap chunk).
struct ChunkAllocation {
  std::optional<sites::SiteRecord> record;  // none: the source has no record of it
  std::string unrecorded;                   // why a live block may have none (RecordTables::unrecorded)
  std::vector<NamedFrame> frames;
};
std::string chunk_allocation_text(const ChunkAllocation& a);
nlohmann::ordered_json chunk_allocation_json(const ChunkAllocation& a);

}  // namespace heapscope
