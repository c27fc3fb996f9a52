#include "glibc/other_malloc.h"

#include "glibc/locate.h"

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <vector>

namespace heapscope::glibc {
namespace {

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

struct KnownLibrary {
  std::string_view prefix;  // of the file name
  std::string_view name;
};
// Allocators that replace malloc when their shared library is loaded
// (preloaded, or linked: they export malloc and come before libc).
constexpr std::array<KnownLibrary, 3> kAllocatorLibraries = {{
    {"libjemalloc.so", "jemalloc"},
    {"libtcmalloc", "tcmalloc"},  // also _minimal, _debug, _and_profiler
    {"libmimalloc", "mimalloc"},
}};

// mallocng (musl 1.2.1+) keeps a random `secret` first in its context and
// copies it into the first word of every meta area (page-aligned, pointed
// to a few words after it): a pattern glibc's data does not have.
bool has_mallocng_context(const Target& target, AddressRange data) {
  constexpr uint64_t kPage = 4096;
  constexpr int kWordsToHead = 12;  // meta_area_head is the 10th word on 64-bit
  std::vector<uint64_t> words(data.size() / 8);
  size_t n = target.read(data.begin, {reinterpret_cast<std::byte*>(words.data()), words.size() * 8}) / 8;
  for (size_t i = 0; i < n; ++i) {
    uint64_t secret = words[i];
    if (secret == 0 || secret < (1ull << 32)) continue;  // random 64-bit: high bits set
    for (size_t j = i + 1; j < n && j <= i + kWordsToHead; ++j) {
      uint64_t p = words[j];
      if (p == 0 || p % kPage) continue;
      if (auto first = target.read_u64(Address(p)); first && *first == secret) return true;
    }
  }
  return false;
}

// A module with an executable mapping: the program or a library, not a
// data file the program mapped.
bool has_code(const Target& target, const Module& m) {
  for (const auto& r : target.regions())
    if (r.path == m.path && r.executable()) return true;
  return false;
}

std::optional<OtherMalloc> static_musl(const Target& target, const SymbolResolver& symbols) {
  for (const Module& m : target.modules()) {
    if (m.path.empty() || m.path[0] != '/' || !has_code(target, m)) continue;
    std::string file(base_name(m.path));
    if (symbols.find(file, "__malloc_context") || symbols.find(file, "__libc_malloc_impl") ||
        symbols.find(file, "__simple_malloc"))
      return OtherMalloc{"musl's malloc", "linked into " + file, true};
    for (AddressRange r : module_data_ranges(target, m.path))
      if (has_mallocng_context(target, r)) return OtherMalloc{"musl's malloc", "linked into " + file, true};
  }
  return std::nullopt;
}

}  // namespace

bool is_musl_path(std::string_view path) {
  std::string_view base = base_name(path);
  return base.starts_with("ld-musl-") || base.starts_with("libc.musl-") ||
         path.find("-linux-musl/") != std::string_view::npos;
}

std::optional<OtherMalloc> find_other_malloc(const Target& target, const SymbolResolver& symbols) {
  bool has_glibc = false;
  for (const Module& m : target.modules()) {
    std::string_view file = base_name(m.path);
    if (is_musl_path(m.path)) return OtherMalloc{"musl's malloc", m.path, true};
    has_glibc = has_glibc || file.starts_with("libc.so") || file.starts_with("libc-2.");
    for (const auto& k : kAllocatorLibraries)
      if (file.starts_with(k.prefix)) return OtherMalloc{std::string(k.name), std::string(file), false};
  }
  if (!has_glibc) return static_musl(target, symbols);
  return std::nullopt;
}

std::string other_malloc_message(const OtherMalloc& m) {
  return fmt::format("malloc in this process is {} ({}); {}", m.name, m.where,
                     m.replaces_libc ? "there is no glibc heap" : "glibc's heap is unused");
}

}  // namespace heapscope::glibc
