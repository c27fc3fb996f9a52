// heap check on a second thread, started as soon as the glibc model is
// built: the command's own work (its statistics, the leak marking, the
// chunk rows) runs meanwhile, and the footer that counts the problems
// waits for the report only at the end. Results never depend on it.
#pragma once

#include <memory>

#include "heapscope/analysis/check.h"
#include "util/work_ahead.h"

namespace heapscope {

class CheckAhead {
 public:
  // The target must allow concurrent reads; `heap` and `target` must
  // outlive this. Destroying it stops the check and waits for its thread.
  CheckAhead(const glibc::Heap& heap, const Target& target, CheckOptions options)
      : work_([&heap, &target, options = std::move(options)](const CancelToken& stop) {
          return check_heap(heap, target, options, stop);
        }) {}

  // Waits for the report; null when the check could not run or failed (the
  // caller then runs it itself, and meets the same error there).
  std::unique_ptr<CheckReport> take() {
    auto report = work_.take();
    return report ? std::make_unique<CheckReport>(std::move(*report)) : nullptr;
  }

 private:
  util::WorkAhead<CheckReport> work_;
};

}  // namespace heapscope
