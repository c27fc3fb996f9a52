// LeakMarking: bounded per-thread queues, a shared pool for idle threads,
// sweeps for what overflowed.
#include "analysis/leak_marking.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "util/helper_thread.h"

namespace heapscope::analysis {

struct LeakMarking::Shared {
  const Block* chunks;
  uint32_t count;
  uint8_t* marks;
  unsigned threads;
  bool concurrent;  // more than one thread: mark changes are compare-exchanges
  std::atomic<unsigned> participants{1};  // threads taking part in this round
  std::atomic<unsigned> idle{0};          // of them, waiting for work
  std::atomic<bool> overflow{false}, stop{false}, any_seed{false};
  std::mutex mu;
  std::vector<uint32_t> pool;  // guarded by mu
  std::atomic<size_t> pool_size{0};
  // The other threads' token: set when a thread failed or the caller's
  // token fired (only the calling thread polls that one).
  CancelToken stopped{[this] { return stop.load(std::memory_order_relaxed); }};

  // Moves chunk n's mark from `from` to `to`; false when it was not `from`
  // (or another thread moved it first).
  bool take(uint32_t n, uint8_t from, uint8_t to) {
    std::atomic_ref<uint8_t> m(marks[n]);
    if (m.load(std::memory_order_relaxed) != from) return false;
    if (!concurrent) {
      m.store(to, std::memory_order_relaxed);
      return true;
    }
    return m.compare_exchange_strong(from, to, std::memory_order_relaxed);
  }
};

class LeakMarking::Worker {
 public:
  Worker(Shared& s, const NodeIndex& index, const ChunkWords& words, uint32_t queue_limit,
         const CancelToken& cancel)
      : s_(s),
        index_(index),
        words_(words),
        cancel_(cancel),
        queue_(new uint32_t[queue_limit]),
        capacity_(queue_limit) {}
  // Another thread's: its own copies of the lookup state.
  Worker(Shared& s, const HeapModel& heap, const Worker& first, uint32_t queue_limit)
      : s_(s),
        own_(std::make_unique<Lookups>(heap, first.index_, first.words_)),
        index_(own_->index),
        words_(own_->words),
        cancel_(s.stopped),
        queue_(new uint32_t[queue_limit]),
        capacity_(queue_limit) {}

  void definite(uint64_t v) {
    bool start;
    const uint32_t n = index_.find(v, &start);
    if (n == kNoNode) return;
    if (start) {
      if (s_.take(n, kUnvisited, kReachPending) || s_.take(n, kSeed, kReachPending)) push(n);
    } else if (s_.take(n, kUnvisited, kSeed) && !s_.any_seed.load(std::memory_order_relaxed)) {
      s_.any_seed.store(true, std::memory_order_relaxed);
    }
  }
  void possible(uint64_t v) {
    bool start;
    const uint32_t n = index_.find(v, &start);
    if (n == kNoNode) return;
    if (s_.take(n, kUnvisited, kPossPending) || s_.take(n, kSeed, kPossPending)) push(n);
  }
  void push(uint32_t n) {
    if (n >= ahead_) return;  // the sweep under way gets there
    if (queued_ < capacity_) {
      queue_[(head_ + queued_++) & mask()] = n;
      words_.prefetch(n);
    } else if (!s_.overflow.load(std::memory_order_relaxed)) {
      s_.overflow.store(true, std::memory_order_relaxed);
    }
  }

  // Alone (no other thread), the marks made until the next sweep ends need
  // no queue: the sweep scans every chunk still pending when it gets there.
  void sweep_follows() { ahead_ = 0; }

  // Scans the pending chunks of [lo, hi) in address order; a run of
  // adjacent pending chunks is scanned as one range.
  template <bool kDefinite>
  void sweep(uint32_t lo, uint32_t hi) {
    constexpr uint8_t pending = kDefinite ? kReachPending : kPossPending, done = pending + 1;
    const Block* cs = s_.chunks;
    // Alone, a chunk past the sweep's position is only marked: the sweep
    // reaches it in address order, so a heap whose objects mostly point to
    // later ones (a tree built breadth-first, lists built in order) is
    // scanned in one sequential pass, its adjacent objects as one range.
    // Alone, the sweep covers every chunk (lo = 0, hi = count).
    const bool alone = !s_.concurrent;
    for (uint32_t i = lo; i < hi; ++i) {
      // Alone, eight marks at a time while none of them is pending: a
      // sweep that finds little costs a byte compare per eight chunks.
      if (alone)
        while (hi - i >= 8 && !any_byte_is(s_.marks + i, pending)) i += 8;
      if (i >= hi) break;
      if (!s_.take(i, pending, done)) continue;
      uint32_t j = i;
      if (words_.runs_ok())
        while (j + 1 < hi && cs[j + 1].address == cs[j].end() && s_.take(j + 1, pending, done)) ++j;
      if (alone) ahead_ = j + 1;
      tick(j - i + 1);
      if (j == i) words_.scan(i, cancel_, visitor<kDefinite>());
      else words_.scan_run(i, j, cancel_, visitor<kDefinite>());
      i = j;
      drain_queue<kDefinite>();
    }
    ahead_ = UINT32_MAX;
  }

  // Empties this thread's queue, then takes from the pool until every
  // thread of the round waits with nothing left.
  template <bool kDefinite>
  void drain() {
    for (;;) {
      drain_queue<kDefinite>();
      if (!s_.concurrent) return;
      if (refill()) continue;
      if (!wait_for_work()) return;
    }
  }

 private:
  // The heap's block index is shared (its span hint is a relaxed atomic);
  // the node index and the word reader keep per-thread state.
  struct Lookups {
    NodeIndex index;
    ChunkWords words;
    Lookups(const HeapModel& heap, const NodeIndex& i, const ChunkWords& w) : index(i, heap.index), words(w, index) {}
  };

  size_t mask() const { return capacity_ - 1; }
  // Whether one of the eight bytes at p is v (no other thread writes them).
  static bool any_byte_is(const uint8_t* p, uint8_t v) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    x ^= 0x0101010101010101ull * v;
    return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
  }
  template <bool kDefinite>
  auto visitor() {
    return [this](uint64_t, uint64_t v) {
      if constexpr (kDefinite) definite(v);
      else possible(v);
    };
  }
  void tick(uint64_t n) {
    const uint64_t before = scanned_;
    scanned_ += n;
    if ((before >> 12) != (scanned_ >> 12)) check_cancel(cancel_);
  }
  template <bool kDefinite>
  void drain_queue() {
    constexpr uint8_t pending = kDefinite ? kReachPending : kPossPending, done = pending + 1;
    // A long queue is popped long after its pushes warmed the chunks: load
    // a later entry's block, then (once that is in cache) its words, a few
    // pops ahead of their scans.
    constexpr size_t kBlockAhead = 16, kWordsAhead = 8;
    while (queued_) {
      if (queued_ > kBlockAhead) __builtin_prefetch(s_.chunks + queue_[(head_ + kBlockAhead) & mask()]);
      if (queued_ > kWordsAhead) words_.prefetch(queue_[(head_ + kWordsAhead) & mask()]);
      const uint32_t n = queue_[head_];
      head_ = (head_ + 1) & mask();
      --queued_;
      if (!s_.take(n, pending, done)) continue;
      tick(1);
      words_.scan(n, cancel_, visitor<kDefinite>());
      if (s_.concurrent && queued_ > 1 && s_.idle.load(std::memory_order_relaxed) &&
          s_.pool_size.load(std::memory_order_relaxed) == 0)
        share();
    }
  }
  // Hands the newer half of the queue to the pool (a thread is waiting).
  void share() {
    std::lock_guard lock(s_.mu);
    for (size_t give = queued_ / 2; give; --give) s_.pool.push_back(queue_[(head_ + --queued_) & mask()]);
    s_.pool_size.store(s_.pool.size());
  }
  bool refill() {
    std::lock_guard lock(s_.mu);
    size_t take = std::min(capacity_ - queued_, (s_.pool.size() + 1) / 2);
    for (size_t k = 0; k < take; ++k) {
      queue_[(head_ + queued_++) & mask()] = s_.pool.back();
      s_.pool.pop_back();
    }
    s_.pool_size.store(s_.pool.size());
    return take != 0;
  }
  // False when the round is over: every thread waits and the pool is empty
  // (only a working thread adds to it), or the round was stopped.
  bool wait_for_work() {
    s_.idle.fetch_add(1);
    for (unsigned spin = 0;; ++spin) {
      if (s_.pool_size.load() > 0) {
        s_.idle.fetch_sub(1);
        return true;
      }
      if (s_.idle.load() == s_.participants.load() || s_.stop.load()) return false;
      if ((spin & 0xff) == 0xff) check_cancel(cancel_);
      if (spin >= 16) std::this_thread::yield();  // the cores may be shared
    }
  }

  Shared& s_;
  std::unique_ptr<Lookups> own_;
  const NodeIndex& index_;
  const ChunkWords& words_;
  const CancelToken& cancel_;
  // A ring; capacity_ is a power of two. Left uninitialised: the pages a
  // small heap's marking never reaches are never touched.
  std::unique_ptr<uint32_t[]> queue_;
  size_t capacity_, head_ = 0, queued_ = 0;
  uint64_t scanned_ = 0;
  // Chunks from here on are left to the sweep under way (or about to
  // start): push() only marks them. UINT32_MAX: no sweep follows.
  uint32_t ahead_ = UINT32_MAX;
};

LeakMarking::LeakMarking(const HeapModel& heap, const NodeIndex& index, const ChunkWords& words, uint8_t* marks,
                         unsigned threads, uint32_t queue_limit, const CancelToken& cancel)
    : shared_(std::make_unique<Shared>()) {
  Shared& s = *shared_;
  s.chunks = heap.blocks.data();
  s.count = static_cast<uint32_t>(heap.blocks.size());
  s.marks = marks;
  s.threads = std::max(1u, threads);
  s.concurrent = s.threads > 1;
  const uint32_t limit = std::bit_ceil(std::max<uint32_t>(queue_limit, 2));
  workers_.push_back(std::make_unique<Worker>(s, index, words, limit, cancel));
  for (unsigned k = 1; k < s.threads; ++k) workers_.push_back(std::make_unique<Worker>(s, heap, *workers_[0], limit));
  if (!s.concurrent) workers_[0]->sweep_follows();  // the roots' marks: phase 1 starts with a sweep
}

LeakMarking::~LeakMarking() = default;

void LeakMarking::definite(uint64_t v) { workers_[0]->definite(v); }

void LeakMarking::seeds_to_possible() {
  Shared& s = *shared_;
  if (!s.any_seed.load()) return;
  if (!s.concurrent) workers_[0]->sweep_follows();
  for (uint32_t i = 0; i < s.count; ++i)
    if (s.take(i, kSeed, kPossPending)) workers_[0]->push(i);
}

void LeakMarking::drain(bool definite_phase) {
  if (definite_phase) run_rounds<true>();
  else run_rounds<false>();
}

// A round: every thread sweeps its share of the chunks (after an overflow),
// then drains. Rounds repeat while a queue overflowed.
template <bool kDefinite>
void LeakMarking::run_rounds() {
  Shared& s = *shared_;
  const unsigned n = s.threads;
  // Alone, every phase starts with a sweep (see Worker::sweep); threads
  // start from their queues and sweep only what overflowed.
  bool sweep = !s.concurrent;
  do {
    auto part = [&](unsigned p) { return static_cast<uint32_t>(uint64_t{s.count} * p / n); };
    s.idle = 0;
    s.participants = n;
    std::vector<std::thread> others;
    std::exception_ptr error;
    std::mutex error_mu;
    auto finish = [&] {
      for (auto& t : others) t.join();
    };
    others.reserve(n - 1);  // a thread made is never dropped by a failed push_back
    try {
      for (unsigned k = 1; k < n; ++k)
        others.push_back(util::helper_thread([&, k] {
          try {
            if (sweep) workers_[k]->sweep<kDefinite>(part(k), part(k + 1));
            workers_[k]->drain<kDefinite>();
          } catch (...) {
            std::lock_guard lock(error_mu);
            if (!error && !s.stop.load()) error = std::current_exception();
            s.stop = true;
          }
        }));
    } catch (const std::system_error&) {
      // No more threads: the calling one sweeps the shares of those missing.
      s.participants = static_cast<unsigned>(others.size()) + 1;
    }
    try {
      if (sweep) {
        workers_[0]->sweep<kDefinite>(part(0), part(1));
        for (unsigned k = s.participants; k < n; ++k) workers_[0]->sweep<kDefinite>(part(k), part(k + 1));
      }
      workers_[0]->drain<kDefinite>();
    } catch (...) {
      s.stop = true;
      finish();
      throw;
    }
    finish();
    if (error) std::rethrow_exception(error);
    sweep = s.overflow.exchange(false);
  } while (sweep);
}

}  // namespace heapscope::analysis
