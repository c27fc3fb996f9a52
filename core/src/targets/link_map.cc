// LinkMap: r_debug and link_map in the target's memory.
#include "targets/link_map.h"

#include <unordered_set>

#include "targets/checked.h"

namespace heapscope::targets {

namespace {

// struct r_debug (LP64): int r_version; struct link_map *r_map; ElfW(Addr)
// r_brk; enum r_state; ElfW(Addr) r_ldbase. glibc 2.35+ extends it
// (r_debug_extended: r_next after r_ldbase) without moving these.
constexpr uint64_t kRVersion = 0, kRMap = 8, kRLdbase = 32;
// struct link_map, the public head (LP64): l_addr, l_name, l_ld, l_next, l_prev.
constexpr uint64_t kLAddr = 0, kLName = 8, kLLd = 16, kLNext = 24;

constexpr uint64_t kMaxName = 4096;
constexpr uint64_t kMaxDynEntries = 1024;
// The dynamic linker's data is a few pages: a region bigger than this is a
// heap or a stack, not worth scanning for r_debug.
constexpr uint64_t kMaxScanRegion = 1ull << 20;
constexpr uint64_t kMaxScanTotal = 64ull << 20;

std::optional<uint64_t> auxv_get(const std::vector<AuxvEntry>& auxv, uint64_t type) {
  for (const auto& e : auxv)
    if (e.type == type) return e.value;
  return std::nullopt;
}

std::string read_c_string(const Target& target, uint64_t addr) {
  std::string s;
  char buf[256];
  while (s.size() < kMaxName) {
    auto a = checked_add(addr, s.size());
    if (!a) break;
    size_t n = target.read(Address(*a), {reinterpret_cast<std::byte*>(buf), sizeof buf});
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == '\0') return s;
      s += buf[i];
    }
  }
  return {};  // unterminated or unreadable: no name
}

std::optional<uint64_t> r_debug_from_dynamic(const Target& target, const std::vector<AuxvEntry>& auxv,
                                             const std::vector<Elf64_Phdr>& exe_phdrs) {
  auto at_phdr = auxv_get(auxv, AT_PHDR);
  auto at_phnum = auxv_get(auxv, AT_PHNUM);
  if (!at_phdr || !at_phnum || *at_phnum == 0 || *at_phnum > 4096) return std::nullopt;
  std::vector<Elf64_Phdr> phdrs = exe_phdrs;
  if (phdrs.empty()) {
    phdrs.resize(*at_phnum);
    if (!target.read_exact(Address(*at_phdr), phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr)))
      return std::nullopt;
  }
  std::optional<uint64_t> bias;
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& p : phdrs) {
    if (p.p_type == PT_PHDR) bias = *at_phdr - p.p_vaddr;
    if (p.p_type == PT_DYNAMIC) dynamic = &p;
  }
  if (!bias || !dynamic) return std::nullopt;
  auto dyn = checked_add(*bias, dynamic->p_vaddr);
  if (!dyn) return std::nullopt;
  uint64_t n = std::min(dynamic->p_memsz / sizeof(Elf64_Dyn), kMaxDynEntries);
  for (uint64_t i = 0; i < n; ++i) {
    auto d = target.read_value<Elf64_Dyn>(Address(*dyn + i * sizeof(Elf64_Dyn)));
    if (!d || d->d_tag == DT_NULL) break;
    if (d->d_tag == DT_DEBUG && d->d_un.d_ptr != 0) return d->d_un.d_ptr;
  }
  return std::nullopt;
}

}  // namespace

bool looks_like_r_debug(const Target& target, uint64_t addr, uint64_t ldbase) {
  auto version = target.read_value<int32_t>(Address(addr) + kRVersion);
  auto map = target.read_u64(Address(addr) + kRMap);
  auto base = target.read_u64(Address(addr) + kRLdbase);
  if (!version || !map || !base) return false;
  if (*version != 1 && *version != 2) return false;
  if (ldbase != 0 && *base != ldbase) return false;
  return *map != 0 && (*map & 7) == 0 && target.read_u64(Address(*map) + kLNext).has_value();
}

std::optional<uint64_t> find_r_debug(const Target& target, const std::vector<AuxvEntry>& auxv,
                                     const std::vector<Elf64_Phdr>& exe_phdrs) {
  auto ldbase = auxv_get(auxv, AT_BASE);
  if (!ldbase || *ldbase == 0) return std::nullopt;  // static: no dynamic linker
  if (auto r = r_debug_from_dynamic(target, auxv, exe_phdrs); r && looks_like_r_debug(target, *r, *ldbase))
    return r;
  uint64_t scanned = 0;
  for (const auto& region : target.regions()) {
    if (!region.readable || !region.writable() || region.range.size() > kMaxScanRegion) continue;
    if (scanned >= kMaxScanTotal) break;
    scanned += region.range.size();
    std::vector<uint64_t> words(region.range.size() / 8);
    size_t n = target.read(region.range.begin, {reinterpret_cast<std::byte*>(words.data()), words.size() * 8}) / 8;
    for (size_t i = 0; i + kRLdbase / 8 < n; ++i) {
      if (words[i + kRLdbase / 8] != *ldbase) continue;
      uint64_t a = region.range.begin.value + i * 8;
      if (looks_like_r_debug(target, a, *ldbase)) return a;
    }
  }
  return std::nullopt;
}

std::vector<LoadedObject> walk_link_map(const Target& target, uint64_t r_debug, size_t max_objects) {
  std::vector<LoadedObject> out;
  auto map = target.read_u64(Address(r_debug) + kRMap);
  if (!map) return out;
  std::unordered_set<uint64_t> seen;
  for (uint64_t lm = *map; lm != 0 && out.size() < max_objects && seen.insert(lm).second;) {
    auto addr = target.read_u64(Address(lm) + kLAddr);
    auto name = target.read_u64(Address(lm) + kLName);
    auto ld = target.read_u64(Address(lm) + kLLd);
    auto next = target.read_u64(Address(lm) + kLNext);
    if (!addr || !name || !ld || !next) break;
    LoadedObject o;
    o.l_addr = *addr;
    o.l_ld = *ld;
    if (*name) o.name = read_c_string(target, *name);
    out.push_back(std::move(o));
    lm = *next;
  }
  return out;
}

std::vector<Elf64_Phdr> elf_file_phdrs(std::span<const std::byte> bytes, uint16_t* machine, uint64_t* entry) {
  auto eh = load<Elf64_Ehdr>(bytes, 0);
  if (!eh || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
    return {};
  std::vector<Elf64_Phdr> out;
  for (uint64_t i = 0; i < eh->e_phnum; ++i) {
    auto off = checked_add(eh->e_phoff, i * sizeof(Elf64_Phdr));
    auto p = off ? load<Elf64_Phdr>(bytes, *off) : std::nullopt;
    if (!p) return {};
    out.push_back(*p);
  }
  if (machine) *machine = eh->e_machine;
  if (entry) *entry = eh->e_entry;
  return out;
}

}  // namespace heapscope::targets
