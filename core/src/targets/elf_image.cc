// ElfImage helpers: build-id and magic checks over file or memory images.
#include "targets/elf_image.h"

#include <elf.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "targets/checked.h"
#include "util/regular_file.h"

namespace heapscope::targets {

namespace {

constexpr uint64_t kMaxPhnum = 4096;     // real ELF files have a few dozen
constexpr uint64_t kMaxNoteBytes = 1 << 20;

bool read_all(const ImageReader& read, uint64_t off, void* dst, size_t n) {
  return read(off, dst, n) == n;
}

// Parses the notes in `buf` and returns the GNU build-id if any.
std::string build_id_in_notes(std::span<const std::byte> buf) {
  uint64_t off = 0;
  while (off + sizeof(Elf64_Nhdr) <= buf.size()) {
    auto nh = load<Elf64_Nhdr>(buf, off);
    if (!nh) break;
    uint64_t name_off = off + sizeof(Elf64_Nhdr);
    uint64_t desc_off = name_off + align_up(nh->n_namesz, 4);
    uint64_t next = desc_off + align_up(nh->n_descsz, 4);
    if (!in_bounds(buf.size(), desc_off, nh->n_descsz) || next < desc_off) break;
    if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
        std::memcmp(buf.data() + name_off, "GNU", 4) == 0 && nh->n_descsz > 0 &&
        nh->n_descsz <= 64)
      return to_hex_string(buf.subspan(desc_off, nh->n_descsz));
    off = next;
  }
  return {};
}

}  // namespace

std::string to_hex_string(std::span<const std::byte> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    auto v = static_cast<unsigned>(b);
    s += kDigits[v >> 4];
    s += kDigits[v & 15];
  }
  return s;
}

bool has_elf_magic(const ImageReader& read) {
  unsigned char m[SELFMAG];
  return read_all(read, 0, m, SELFMAG) && std::memcmp(m, ELFMAG, SELFMAG) == 0;
}

std::string read_build_id(const ImageReader& read, ImageLayout layout) {
  Elf64_Ehdr eh;
  if (!read_all(read, 0, &eh, sizeof eh)) return {};
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return {};
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > kMaxPhnum) return {};
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_all(read, eh.e_phoff, ph.data(), ph.size() * sizeof(Elf64_Phdr))) return {};
  uint64_t first_load = UINT64_MAX;
  for (const auto& p : ph)
    if (p.p_type == PT_LOAD && p.p_vaddr < first_load) first_load = p.p_vaddr & ~uint64_t{0xfff};
  for (const auto& p : ph) {
    if (p.p_type != PT_NOTE || p.p_filesz == 0 || p.p_filesz > kMaxNoteBytes) continue;
    uint64_t off = p.p_offset;
    if (layout == ImageLayout::kMemory) {
      if (first_load == UINT64_MAX || p.p_vaddr < first_load) continue;
      off = p.p_vaddr - first_load;
    }
    std::vector<std::byte> buf(p.p_filesz);
    size_t got = read(off, buf.data(), buf.size());
    buf.resize(got);
    std::string id = build_id_in_notes(buf);
    if (!id.empty()) return id;
  }
  return {};
}

ImageReader fd_reader(int fd) {
  return [fd](uint64_t off, void* dst, size_t n) -> size_t {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd, static_cast<char*>(dst) + done, n - done, static_cast<off_t>(off + done));
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  };
}

std::string file_build_id(const std::string& path) {
  auto f = util::open_regular_file(path);
  if (!f) return {};
  return read_build_id(fd_reader(f->fd.get()), ImageLayout::kFile);
}

bool file_is_elf(const std::string& path) {
  auto f = util::open_regular_file(path);
  if (!f) return false;
  return has_elf_magic(fd_reader(f->fd.get()));
}

ImageReader span_reader(std::span<const std::byte> bytes) {
  return [bytes](uint64_t off, void* dst, size_t n) -> size_t {
    if (off >= bytes.size()) return 0;
    size_t k = std::min<uint64_t>(n, bytes.size() - off);
    std::memcpy(dst, bytes.data() + off, k);
    return k;
  };
}

}  // namespace heapscope::targets
