// CancelToken: lets a front-end stop a long analysis (Ctrl-C in gdb, lldb's
// WasInterrupted, SIGINT in the CLI). Analyses poll it in their outer loops.
#pragma once

#include <atomic>
#include <functional>

namespace heapscope {

class CancelToken {
 public:
  CancelToken() = default;
  explicit CancelToken(std::function<bool()> poll) : poll_(std::move(poll)) {}

  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  bool cancelled() const {
    if (flag_.load(std::memory_order_relaxed)) return true;
    return poll_ && poll_();
  }

 private:
  std::atomic<bool> flag_{false};
  std::function<bool()> poll_;
};

// Thrown by analyses when the token fires; run_command reports "interrupted".
struct Cancelled {};

inline void check_cancel(const CancelToken& t) {
  if (t.cancelled()) throw Cancelled{};
}

}  // namespace heapscope
