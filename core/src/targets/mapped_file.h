// MappedFile: a whole file mapped read-only into our address space. The core
// reader serves target bytes straight out of these mappings (zero copy).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "heapscope/error.h"
#include "util/regular_file.h"

namespace heapscope::targets {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept { swap(o); }
  MappedFile& operator=(MappedFile&& o) noexcept {
    swap(o);
    return *this;
  }
  ~MappedFile();

  // Errors are one line: "PATH: No such file or directory", "PATH: is a
  // directory", "PATH: not a regular file (a FIFO)", "PATH: empty file"
  // (only when allow_empty is false).
  static Result<MappedFile> open(const std::string& path, bool allow_empty = false);
  // Maps an already opened file (a decompressed core in a memfd); PATH names
  // it in errors.
  static Result<MappedFile> map(const util::RegularFile& file, const std::string& path,
                                bool allow_empty = false);

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  void swap(MappedFile& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace heapscope::targets
