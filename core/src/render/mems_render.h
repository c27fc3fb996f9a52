// Renderers for the mems commands: each report in text (for people) and as
// one line of JSON (for programs). Runners pick one; nothing else prints.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "heapscope/mems/heap.h"
#include "heapscope/mems/stats.h"
#include "heapscope/output.h"

namespace heapscope {

// Allocation sites the runner could name ("make_records+0x2a"), keyed by
// address; a site missing here prints as its address (text) or null (JSON).
using SiteNames = std::unordered_map<uint64_t, std::string>;

std::string mems_stats_text(const mems::SegmentHeap& h, const mems::SegmentStats& s, const mems::PoolStats& p);
std::string mems_stats_json(const mems::SegmentStats& s, const mems::PoolStats& p);

// nodes: indices into h.nodes to show.
// The listings are written to `out` as they are rendered.
void mems_chain_text(OutputWriter& out, const mems::SegmentHeap& h, const std::vector<size_t>& nodes,
                     const SiteNames& sites);
void mems_chain_json(OutputWriter& out, const mems::SegmentHeap& h, const std::vector<size_t>& nodes,
                     const SiteNames& sites);

std::string mems_get_text(const mems::Translation& t, const SiteNames& sites);
std::string mems_get_json(const mems::Translation& t);

void mems_map_text(OutputWriter& out, const mems::SegmentHeap& h);
void mems_map_json(OutputWriter& out, const mems::SegmentHeap& h);

std::string mems_pools_text(const mems::SegmentHeap& h, const mems::PoolStats& p);
std::string mems_pools_json(const mems::SegmentHeap& h, const mems::PoolStats& p);

std::string mems_check_text(const mems::SegmentHeap& h);
std::string mems_check_json(const mems::SegmentHeap& h);

// The lines every mems command adds in text: notes (busy, not initialized)
// and a warning when the walk met anomalies.
std::string mems_footer(const mems::SegmentHeap& h);

}  // namespace heapscope
