#include "targets/dump_layout.h"

#include <unistd.h>

#include <cerrno>

#include "heapscope/core_file.h"
#include "util/regular_file.h"

namespace heapscope::targets {

void find_data_extents(const std::string& path, DumpLayout& layout) {
  layout.data.clear();
  layout.holes_known = false;
  auto file = util::open_regular_file(path);
  if (!file) {
    layout.why_not = "the core file cannot be opened again to look for its holes (" + file.error().message + ")";
    return;
  }
  const int fd = file->fd.get();
  const uint64_t file_size = file->size;
  // A filesystem without SEEK_DATA support reports the whole file as data;
  // a core written through a pipe or copied without --sparse has no holes
  // either: then nothing can be said.
  bool seek_ok = true;
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < file_size) {
    off_t d = ::lseek(fd, pos, SEEK_DATA);
    if (d < 0) {
      if (errno != ENXIO) seek_ok = false;  // ENXIO: only a hole remains
      break;
    }
    off_t h = ::lseek(fd, d, SEEK_HOLE);
    if (h < 0 || h <= d) {
      seek_ok = false;
      break;
    }
    layout.data.emplace_back(static_cast<uint64_t>(d), static_cast<uint64_t>(h));
    pos = h;
  }
  uint64_t data_bytes = 0;
  for (const auto& [b, e] : layout.data) data_bytes += e - b;
  layout.holes_known = seek_ok && data_bytes < file_size;
  if (!seek_ok)
    layout.why_not = "this filesystem does not report holes (SEEK_DATA/SEEK_HOLE)";
  else if (!layout.holes_known)
    layout.why_not =
        "the core file has no holes (written through a pipe, copied or decompressed without "
        "keeping them, or every page was resident)";
}

Result<DumpLayout> target_dump_layout(const Target& target) {
  if (const auto* own = dynamic_cast<const HasDumpLayout*>(&target)) return own->dump_layout();
  auto path = target.core_path();
  if (!path) return Error{"the target is not a core file"};
  auto core = open_core_file(*path);
  if (!core) return core.error();
  if (const auto* own = dynamic_cast<const HasDumpLayout*>(core->get())) return own->dump_layout();
  return Error{*path + ": no layout of its segments"};
}

}  // namespace heapscope::targets
