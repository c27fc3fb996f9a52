// MappedFile: read-only whole-file mmap with one-line errors; the file is
// opened with util::open_regular_file (never blocks, regular files only).
// And the check that a file a core names is the one its process mapped.
#include "targets/mapped_file.h"

#include <elf.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "targets/elf_image.h"
#include "util/mapping_path.h"
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

namespace {

// True when every user may read `path`: the file is world-readable and
// every directory above it world-searchable.
bool readable_by_anyone(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !(st.st_mode & S_IROTH)) return false;
  for (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0; slash = path.rfind('/', slash - 1)) {
    if (stat(path.substr(0, slash).c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
  }
  return true;
}

}  // namespace

Result<MappedFile> open_file_a_core_maps(const std::string& sysroot, const std::string& path,
                                          const MappingEvidence& evidence) {
  auto missing = [&path] {
    return Error{fmt::format("note: {} is not on this machine; its unmodified pages cannot be read", path)};
  };
  auto refused = [&path](const std::string& why) {
    return Error{fmt::format("note: {} {}; its unmodified pages are not read", path, why)};
  };
  if (path.empty() || util::is_unopenable_mapping_path(path)) return missing();
  if (path[0] != '/' && sysroot.empty()) return refused("is a relative path (only read under --sysroot)");
  if (path.find("/../") != std::string::npos || path.ends_with("/..") || path.starts_with("../"))
    return refused("leaves its directory ('..')");
  std::string disk = path[0] == '/' ? sysroot + path : sysroot + "/" + path;
  auto f = MappedFile::open(disk, /*allow_empty=*/true);
  if (!f) {
    if (f.error().message.ends_with("No such file or directory")) return missing();
    std::string why = f.error().message.substr(std::min(f.error().message.size(), disk.size() + 2));
    return refused(why.starts_with("not ") ? "is " + why : why);
  }
  const auto bytes = f->bytes();
  if (bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0) {
    std::string disk_id = read_build_id(span_reader(bytes), ImageLayout::kFile);
    // No header page to check against (a truncated core lost it): a file
    // that anyone on this machine may read discloses nothing the core's
    // author could not read, so it may still lend its pages.
    if (evidence.build_id.empty() && !readable_by_anyone(disk))
      return refused("cannot be checked against the core (it kept no ELF header with a build-id of it)");
    if (evidence.build_id.empty()) return f;
    if (disk_id != evidence.build_id)
      return Error{fmt::format(
          "note: {} on this machine is not the file the process mapped (build-id {}, core has {}); its "
          "unmodified pages cannot be read",
          path, disk_id.empty() ? "none" : disk_id, evidence.build_id)};
    return f;
  }
  // Not ELF: the first page must be what the core kept of it.
  const auto& page = evidence.first_page;
  // Nothing to check it against (locale-archive and the like: the kernel
  // keeps no page of a data file the process only read). Refused quietly:
  // no heap analysis needs such a file, and every core would carry the note.
  if (page.empty()) return Error{};
  if (bytes.size() < page.size() || std::memcmp(bytes.data(), page.data(), page.size()) != 0)
    return refused("on this machine is not the file the process mapped (its first page differs)");
  return f;
}

}  // namespace heapscope::targets
