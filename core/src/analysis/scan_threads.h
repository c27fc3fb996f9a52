// How many threads a scan of target memory uses (the leak marking).
#pragma once

#include "heapscope/target.h"

namespace heapscope::analysis {

// 1 when the target's reads are not safe from several threads (a debugger's
// callbacks: see heapscope/concurrent_reads.h); else `asked` when not 0; else
// HEAPSCOPE_THREADS when it is a number from 1 (the sequential path) to 64;
// else 1. Results never depend on it.
unsigned scan_threads(const Target& target, unsigned asked = 0);

}  // namespace heapscope::analysis
