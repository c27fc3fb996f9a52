// Batches of work made on a helper thread while the calling thread makes
// others, all consumed in order on the calling thread: the helper makes
// batches 1, 3, 5, ... into two slots, the caller makes 0, 2, 4, ... and
// takes each odd one when it gets there. A long listing is formatted on
// two cores yet written in one order. When the helper cannot run or
// fails, the caller makes the batch itself: results never depend on it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "util/helper_thread.h"

namespace heapscope::util {

template <typename Batch>
class BatchesAhead {
 public:
  // make(k, batch): fills `batch` with batch k, whatever it held before.
  BatchesAhead(size_t count, std::function<void(size_t, Batch&)> make) : count_(count), make_(std::move(make)) {
    try {
      thread_ = helper_thread([this] { run(); });
    } catch (const std::system_error&) {
      failed_ = true;
    }
  }
  ~BatchesAhead() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  BatchesAhead(const BatchesAhead&) = delete;
  BatchesAhead& operator=(const BatchesAhead&) = delete;

  // Odd batch k, the next odd one after those released; valid until release(k).
  Batch& take(size_t k) {
    Slot& s = slot(k);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return s.made == k + 1 || failed_; });
    if (s.made != k + 1) {
      // The helper failed before it: it touches no slot any more.
      lock.unlock();
      make_(k, s.batch);
    }
    return s.batch;
  }
  void release(size_t k) {
    {
      std::lock_guard lock(mu_);
      slot(k).made = 0;
    }
    cv_.notify_all();
  }

 private:
  struct Slot {
    Batch batch;
    size_t made = 0;  // k + 1 once batch k is in it; 0: free
  };
  Slot& slot(size_t k) { return slots_[(k / 2) % 2]; }

  void run() {
    for (size_t k = 1; k < count_; k += 2) {
      Slot& s = slot(k);
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || s.made == 0; });
        if (stop_) return;
      }
      try {
        make_(k, s.batch);
      } catch (...) {
        std::lock_guard lock(mu_);
        failed_ = true;
        cv_.notify_all();
        return;
      }
      {
        std::lock_guard lock(mu_);
        s.made = k + 1;
      }
      cv_.notify_all();
    }
  }

  const size_t count_;
  std::function<void(size_t, Batch&)> make_;
  Slot slots_[2];
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, failed_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace heapscope::util
