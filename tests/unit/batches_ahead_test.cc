// BatchesAhead hands the caller every odd batch as make() makes it, in
// order, whether the helper made it or (after a failure) the caller did,
// and stops cleanly when the caller leaves early.
#include "util/batches_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace heapscope::util {
namespace {

std::string made(size_t k) { return "batch " + std::to_string(k) + std::string(k % 5, '.'); }

TEST(BatchesAhead, OddBatchesArriveInOrderAsMade) {
  for (size_t count : {0, 1, 2, 3, 10, 101}) {
    std::atomic<int> off_caller{0};
    const auto caller = std::this_thread::get_id();
    BatchesAhead<std::string> ahead(count, [&](size_t k, std::string& b) {
      if (std::this_thread::get_id() != caller) ++off_caller;
      b = made(k);
    });
    std::string got, want;
    for (size_t k = 0; k < count; ++k) {
      want += made(k);
      if (k % 2 == 0) {
        got += made(k);
        continue;
      }
      got += ahead.take(k);
      ahead.release(k);
    }
    EXPECT_EQ(got, want) << count;
    EXPECT_EQ(off_caller.load(), static_cast<int>(count / 2)) << count;  // every odd batch on the helper
  }
}

TEST(BatchesAhead, AFailedHelperLeavesTheRestToTheCaller) {
  std::atomic<int> attempts{0};
  BatchesAhead<std::string> ahead(12, [&](size_t k, std::string& b) {
    b = "partly";
    if (k == 5 && attempts++ == 0) throw std::runtime_error("no memory");
    b = made(k);
  });
  for (size_t k = 1; k < 12; k += 2) {
    EXPECT_EQ(ahead.take(k), made(k)) << k;
    ahead.release(k);
  }
}

TEST(BatchesAhead, TheCallerMayLeaveEarly) {
  BatchesAhead<std::string> ahead(1000, [](size_t k, std::string& b) { b = made(k); });
  EXPECT_EQ(ahead.take(1), made(1));
  ahead.release(1);
  EXPECT_EQ(ahead.take(3), made(3));
  // Not released, and 995 batches never asked for: the destructor stops the helper.
}

}  // namespace
}  // namespace heapscope::util
