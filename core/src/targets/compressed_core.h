// Compressed cores as systemd-coredump stores them (.zst, .lz4, .xz): told
// apart by their magic bytes, never by the name, and decompressed into an
// unlinked temporary file (or a memfd) that the core reader then maps like
// any core: a core can be far larger than the memory we may allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "heapscope/error.h"
#include "util/regular_file.h"

namespace heapscope::targets {

enum class Compression { kNone, kZstd, kLz4, kXz };

// "zstd", "lz4", "xz".
const char* compression_name(Compression c);

// From the first bytes of a file (6 are enough).
Compression detect_compression(std::span<const std::byte> head);

// What hostile input may make us write: decompression stops with a one-line
// error past max_output bytes (a decompression bomb).
struct DecompressLimits {
  uint64_t max_output;
};

// The largest decompressed core accepted: $HEAPSCOPE_MAX_CORE_SIZE (bytes,
// with an optional K/M/G suffix) or 64 GiB.
DecompressLimits default_decompress_limits();

// Decompresses COMPRESSED (named PATH in errors) into a new unlinked file.
// A stream that ends early keeps what was decompressed (the core reader
// then reports a truncated core); corrupt data, the output cap and a full
// disk are one-line errors naming PATH.
Result<util::RegularFile> decompress_core(std::span<const std::byte> compressed, Compression kind,
                                          const std::string& path, const DecompressLimits& limits);

}  // namespace heapscope::targets
