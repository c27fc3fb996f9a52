// Threads for the core's own work (a chase ahead, heap check beside a
// command, formatting, the leak marking), started with every signal
// blocked: inside gdb or lldb, Ctrl-C and the debugger's other signals
// must reach the debugger's threads, never ours.
#pragma once

#include <thread>
#include <utility>

namespace heapscope::util {

class SignalsBlocked {
 public:
  SignalsBlocked();
  ~SignalsBlocked();
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  unsigned long saved_[128 / sizeof(unsigned long)];  // the caller's mask (a sigset_t)
};

// std::thread(f), its signals blocked from the start (a thread inherits
// the mask of the one that creates it). Throws std::system_error as it does.
template <typename F>
std::thread helper_thread(F&& f) {
  SignalsBlocked blocked;
  return std::thread(std::forward<F>(f));
}

}  // namespace heapscope::util
