// Placeholder until the live process target lands.
#include "heapscope/live_process.h"

namespace heapscope {
Result<std::unique_ptr<Target>> open_live_process(int pid, StopMode) {
  return Error{"pid " + std::to_string(pid) + ": live processes are not supported yet"};
}
}  // namespace heapscope
