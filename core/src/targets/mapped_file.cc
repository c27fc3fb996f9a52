// MappedFile: read-only whole-file mmap with one-line errors.
#include "targets/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heapscope::targets {

MappedFile::~MappedFile() {
  if (data_ && size_) munmap(const_cast<std::byte*>(data_), size_);
}

Result<MappedFile> MappedFile::open(const std::string& path, bool allow_empty) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": " + std::strerror(errno)};
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return Error{path + ": " + std::strerror(e)};
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return Error{path + ": is a directory"};
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Error{path + ": not a regular file"};
  }
  MappedFile f;
  if (st.st_size == 0) {
    close(fd);
    if (!allow_empty) return Error{path + ": empty file"};
    return f;
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) return Error{path + ": cannot map: " + std::strerror(e)};
  f.data_ = static_cast<const std::byte*>(p);
  f.size_ = static_cast<size_t>(st.st_size);
  return f;
}

}  // namespace heapscope::targets
