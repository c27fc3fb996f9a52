// util::open_regular_file: FIFOs, devices and directories are refused at
// once (never a blocking open or read); regular files open.
#include "util/regular_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace heapscope::util {
namespace {

std::string scratch(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("heapscope-rf-") +
                                                   std::to_string(getpid()) + "-" + name)).string();
}

TEST(RegularFile, OpensARegularFile) {
  std::string p = scratch("plain");
  { std::ofstream(p) << "hello"; }
  auto f = open_regular_file(p);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size, 5u);
  EXPECT_TRUE(f->fd);
  std::remove(p.c_str());
}

TEST(RegularFile, FifoIsRefusedWithoutBlocking) {
  std::string p = scratch("fifo");
  ASSERT_EQ(mkfifo(p.c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  auto f = open_regular_file(p);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, p + ": not a regular file (a FIFO)");
  std::remove(p.c_str());
}

TEST(RegularFile, DevicesAndDirectoriesAreRefused) {
  auto dev = open_regular_file("/dev/zero");
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error().message, "/dev/zero: not a regular file (a character device)");
  auto dir = open_regular_file("/");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message, "/: is a directory");
  auto missing = open_regular_file("/no/such/file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/no/such/file: No such file or directory");
}

}  // namespace
}  // namespace heapscope::util
