#include "util/helper_thread.h"

#include <pthread.h>
#include <signal.h>

#include <cstring>

namespace heapscope::util {

static_assert(sizeof(sigset_t) <= 128);

SignalsBlocked::SignalsBlocked() {
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  std::memcpy(saved_, &saved, sizeof saved);
}

SignalsBlocked::~SignalsBlocked() {
  sigset_t saved;
  std::memcpy(&saved, saved_, sizeof saved);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

}  // namespace heapscope::util
