#include "malloc_summaries.h"

#include <lldb/API/SBStream.h>
#include <lldb/API/SBType.h>
#include <lldb/API/SBTypeCategory.h>
#include <lldb/API/SBTypeNameSpecifier.h>
#include <lldb/API/SBTypeSummary.h>
#include <lldb/API/SBValue.h>

#include <fmt/format.h>

#include <optional>
#include <string>

namespace heapscope::lldb_formatters {
namespace {

// LLDB hands a summary either the struct or a pointer to it. A pointer that
// leads nowhere readable (a mangled link, garbage) gets no summary at all.
lldb::SBValue object_of(lldb::SBValue v, const char* probe_field) {
  if (!v.GetType().IsPointerType()) return v;
  if (v.GetValueAsUnsigned(0) == 0) return {};
  lldb::SBValue obj = v.Dereference();
  lldb::SBValue probe = obj.GetChildMemberWithName(probe_field);
  if (probe.GetNumChildren() > 0) probe = probe.GetChildAtIndex(0);  // an array: its first element
  lldb::SBError err;
  probe.GetValueAsUnsigned(err, 0);
  if (err.Fail()) return {};
  return obj;
}

std::optional<uint64_t> field(lldb::SBValue v, const char* name) {
  lldb::SBValue f = v.GetChildMemberWithName(name);
  if (!f.IsValid()) return std::nullopt;
  lldb::SBError err;
  uint64_t x = f.GetValueAsUnsigned(err, 0);
  if (err.Fail()) return std::nullopt;
  return x;
}

// Where the field lives in the target. An expression result (`p *ptr`) is a
// copy whose load address LLDB may not report; AddressOf still knows it.
std::optional<uint64_t> address_of(lldb::SBValue v, const char* name) {
  lldb::SBValue f = v.GetChildMemberWithName(name);
  if (!f.IsValid()) return std::nullopt;
  lldb::addr_t a = f.GetLoadAddress();
  if (a != LLDB_INVALID_ADDRESS) return a;
  lldb::SBValue ref = f.AddressOf();
  if (!ref.IsValid()) return std::nullopt;
  lldb::SBError err;
  a = ref.GetValueAsUnsigned(err, 0);
  if (err.Fail() || a == 0) return std::nullopt;
  return a;
}

// glibc >= 2.32 safe-linking (PROTECT_PTR): a tcache or fastbin link is
// stored as ptr ^ (address_of_link >> 12).
uint64_t reveal(uint64_t stored, uint64_t link_address) { return stored ^ (link_address >> 12); }

std::string size_text(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (1ull << 20)) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < (1ull << 30)) return fmt::format("{:.1f} MiB", n / 1048576.0);
  return fmt::format("{:.1f} GiB", n / 1073741824.0);
}

bool put(lldb::SBStream& stream, const std::string& text) {
  stream.Printf("%s", text.c_str());
  return true;
}

// malloc_chunk: size with flags, and fd both as stored and revealed (which
// one is the pointer depends on the list the chunk is on: tcache and fastbin
// links are mangled, the other bins' are not).
bool chunk_summary(lldb::SBValue value, lldb::SBTypeSummaryOptions, lldb::SBStream& stream) {
  lldb::SBValue chunk = object_of(value, "mchunk_size");
  if (!chunk.IsValid()) return false;
  auto raw = field(chunk, "mchunk_size");
  if (!raw) return put(stream, "<unreadable>");
  const uint64_t size = *raw & ~uint64_t{7};
  std::string flags;
  if (*raw & 1) flags += "P";
  if (*raw & 2) flags += "M";
  if (*raw & 4) flags += "A";
  std::string s = fmt::format("size=0x{:x} ({}) flags={}", size, size_text(size),
                              flags.empty() ? "-" : flags);
  auto fd = field(chunk, "fd");
  auto fd_at = address_of(chunk, "fd");
  if (fd) {
    s += fmt::format(" fd=0x{:x}", *fd);
    if (fd_at) s += fmt::format(" (safe-linked: 0x{:x})", reveal(*fd, *fd_at));
  }
  return put(stream, s);
}

bool arena_summary(lldb::SBValue value, lldb::SBTypeSummaryOptions, lldb::SBStream& stream) {
  lldb::SBValue arena = object_of(value, "system_mem");
  if (!arena.IsValid()) return false;
  auto top = field(arena, "top");
  auto mem = field(arena, "system_mem");
  auto flags = field(arena, "flags");
  auto next = field(arena, "next");
  auto threads = field(arena, "attached_threads");
  if (!top || !mem) return put(stream, "<unreadable>");
  std::string s = fmt::format("top=0x{:x} system_mem=0x{:x} ({})", *top, *mem, size_text(*mem));
  if (flags) {
    // NONCONTIGUOUS_BIT = 2 (glibc malloc.c); bit 1 was FASTCHUNKS_BIT before 2.27.
    s += fmt::format(" flags=0x{:x}{}", *flags, (*flags & 2) ? " noncontiguous" : "");
  }
  if (threads) s += fmt::format(" attached_threads={}", *threads);
  if (next) s += fmt::format(" next=0x{:x}", *next);
  return put(stream, s);
}

// tcache_perthread_struct: how many chunks sit in which bins. Bin i holds
// chunks of 32 + 16*i bytes (x86-64).
bool tcache_summary(lldb::SBValue value, lldb::SBTypeSummaryOptions, lldb::SBStream& stream) {
  lldb::SBValue tcache = object_of(value, "counts");
  if (!tcache.IsValid()) return false;
  lldb::SBValue counts = tcache.GetChildMemberWithName("counts");
  if (!counts.IsValid()) return put(stream, "<unreadable>");
  const uint32_t bins = counts.GetNumChildren();
  uint64_t total = 0;
  std::string list;
  for (uint32_t i = 0; i < bins; ++i) {
    lldb::SBError err;
    uint64_t c = counts.GetChildAtIndex(i).GetValueAsUnsigned(err, 0);
    if (err.Fail() || c == 0) continue;
    total += c;
    if (!list.empty()) list += ' ';
    list += fmt::format("{}:{}", 32 + 16 * static_cast<uint64_t>(i), c);
  }
  std::string s = fmt::format("{} chunk{}", total, total == 1 ? "" : "s");
  if (!list.empty()) s += " [size:count " + list + "]";
  return put(stream, s);
}

bool tcache_entry_summary(lldb::SBValue value, lldb::SBTypeSummaryOptions, lldb::SBStream& stream) {
  lldb::SBValue entry = object_of(value, "next");
  if (!entry.IsValid()) return false;
  auto next = field(entry, "next");
  auto next_at = address_of(entry, "next");
  if (!next) return put(stream, "<unreadable>");
  std::string s = fmt::format("next=0x{:x}", *next);
  if (next_at) s += fmt::format(" (revealed: 0x{:x})", reveal(*next, *next_at));
  return put(stream, s);
}

}  // namespace

void register_malloc_summaries(lldb::SBDebugger debugger) {
  lldb::SBTypeCategory category = debugger.GetCategory("heapscope");
  if (!category.IsValid()) category = debugger.CreateCategory("heapscope");
  if (!category.IsValid()) return;
  struct Entry {
    const char* type;
    lldb::SBTypeSummary::FormatCallback callback;
    uint32_t options;
    const char* description;
  };
  // Every summary skips pointers: a pointer shows its address, as anywhere
  // else in LLDB. An arena's bins[] are mchunkptrs to fake chunks inside the
  // arena, and a summary on each would bury the dump; in `bt`, `av=0x...`
  // says which arena a frame works on, and a summary there hid it.
  // `p *(mchunkptr)ADDR`, `p *av`, `p main_arena` show them.
  const Entry entries[] = {
      {"malloc_chunk", chunk_summary, lldb::eTypeOptionSkipPointers, "heapscope: glibc malloc_chunk"},
      {"malloc_state", arena_summary, lldb::eTypeOptionSkipPointers, "heapscope: glibc malloc_state (arena)"},
      {"tcache_perthread_struct", tcache_summary, lldb::eTypeOptionSkipPointers, "heapscope: glibc tcache"},
      {"tcache_entry", tcache_entry_summary, lldb::eTypeOptionSkipPointers, "heapscope: glibc tcache entry"},
  };
  for (const Entry& e : entries) {
    lldb::SBTypeSummary summary =
        lldb::SBTypeSummary::CreateWithCallback(e.callback, e.options, e.description);
    category.AddTypeSummary(lldb::SBTypeNameSpecifier(e.type, false), summary);
  }
  category.SetEnabled(true);
}

}  // namespace heapscope::lldb_formatters
