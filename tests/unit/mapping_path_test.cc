// util::is_unopenable_mapping_path: the mapping names heapscope never opens.
#include "util/mapping_path.h"

#include <gtest/gtest.h>

namespace heapscope::util {
namespace {

TEST(MappingPath, DeletedProcDevAndSysAreNeverOpened) {
  EXPECT_TRUE(is_unopenable_mapping_path("/tmp/lib.so (deleted)"));
  EXPECT_TRUE(is_unopenable_mapping_path("/memfd:jit (deleted)"));
  EXPECT_TRUE(is_unopenable_mapping_path("/proc/self/environ"));
  EXPECT_TRUE(is_unopenable_mapping_path("/dev/zero"));
  EXPECT_TRUE(is_unopenable_mapping_path("/sys/kernel/x"));
  EXPECT_FALSE(is_unopenable_mapping_path("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_FALSE(is_unopenable_mapping_path("/tmp/processed"));
  EXPECT_FALSE(is_unopenable_mapping_path("/tmp/deleted"));
}

}  // namespace
}  // namespace heapscope::util
