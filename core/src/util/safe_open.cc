// Non-blocking, regular-files-only open.
#include "util/safe_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heapscope::util {

FileHandle& FileHandle::operator=(FileHandle&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

FileHandle::~FileHandle() {
  if (fd_ >= 0) close(fd_);
}

bool is_unopenable_mapping_path(const std::string& path) {
  return path.ends_with(" (deleted)") || path.starts_with("/proc/") || path.starts_with("/dev/") ||
         path.starts_with("/sys/") || path == "/proc" || path == "/dev" || path == "/sys";
}

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "not a regular file (a FIFO)";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "not a regular file (a device)";
  if (S_ISSOCK(mode)) return "not a regular file (a socket)";
  return "not a regular file";
}

}  // namespace

Result<FileHandle> open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise.
  // O_NOCTTY: a terminal device must not become our controlling terminal.
  FileHandle f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (f.fd() < 0) return Error{path + ": " + std::strerror(errno)};
  struct stat st;
  if (fstat(f.fd(), &st) != 0) return Error{path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return Error{path + ": " + kind_of(st.st_mode)};
  // Regular files ignore O_NONBLOCK; clear it anyway so that no reader
  // (libelf, mmap users) ever sees EAGAIN.
  int flags = fcntl(f.fd(), F_GETFL);
  if (flags >= 0) fcntl(f.fd(), F_SETFL, flags & ~O_NONBLOCK);
  return f;
}

}  // namespace heapscope::util
