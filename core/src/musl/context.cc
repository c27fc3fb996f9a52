#include "musl/context.h"

#include <array>
#include <fmt/format.h>

#include "glibc/locate.h"
#include "glibc/other_malloc.h"
#include "heapscope/error.h"
#include "musl/layout.h"

namespace heapscope::musl {

namespace {

constexpr std::string_view kContextSymbol = "__malloc_context";

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_glibc_path(std::string_view path) {
  std::string_view file = base_name(path);
  return file.starts_with("libc.so.6") || file.starts_with("libc-2.");
}

bool has_code(const Target& target, const Module& m) {
  for (const auto& r : target.regions())
    if (r.path == m.path && r.executable()) return true;
  return false;
}

// A word `secret` here heads an initialised context: the meta area list's
// head and tail (page-aligned) start with the same word, and every active
// group's meta lies in such a page.
bool is_context(const Target& target, Address at) {
  std::array<uint64_t, context::kSize / 8> w{};
  if (!target.read_exact(at, w.data(), context::kSize)) return false;
  const uint64_t secret = w[context::kSecret / 8];
  const uint64_t head = w[context::kMetaAreaHead / 8], tail = w[context::kMetaAreaTail / 8];
  if (secret == 0 || uint32_t(w[context::kInitDone / 8]) != 1) return false;
  auto starts_with_secret = [&](uint64_t page) {
    auto check = target.read_u64(Address(page));
    return page != 0 && page % kPage == 0 && check && *check == secret;
  };
  if (!starts_with_secret(head) || !starts_with_secret(tail)) return false;
  const uint64_t avail = w[context::kAvailMeta / 8];
  if (avail != 0 && (avail < tail + meta_area::kSlots || avail > tail + meta_area::kSize)) return false;
  for (int sc = 0; sc < kSizeClasses; ++sc) {
    const uint64_t m = w[context::kActive / 8 + sc];
    if (m != 0 && !starts_with_secret(m & ~(kPage - 1))) return false;
  }
  return true;
}

std::optional<Address> context_by_shape(const Target& target, const Module& m, const CancelToken& cancel) {
  for (AddressRange r : glibc::module_data_ranges(target, m.path)) {
    WordReader words(target);
    for (Address a = r.begin; a + context::kSize <= r.end; a += 8) {
      if (((a - r.begin) & 0xffff) == 0) check_cancel(cancel);
      // Cheap first: the head points at a page whose first word is this one.
      auto secret = words.u64(a), head = words.u64(a + context::kMetaAreaHead);
      if (!secret || !head || *secret == 0 || *head == 0 || *head % kPage) continue;
      auto check = target.read_u64(Address(*head));
      if (check && *check == *secret && is_context(target, a)) return a;
    }
  }
  return std::nullopt;
}

// The module whose mappings lie at or just below `at` (a static program's
// .bss may lie past its file's last mapping).
const Module* module_below(const Target& target, Address at) {
  const Module* best = nullptr;
  Address best_begin;
  for (const auto& m : target.modules())
    for (const auto& r : m.ranges)
      if (r.begin <= at && r.begin >= best_begin) best_begin = r.begin, best = &m;
  return best;
}

}  // namespace

std::optional<Context> find_context(const Target& target, const SymbolResolver& symbols,
                                    const CancelToken& cancel) {
  // glibc's libc and musl's do not share a process.
  std::vector<const Module*> musl_libs, programs;
  for (const Module& m : target.modules()) {
    if (is_glibc_path(m.path)) return std::nullopt;
    if (glibc::is_musl_path(m.path)) musl_libs.push_back(&m);
    else if (!m.path.empty() && m.path[0] == '/' && has_code(target, m)) programs.push_back(&m);
  }
  if (auto sym = symbols.find("", kContextSymbol)) {
    Context c{*sym, false, false, ""};
    if (const Module* m = module_below(target, *sym)) c.module = std::string(base_name(m->path));
    auto init = target.read_value<uint32_t>(*sym + context::kInitDone);
    c.initialised = init && *init != 0;
    return c;
  }
  // Dynamic: musl's libc.so (also its dynamic linker). Static: the program.
  const auto& scanned = musl_libs.empty() ? programs : musl_libs;
  for (const Module* m : scanned)
    if (auto at = context_by_shape(target, *m, cancel))
      return Context{*at, true, true, std::string(base_name(m->path))};
  if (!musl_libs.empty())
    throw UserError{fmt::format(
        "musl's libc is mapped ({}) but its malloc context was not found (the library has no symbol {}; "
        "a debug file for it would name it)",
        musl_libs.front()->path, kContextSymbol)};
  return std::nullopt;  // no musl, or a stripped static program whose malloc never ran
}

}  // namespace heapscope::musl
