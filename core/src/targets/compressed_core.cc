// Streaming decompression of a core into an unlinked file, with libzstd,
// liblz4 (frame format) and liblzma; output bounded by DecompressLimits.
#include "targets/compressed_core.h"

#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <vector>

#include "heapscope/command.h"

namespace heapscope::targets {

namespace {

constexpr uint64_t kDefaultMaxOutput = uint64_t{64} << 30;
constexpr size_t kOutputBuffer = size_t{1} << 20;
// liblzma's decoder allocates what the stream header asks for: a hostile
// header must not make us allocate gigabytes (xz -9 needs 65 MiB).
constexpr uint64_t kXzMemoryLimit = uint64_t{512} << 20;

std::string human(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30) && bytes % (uint64_t{1} << 30) == 0)
    return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0)
    return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

// An unlinked file in $TMPDIR (or /tmp), else a memfd: never our heap.
Result<util::FileDescriptor> scratch_file() {
  const char* dir = std::getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  util::FileDescriptor fd(::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  util::FileDescriptor mem(memfd_create("heapscope-core", MFD_CLOEXEC));
  if (mem) return mem;
  return Error{fmt::format("cannot create a file to decompress the core into ({}: {})", dir,
                           std::strerror(errno))};
}

// Buffered writes to the scratch file, refusing to go past the cap.
class Sink {
 public:
  Sink(util::FileDescriptor fd, const std::string& path, const char* format, uint64_t cap)
      : fd_(std::move(fd)), path_(path), format_(format), cap_(cap), buf_(kOutputBuffer) {}

  std::span<std::byte> space() { return {buf_.data() + used_, buf_.size() - used_}; }

  std::optional<Error> commit(size_t n) {
    used_ += n;
    if (cap_ - total_ < used_)
      return Error{fmt::format("{}: the decompressed core would exceed {} (a decompression bomb?); "
                               "set HEAPSCOPE_MAX_CORE_SIZE to allow more",
                               path_, human(cap_))};
    if (used_ == buf_.size()) return flush();
    return std::nullopt;
  }

  std::optional<Error> flush() {
    size_t done = 0;
    while (done < used_) {
      ssize_t w = ::write(fd_.get(), buf_.data() + done, used_ - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        return Error{fmt::format("{}: cannot decompress the core: {} after {} bytes", path_,
                                 w < 0 ? std::strerror(errno) : "nothing written", total_ + done)};
      done += static_cast<size_t>(w);
    }
    total_ += used_;
    used_ = 0;
    return std::nullopt;
  }

  Error corrupt(const std::string& why) const {
    return Error{fmt::format("{}: corrupt {} data after {} decompressed bytes ({})", path_, format_,
                             total_ + used_, why)};
  }

  Result<util::RegularFile> finish() {
    if (auto e = flush()) return *e;
    if (total_ == 0)
      return Error{fmt::format("{}: the {} data holds no whole block (the file is cut short)", path_, format_)};
    return util::RegularFile{std::move(fd_), total_};
  }

 private:
  util::FileDescriptor fd_;
  std::string path_;
  const char* format_;
  uint64_t cap_;
  std::vector<std::byte> buf_;
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// Each decoder runs until its input is used up; a last frame left open is a
// stream cut short, kept as it is.
std::optional<Error> run_zstd(std::span<const std::byte> in, Sink& out) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!ds) throw std::bad_alloc();
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  while (src.pos < src.size) {
    auto space = out.space();
    ZSTD_outBuffer dst{space.data(), space.size(), 0};
    size_t r = ZSTD_decompressStream(ds.get(), &dst, &src);
    if (ZSTD_isError(r)) return out.corrupt(ZSTD_getErrorName(r));
    if (auto e = out.commit(dst.pos)) return e;
  }
  // Flush what the decoder still holds for a frame whose input is complete.
  for (;;) {
    auto space = out.space();
    ZSTD_outBuffer dst{space.data(), space.size(), 0};
    size_t r = ZSTD_decompressStream(ds.get(), &dst, &src);
    if (ZSTD_isError(r)) return out.corrupt(ZSTD_getErrorName(r));
    if (auto e = out.commit(dst.pos)) return e;
    if (dst.pos == 0) return std::nullopt;
  }
}

std::optional<Error> run_lz4(std::span<const std::byte> in, Sink& out) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) throw std::bad_alloc();
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> ctx(raw, LZ4F_freeDecompressionContext);
  size_t pos = 0;
  for (;;) {
    auto space = out.space();
    size_t dst_size = space.size(), src_size = in.size() - pos;
    size_t r = LZ4F_decompress(ctx.get(), space.data(), &dst_size, in.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(r)) return out.corrupt(LZ4F_getErrorName(r));
    pos += src_size;
    if (auto e = out.commit(dst_size)) return e;
    if (pos == in.size() && dst_size == 0) return std::nullopt;
  }
}

std::optional<Error> run_xz(std::span<const std::byte> in, Sink& out) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, kXzMemoryLimit, LZMA_CONCATENATED) != LZMA_OK) throw std::bad_alloc();
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&s, lzma_end);
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  for (;;) {
    auto space = out.space();
    s.next_out = reinterpret_cast<uint8_t*>(space.data());
    s.avail_out = space.size();
    lzma_ret r = lzma_code(&s, s.avail_in ? LZMA_RUN : LZMA_FINISH);
    if (auto e = out.commit(space.size() - s.avail_out)) return e;
    switch (r) {
      case LZMA_OK: continue;
      case LZMA_STREAM_END: return std::nullopt;
      case LZMA_BUF_ERROR: return std::nullopt;  // input ends inside a stream
      case LZMA_MEMLIMIT_ERROR:
        return out.corrupt(fmt::format("it asks for more than {} of memory to decode", human(kXzMemoryLimit)));
      case LZMA_MEM_ERROR: throw std::bad_alloc();
      case LZMA_FORMAT_ERROR: return out.corrupt("not an xz stream");
      case LZMA_OPTIONS_ERROR: return out.corrupt("unsupported options");
      case LZMA_DATA_ERROR: return out.corrupt("data error");
      default: return out.corrupt(fmt::format("liblzma error {}", static_cast<int>(r)));
    }
  }
}

}  // namespace

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kZstd: return "zstd";
    case Compression::kLz4: return "lz4";
    case Compression::kXz: return "xz";
    case Compression::kNone: break;
  }
  return "uncompressed";
}

Compression detect_compression(std::span<const std::byte> head) {
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    if (head.size() < magic.size()) return false;
    size_t i = 0;
    for (unsigned char m : magic)
      if (static_cast<unsigned char>(head[i++]) != m) return false;
    return true;
  };
  if (starts({0x28, 0xb5, 0x2f, 0xfd})) return Compression::kZstd;
  if (starts({0x04, 0x22, 0x4d, 0x18})) return Compression::kLz4;
  if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) return Compression::kXz;
  return Compression::kNone;
}

DecompressLimits default_decompress_limits() {
  DecompressLimits l{kDefaultMaxOutput};
  if (const char* env = std::getenv("HEAPSCOPE_MAX_CORE_SIZE")) {
    try {
      l.max_output = parse_uint(env, "HEAPSCOPE_MAX_CORE_SIZE");
    } catch (const UserError&) {
      // An unreadable setting keeps the default rather than lifting the cap.
    }
  }
  return l;
}

Result<util::RegularFile> decompress_core(std::span<const std::byte> compressed, Compression kind,
                                          const std::string& path, const DecompressLimits& limits) {
  auto fd = scratch_file();
  if (!fd) return Error{path + ": " + fd.error().message};
  Sink out(std::move(*fd), path, compression_name(kind), limits.max_output);
  std::optional<Error> err;
  switch (kind) {
    case Compression::kZstd: err = run_zstd(compressed, out); break;
    case Compression::kLz4: err = run_lz4(compressed, out); break;
    case Compression::kXz: err = run_xz(compressed, out); break;
    case Compression::kNone: return Error{path + ": not compressed"};
  }
  if (err) return *err;
  return out.finish();
}

}  // namespace heapscope::targets
