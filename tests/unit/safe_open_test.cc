// util::open_regular_file: what a target names may be a FIFO, a device or a
// directory; none may block the open or be read.
#include "util/safe_open.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace heapscope::util {
namespace {

std::string scratch() {
  char tmpl[] = "/tmp/heapscope-safe-open-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

TEST(SafeOpen, RegularFileOpens) {
  std::string dir = scratch();
  std::string path = dir + "/f";
  std::ofstream(path) << "hello";
  auto f = open_regular_file(path);
  ASSERT_TRUE(f) << f.error().message;
  char buf[5];
  EXPECT_EQ(pread(f->fd(), buf, 5, 0), 5);
  std::system(("rm -rf " + dir).c_str());
}

TEST(SafeOpen, FifoIsRefusedWithoutWaitingForAWriter) {
  std::string dir = scratch();
  std::string path = dir + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  auto t0 = std::chrono::steady_clock::now();
  auto f = open_regular_file(path);  // a blocking open would never return
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, path + ": not a regular file (a FIFO)");
  std::system(("rm -rf " + dir).c_str());
}

TEST(SafeOpen, DevicesDirectoriesAndMissingFilesAreRefused) {
  EXPECT_EQ(open_regular_file("/dev/null").error().message, "/dev/null: not a regular file (a device)");
  EXPECT_EQ(open_regular_file("/").error().message, "/: is a directory");
  EXPECT_EQ(open_regular_file("/nonexistent/x").error().message, "/nonexistent/x: No such file or directory");
}

TEST(SafeOpen, MappingPathsNeverOpened) {
  EXPECT_TRUE(is_unopenable_mapping_path("/tmp/lib.so (deleted)"));
  EXPECT_TRUE(is_unopenable_mapping_path("/proc/self/environ"));
  EXPECT_TRUE(is_unopenable_mapping_path("/dev/zero"));
  EXPECT_TRUE(is_unopenable_mapping_path("/sys/kernel/x"));
  EXPECT_FALSE(is_unopenable_mapping_path("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_FALSE(is_unopenable_mapping_path("/tmp/processed"));
}

}  // namespace
}  // namespace heapscope::util
