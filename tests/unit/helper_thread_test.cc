// helper_thread starts its thread with every signal blocked and leaves the
// calling thread's mask as it was.
#include "util/helper_thread.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

namespace heapscope::util {
namespace {

bool blocked(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

TEST(HelperThread, StartsWithEverySignalBlockedAndLeavesTheCallersMask) {
  ASSERT_FALSE(blocked(SIGINT));
  bool int_blocked = false, term_blocked = false, usr1_blocked = false;
  std::thread t = helper_thread([&] {
    int_blocked = blocked(SIGINT);
    term_blocked = blocked(SIGTERM);
    usr1_blocked = blocked(SIGUSR1);
  });
  t.join();
  EXPECT_TRUE(int_blocked);
  EXPECT_TRUE(term_blocked);
  EXPECT_TRUE(usr1_blocked);
  EXPECT_FALSE(blocked(SIGINT));
  EXPECT_FALSE(blocked(SIGTERM));
}

}  // namespace
}  // namespace heapscope::util
