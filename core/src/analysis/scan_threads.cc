// scan_threads: the target's capability, then the caller, then the environment; else one.
#include "analysis/scan_threads.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "heapscope/concurrent_reads.h"

namespace heapscope::analysis {

unsigned scan_threads(const Target& target, unsigned asked) {
  if (!concurrent_reads(target)) return 1;
  if (asked) return asked;
  if (const char* env = std::getenv("HEAPSCOPE_THREADS")) {
    unsigned n = 0;
    const char* end = env + std::strlen(env);
    auto [p, ec] = std::from_chars(env, end, n);
    if (ec == std::errc() && p == end && n >= 1 && n <= 64) return n;
  }
  // One thread unless asked: each thread costs 1.3-3 bytes per chunk (its
  // copy of the block index), and a second one pays off on some heap shapes
  // only (README, Speed: Threads).
  return 1;
}

bool helper_thread_allowed(const Target& target) {
  if (!concurrent_reads(target) || std::thread::hardware_concurrency() < 2) return false;
  const char* env = std::getenv("HEAPSCOPE_THREADS");
  return !env || std::strcmp(env, "1") != 0;
}

}  // namespace heapscope::analysis
