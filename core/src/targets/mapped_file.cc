// MappedFile: read-only whole-file mmap with one-line errors; the file is
// opened with util::open_regular_file (never blocks, regular files only).
#include "targets/mapped_file.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "util/regular_file.h"

namespace heapscope::targets {

MappedFile::~MappedFile() {
  if (data_ && size_) munmap(const_cast<std::byte*>(data_), size_);
}

Result<MappedFile> MappedFile::open(const std::string& path, bool allow_empty) {
  auto file = util::open_regular_file(path);
  if (!file) return file.error();
  return map(*file, path, allow_empty);
}

Result<MappedFile> MappedFile::map(const util::RegularFile& file, const std::string& path, bool allow_empty) {
  MappedFile f;
  if (file.size == 0) {
    if (!allow_empty) return Error{path + ": empty file"};
    return f;
  }
  void* p = mmap(nullptr, static_cast<size_t>(file.size), PROT_READ, MAP_PRIVATE, file.fd.get(), 0);
  if (p == MAP_FAILED) return Error{path + ": cannot map: " + std::strerror(errno)};
  f.data_ = static_cast<const std::byte*>(p);
  f.size_ = static_cast<size_t>(file.size);
  return f;
}

}  // namespace heapscope::targets
