// One piece of work on a helper thread (helper_thread.h), started at once,
// its result taken when the caller needs it. Destroying it untaken fires
// the token the work was given and waits for the thread. take() gives
// nothing when no thread could be had or the work threw: the caller then
// does the work itself, and meets the same error there.
#pragma once

#include <functional>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "heapscope/cancel.h"
#include "util/helper_thread.h"

namespace heapscope::util {

template <typename T>
class WorkAhead {
 public:
  explicit WorkAhead(std::function<T(const CancelToken&)> work) : work_(std::move(work)) {
    try {
      thread_ = helper_thread([this] {
        try {
          result_.emplace(work_(stop_));
        } catch (...) {
          result_.reset();  // stopped, or failed
        }
      });
    } catch (const std::system_error&) {
    }
  }
  ~WorkAhead() {
    stop_.cancel();
    if (thread_.joinable()) thread_.join();
  }
  WorkAhead(const WorkAhead&) = delete;
  WorkAhead& operator=(const WorkAhead&) = delete;

  // Waits for the work; its result once, then nothing.
  std::optional<T> take() {
    if (thread_.joinable()) thread_.join();
    std::optional<T> out = std::move(result_);
    result_.reset();
    return out;
  }

 private:
  std::function<T(const CancelToken&)> work_;
  CancelToken stop_;
  std::optional<T> result_;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace heapscope::util
