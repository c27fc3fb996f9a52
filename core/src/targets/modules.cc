// Module list building from file-backed regions.
#include "targets/modules.h"

#include <algorithm>
#include <unistd.h>

#include <map>

#include "targets/elf_image.h"
#include "util/mapping_path.h"

namespace heapscope::targets {

namespace {

bool is_special_file(const std::string& path) {
  return util::is_unopenable_mapping_path(path) || path.starts_with("/memfd:") ||
         path.starts_with("/SYSV");
}

}  // namespace

std::vector<Module> build_modules(const Target& target, const std::vector<Region>& regions,
                                  const std::string& sysroot, std::optional<uint64_t> entry) {
  std::map<std::string, Module> by_path;
  std::map<std::string, Address> header_at;  // start of the mapping at file offset 0
  const Region* prev = nullptr;
  for (const auto& r : regions) {
    // A mapping split where its readability changes (a truncated core, a
    // missing file) is still one mapping.
    bool continues = prev && prev->path == r.path && prev->range.end == r.range.begin &&
                     prev->perms == r.perms && prev->readable != r.readable &&
                     prev->file_offset + prev->range.size() == r.file_offset;
    prev = &r;
    if (r.path.empty() || r.path[0] != '/') continue;
    Module& m = by_path[r.path];
    if (m.path.empty()) {
      m.path = r.path;
      m.base = r.range.begin;
    }
    m.base = std::min(m.base, r.range.begin);
    if (continues && !m.ranges.empty() && m.ranges.back().end == r.range.begin)
      m.ranges.back().end = r.range.end;
    else
      m.ranges.push_back(r.range);
    if (r.file_offset == 0 && !header_at.count(r.path)) header_at[r.path] = r.range.begin;
  }
  std::vector<Module> out;
  for (auto& [path, m] : by_path) {
    std::optional<bool> elf;
    auto h = header_at.find(path);
    if (h != header_at.end()) {
      Address base = h->second;
      ImageReader mem = [&target, base](uint64_t off, void* dst, size_t n) -> size_t {
        if (base.value + off < base.value) return 0;
        return target.read(base + off, {static_cast<std::byte*>(dst), n});
      };
      unsigned char magic[4];
      if (mem(0, magic, 4) == 4) {
        elf = has_elf_magic(mem);
        if (*elf) m.build_id = read_build_id(mem, ImageLayout::kMemory);
      }
    }
    std::string disk = sysroot + path;
    // A deleted file's name may now be anything (a FIFO would hang us):
    // such a module is known from memory only.
    if (!util::is_unopenable_mapping_path(path) && (!elf || (*elf && m.build_id.empty()))) {
      if (file_is_elf(disk)) {
        elf = true;
        if (m.build_id.empty()) m.build_id = file_build_id(disk);
      } else if (!elf && access(disk.c_str(), F_OK) == 0) {
        elf = false;  // present on disk and not ELF (a data file)
      }
    }
    if (elf.value_or(!is_special_file(path))) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const Module& a, const Module& b) { return a.base < b.base; });
  if (entry) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Module& m) {
      return std::any_of(m.ranges.begin(), m.ranges.end(),
                         [&](const AddressRange& r) { return r.contains(Address(*entry)); });
    });
    if (it != out.end()) std::rotate(out.begin(), it, it + 1);
  }
  return out;
}

AddressRange stack_range_for(const Target& target, Address sp) {
  if (const Region* r = target.find_region(sp)) return r->range;
  return {};
}

}  // namespace heapscope::targets
