// How many threads a scan of target memory uses (the leak marking).
#pragma once

#include "heapscope/target.h"

namespace heapscope::analysis {

// 1 when the target's reads are not safe from several threads (a debugger's
// callbacks: see heapscope/concurrent_reads.h); else `asked` when not 0; else
// HEAPSCOPE_THREADS when it is a number from 1 (the sequential path) to 64;
// else 1. Results never depend on it.
unsigned scan_threads(const Target& target, unsigned asked = 0);

// Whether a model's walk may run a helper beside the calling thread unasked
// (it costs no memory of its own): the target's reads are safe from several
// threads, the machine has a second hardware thread, and HEAPSCOPE_THREADS
// does not say 1.
bool helper_thread_allowed(const Target& target);

}  // namespace heapscope::analysis
