// scan_threads: the target's capability, then the caller, the environment, the machine.
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
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxScanThreads);
}

}  // namespace heapscope::analysis
