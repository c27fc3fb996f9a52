#include "analysis/check_ahead.h"

#include <system_error>

#include "util/helper_thread.h"

namespace heapscope {

CheckAhead::CheckAhead(const glibc::Heap& heap, const Target& target, CheckOptions options)
    : options_(std::move(options)) {
  try {
    thread_ = util::helper_thread([this, &heap, &target] {
      try {
        report_ = std::make_unique<CheckReport>(check_heap(heap, target, options_, stop_));
      } catch (...) {
        report_.reset();  // stopped, or failed: take() says so
      }
    });
  } catch (const std::system_error&) {
    // No thread to be had: the caller checks on its own.
  }
}

CheckAhead::~CheckAhead() {
  stop_.cancel();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<CheckReport> CheckAhead::take() {
  if (thread_.joinable()) thread_.join();
  return std::move(report_);
}

}  // namespace heapscope
