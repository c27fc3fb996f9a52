// The sites MeMS keeps itself: each PROCESS segment holds the return address
// of the mems_malloc call that made it and its sequence number
// (mems_layout.h), so the site commands read them as one-frame stacks, with
// no recorder. Pool blocks keep no site; the segments that hold pool arenas
// are the pools' memory, not an allocation of the program, and are left out.
#pragma once

#include "heapscope/mems/heap.h"
#include "heapscope/sites/record_tables.h"

namespace heapscope::sites {

// One record per PROCESS segment that holds no pool arena, at its physical
// address (pstart: the model's block), in address order; one stack per
// distinct site (a segment without one has kNoStack). No thread, no pid.
RecordTables mems_site_tables(const mems::SegmentHeap& heap);

}  // namespace heapscope::sites
