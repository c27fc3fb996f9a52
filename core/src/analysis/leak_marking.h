// LeakMarking: analyze_leaks' marking engine, on one thread or several.
//
// Speed: the marks are one byte per chunk and become the result's classes in
// place. Each thread's mark queue is bounded (as in a garbage collector's):
// when it is full, a chunk is only marked "pending", and a sweep in address
// order scans the pending ones afterwards, so a pointer array of a million
// chunks costs a bounded queue and a sequential pass instead of a
// million-entry one. The queue is first in, first out, and a chunk's first
// bytes are prefetched as it enters: a thousand linked lists are followed a
// node of each in turn, so a node's bytes are in cache when it is scanned (a
// stack would follow one list at a time, a cache miss per node). Alone (one
// thread), every phase starts with a sweep, and a pointer to a chunk ahead
// of the sweep only marks it: the sweep scans it in address order. Where
// objects mostly point to later ones (a tree built from the root down, a
// list built by appending), most of the marking is one sequential pass;
// pointers behind the sweep go through the queue.
//
// Threads: the marks are a fixed point, the same whatever the order, so it
// does not matter which thread reaches a chunk first. Every change of a mark
// byte is a compare-exchange (unvisited or seed to pending, pending to
// done): each chunk is scanned once. Each thread has its own queue and its
// own lookup state (lookups cache their last span). A thread whose queue
// runs dry takes from a shared pool, which busy threads fill while another
// waits, so one root's tree still spreads over every core; a round ends when
// every thread waits and the pool is empty. The sweeps split the chunks among
// the threads by address. Tallies are counted afterwards from the final
// marks: nothing in the result depends on the thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "analysis/pointer_scan.h"
#include "heapscope/analysis/leaks.h"

namespace heapscope {

// How analyze_leaks marks; the result is the same whatever these are.
struct LeakScanOptions {
  unsigned threads = 0;            // 0: scan_threads' choice (HEAPSCOPE_THREADS, the cores)
  uint32_t queue_limit = 1 << 16;  // chunks queued per thread before the rest waits for a sweep
};
LeakAnalysis analyze_leaks(const Target& target, const HeapModel& heap, const CancelToken& cancel,
                           const LeakScanOptions& options);

}  // namespace heapscope

namespace heapscope::analysis {

// Working marks, one byte per chunk. A chunk is "pending" once reached and
// until scanned. kUnvisited is 0: the marks start as zeroed memory, and a
// chunk that is not a node is never marked (find() returns nodes only).
enum Mark : uint8_t {
  kUnvisited, kSeed, kReachPending, kReach, kPossPending, kPoss,
};

class LeakMarking {
 public:
  // `threads` >= 1 (1: no other thread, plain stores); `queue_limit`: each
  // thread's queue (rounded up to a power of two). index and words serve the
  // calling thread; the others get copies.
  LeakMarking(const HeapModel& heap, const NodeIndex& index, const ChunkWords& words, uint8_t* marks,
              unsigned threads, uint32_t queue_limit, const CancelToken& cancel);
  ~LeakMarking();

  // Phase 1, on the calling thread (the roots): v, a pointer from a root or
  // a reachable chunk. A start pointer makes its node reachable, an
  // interior one only a seed.
  void definite(uint64_t v);
  // Phase 2's start: every seed (an interior pointer's node left unreached)
  // becomes possibly reachable.
  void seeds_to_possible();
  // Scans every chunk pending in the phase and all it reaches.
  void drain(bool definite_phase);

 private:
  struct Shared;
  class Worker;
  template <bool kDefinite>
  void run_rounds();
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;  // [0]: the calling thread's
};

}  // namespace heapscope::analysis
