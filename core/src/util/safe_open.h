// Opening a file that a target names (NT_FILE, the dynamic linker's list,
// /proc/PID/maps, a debug-file directory) without trusting it: the path may
// be a FIFO, a device, a directory or a /proc file, and opening or reading
// any of those can block forever or disclose what is not a mapped file.
// Only regular files are opened, and the open itself never blocks.
#pragma once

#include <string>

#include "heapscope/error.h"

namespace heapscope::util {

// A read-only descriptor of a regular file, closed on destruction.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  FileHandle(FileHandle&& o) noexcept : fd_(o.release()) {}
  FileHandle& operator=(FileHandle&& o) noexcept;
  ~FileHandle();

  int fd() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// True for a mapping's path that is no file we may open: "... (deleted)"
// (the file it named is gone; whatever has that name now is another file),
// and paths under /proc, /dev and /sys.
bool is_unopenable_mapping_path(const std::string& path);

// Opens `path` read-only with O_NONBLOCK (a FIFO or a device cannot hold the
// open), then refuses anything fstat does not call a regular file. Errors are
// one line: "PATH: No such file or directory", "PATH: is a directory",
// "PATH: not a regular file (a FIFO)".
Result<FileHandle> open_regular_file(const std::string& path);

}  // namespace heapscope::util
