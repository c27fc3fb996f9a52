// ElfImage helpers: facts read from an ELF image's headers without libelf,
// either as a file (offsets are p_offset) or as loaded in memory (offsets are
// p_vaddr relative to the first PT_LOAD). Used for build-ids of mapped files,
// from the file on disk or from the ELF header page a core kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace heapscope::targets {

// Copies up to n bytes at offset `off` of the image into dst; returns the count.
using ImageReader = std::function<size_t(uint64_t off, void* dst, size_t n)>;

enum class ImageLayout { kFile, kMemory };

// True when the first bytes are "\x7fELF".
bool has_elf_magic(const ImageReader& read);

// The NT_GNU_BUILD_ID note as lower-case hex, or empty.
std::string read_build_id(const ImageReader& read, ImageLayout layout);

// Reader over an open file descriptor (pread; the caller keeps fd open).
ImageReader fd_reader(int fd);

// Convenience: the build-id of a file on disk ("" when missing, not a
// regular file, or not ELF). Opened with util::open_regular_file.
std::string file_build_id(const std::string& path);
bool file_is_elf(const std::string& path);

// Reader over a byte span.
ImageReader span_reader(std::span<const std::byte> bytes);

std::string to_hex_string(std::span<const std::byte> bytes);

}  // namespace heapscope::targets
