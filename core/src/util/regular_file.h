// Opening a file that untrusted input names (the core path, a path in a
// core's NT_FILE note or the dynamic linker's list, /proc/PID/maps) so that
// nothing can hang or trick us: open() never blocks (O_NONBLOCK: a FIFO with
// no writer or a device would otherwise wait forever), and only a regular
// file is accepted, checked before and after opening (fstat on the
// descriptor, so a path swapped between the two checks is still caught).
#pragma once

#include <cstdint>
#include <string>

#include "heapscope/error.h"

namespace heapscope::util {

// An owned file descriptor, closed on destruction.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  ~FileDescriptor();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct RegularFile {
  FileDescriptor fd;
  uint64_t size = 0;
};

// Opens PATH read-only. Errors are one line: "PATH: No such file or
// directory", "PATH: is a directory", "PATH: not a regular file (a FIFO)".
Result<RegularFile> open_regular_file(const std::string& path);

// What a non-regular file is, in words ("a FIFO", "a character device").
std::string file_kind(unsigned mode);

}  // namespace heapscope::util
