// MappedFile: a whole file mapped read-only into our address space. The core
// reader serves target bytes straight out of these mappings (zero copy).
#pragma once

#include <cstddef>
#include <span>
#include <cstdint>
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

// What a core says about a file it maps, to check the file on disk against:
// an untrusted core may name any file (a root-only one, a device, a FIFO),
// and only the file the process really mapped may lend its bytes.
struct MappingEvidence {
  std::string build_id;                  // from the ELF header page the core kept, or ""
  std::span<const std::byte> first_page;  // the file's first page as the core kept it, or empty
};

// Opens the file the core names `path` (sysroot + path; a relative path only
// under a sysroot; never /proc, /dev, /sys or "... (deleted)") when it is
// the file the process mapped: an ELF file whose build-id is the core's (or,
// when the core kept no header page of it, one that every user may read), or
// another regular file whose first page is the one the core kept. Errors are
// the one-line note to show ("note: PATH ..."), or empty for a data file the
// core kept no page of (refused without a note).
Result<MappedFile> open_file_a_core_maps(const std::string& sysroot, const std::string& path,
                                          const MappingEvidence& evidence);

}  // namespace heapscope::targets
