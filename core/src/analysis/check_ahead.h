// heap check on a second thread, started as soon as the glibc model is
// built: the command's own work (its statistics, the leak marking, the
// chunk rows) runs meanwhile, and the footer that counts the problems
// waits for the report only at the end. Results never depend on it.
#pragma once

#include <memory>
#include <thread>

#include "heapscope/analysis/check.h"

namespace heapscope {

class CheckAhead {
 public:
  // The target must allow concurrent reads; `heap` and `target` must outlive this.
  CheckAhead(const glibc::Heap& heap, const Target& target, CheckOptions options);
  // Stops the check and waits for its thread.
  ~CheckAhead();
  CheckAhead(const CheckAhead&) = delete;
  CheckAhead& operator=(const CheckAhead&) = delete;

  // Waits for the report; null when the check could not run or failed (the
  // caller then runs it itself, and meets the same error there).
  std::unique_ptr<CheckReport> take();

 private:
  CheckOptions options_;
  CancelToken stop_;
  std::unique_ptr<CheckReport> report_;
  std::thread thread_;
};

}  // namespace heapscope
