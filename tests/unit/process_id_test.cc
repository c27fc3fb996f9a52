// parse_process_id: the --pid argument names exactly one process or none.
#include "heapscope/process_id.h"

#include <gtest/gtest.h>

namespace heapscope {
namespace {

TEST(ProcessId, AcceptsDecimalPidsBelowPidMax) {
  EXPECT_EQ(*parse_process_id("1", 4194304), 1);
  EXPECT_EQ(*parse_process_id("4194303", 4194304), 4194303);
  EXPECT_EQ(*parse_process_id("0042", 4194304), 42);
}

TEST(ProcessId, RefusesWhatWouldWrapOrMeanAnotherBase) {
  for (const char* bad : {"4294967297", "18446744073709551617", "4194304", "0", "-1", "+5", "0x10", "10k",
                          "", " 7", "7 ", "12x"}) {
    auto r = parse_process_id(bad, 4194304);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message,
              std::string("invalid process id '") + bad + "' (a decimal number from 1 to 4194303)");
  }
}

TEST(ProcessId, SystemPidMaxIsTheKernelsOwn) {
  uint64_t m = system_pid_max();
  EXPECT_GT(m, 1u);
  EXPECT_LE(m, uint64_t{1} << 22);
}

}  // namespace
}  // namespace heapscope
