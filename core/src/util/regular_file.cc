// open_regular_file: O_NONBLOCK open, then fstat, regular files only.
#include "util/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace heapscope::util {

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

std::string file_kind(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISREG(mode)) return "a regular file";
  return "not a file";
}

static Error not_regular(const std::string& path, unsigned mode) {
  if (S_ISDIR(mode)) return Error{path + ": is a directory"};
  return Error{path + ": not a regular file (" + file_kind(mode) + ")"};
}

Result<RegularFile> open_regular_file(const std::string& path) {
  // stat first: a device is never opened at all (opening some has effects).
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error{path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return Error{path + ": " + std::strerror(errno)};
  if (::fstat(fd.get(), &st) != 0) return Error{path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode);
  return RegularFile{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

}  // namespace heapscope::util
