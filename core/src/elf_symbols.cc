// ElfSymbols: a SymbolResolver over the target's modules as the ELF files on
// this machine have them (under --sysroot when given), through libdwfl. Each
// module's file is reported at the load bias its mappings imply; a file whose
// build-id is not the one the target recorded is not used, and a note says
// so. Separate debug files are found by build-id under the --debug-dir
// directories, $HEAPSCOPE_DEBUG_DIRS, the sysroot's and this machine's
// /usr/lib/debug and an unpacked sysroot around the module; when none has
// it and $DEBUGINFOD_URLS is set, libdebuginfod fetches it by build-id.
// Every file is opened with util::open_regular_file (no FIFO, no device).
// Names resolve through a per-module hash map built on first use, so local
// symbols (main_arena, mp_) are found as quickly as global ones.
#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "heapscope/symbols.h"
#include "targets/elf_image.h"
#include "util/debuginfod_library.h"
#include "util/mapping_path.h"
#include "util/regular_file.h"

namespace heapscope {

namespace {

constexpr const char* kDebugRoot = "/usr/lib/debug";

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string demangle(const char* name) {
  if (!name) return {};
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (d && status == 0) {
      std::string s = d;
      std::free(d);
      return s;
    }
    std::free(d);
  }
  return name;
}

// True when the ELF file at fd has a SHT_SYMTAB section with entries.
bool elf_has_symtab(Elf* elf) {
  if (!elf) return false;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_size > sh.sh_entsize) return true;
  }
  return false;
}

bool file_has_symtab(int fd) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  bool r = elf_has_symtab(elf);
  if (elf) elf_end(elf);
  return r;
}

struct DebugSearch;

struct ModuleEntry {
  const DebugSearch* search = nullptr;
  Dwfl_Module* mod = nullptr;
  std::string path;
  std::string name;  // base name
  bool own_symtab = false;
  bool debug_symtab = false;  // set when a separate debug file with .symtab was found
  bool names_built = false;
  std::unordered_map<std::string, GElf_Addr> by_name;
};

// Where separate debug files are looked for, and how.
struct DebugSearch {
  SymbolOptions options;
  debuginfod_client* debuginfod = nullptr;  // set when $DEBUGINFOD_URLS names a server

  // The roots, in order: --debug-dir, $HEAPSCOPE_DEBUG_DIRS (colon-separated),
  // the sysroot's /usr/lib/debug, /usr/lib/debug, and the usr/lib/debug of an
  // unpacked sysroot the module lies in (e.g. <root>/lib/x86_64-linux-gnu/
  // libc.so.6 -> <root>/usr/lib/debug, as `dpkg -x libc6 libc6-dbg <root>`
  // leaves them). A build-id match is required, so a wrong candidate costs
  // an open() and nothing else.
  std::vector<std::string> roots(const std::string& module_file) const {
    std::vector<std::string> out = options.debug_dirs;
    if (const char* env = std::getenv("HEAPSCOPE_DEBUG_DIRS")) {
      std::string dirs = env;
      size_t start = 0;
      while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        if (end > start) out.push_back(dirs.substr(start, end - start));
        start = end + 1;
      }
    }
    if (!options.sysroot.empty()) out.push_back(options.sysroot + kDebugRoot);
    out.push_back(kDebugRoot);
    std::string dir = module_file;
    for (int up = 0; up < 4; ++up) {
      auto slash = dir.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      dir.resize(slash);
      out.push_back(dir + "/usr/lib/debug");
    }
    return out;
  }
};

// An open candidate debug file when it is a regular file with the build-id
// `id` (any, when id is empty); -1 otherwise.
int open_debug_candidate(const std::string& path, const std::string& id) {
  auto f = util::open_regular_file(path);
  if (!f) return -1;
  // A debug file for another build is worse than none.
  if (!id.empty() && targets::read_build_id(targets::fd_reader(f->fd.get()), targets::ImageLayout::kFile) != id)
    return -1;
  return dup(f->fd.get());  // libdwfl owns what it is given
}

// libdwfl calls this (lazily) when a module's own file lacks what is asked:
// look for <root>/.build-id/xx/yyyy.debug, then the debuglink name, then ask
// debuginfod.
int find_debuginfo(Dwfl_Module* mod, void** userdata, const char*, Dwarf_Addr, const char* file_name,
                   const char* debuglink_file, GElf_Word, char** debuginfo_file_name) {
  auto* entry = static_cast<ModuleEntry*>(*userdata);
  if (!entry || !entry->search) return -1;
  const DebugSearch& search = *entry->search;
  std::vector<std::string> candidates;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  std::string id;
  const auto roots = search.roots(file_name ? file_name : "");
  if (len > 1) {
    id = targets::to_hex_string({reinterpret_cast<const std::byte*>(bits), static_cast<size_t>(len)});
    for (const auto& root : roots)
      candidates.push_back(root + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug");
  }
  if (debuglink_file && std::strchr(debuglink_file, '/') == nullptr) {
    // The target's own directory for the module, under each root, and the
    // file's directory on disk.
    std::string dir = entry->path.substr(0, entry->path.rfind('/') + 1);
    for (const auto& root : roots) candidates.push_back(root + dir + debuglink_file);
    if (file_name) {
      std::string disk_dir = file_name;
      disk_dir = disk_dir.substr(0, disk_dir.rfind('/') + 1);
      candidates.push_back(disk_dir + ".debug/" + debuglink_file);
    }
  }
  auto found = [&](int fd, const std::string& path) {
    if (file_has_symtab(fd)) entry->debug_symtab = true;
    *debuginfo_file_name = strdup(path.c_str());
    return fd;
  };
  for (const auto& c : candidates) {
    int fd = open_debug_candidate(c, id);
    if (fd >= 0) return found(fd, c);
  }
  if (search.debuginfod && len > 1) {
    char* fetched = nullptr;
    int fd = util::debuginfod_library()->find_debuginfo(search.debuginfod, bits, len, &fetched);
    if (fd >= 0) {
      close(fd);
      std::string path = fetched ? fetched : "";
      std::free(fetched);
      int checked = path.empty() ? -1 : open_debug_candidate(path, id);
      if (checked >= 0) return found(checked, path);
    } else {
      std::free(fetched);
    }
  }
  return -1;
}

int no_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*, GElf_Word,
                 char**) {
  return -1;
}

const Dwfl_Callbacks kWithDebuginfo = {dwfl_build_id_find_elf, find_debuginfo, nullptr, nullptr};
const Dwfl_Callbacks kOwnSymbolsOnly = {dwfl_build_id_find_elf, no_debuginfo, nullptr, nullptr};

// The load bias of the module's file (open at fd): where the target mapped
// it minus where the file wants its segments. A mapping at file offset X
// holds the PT_LOAD whose page-aligned p_offset is X.
std::optional<GElf_Addr> load_bias(const Target& target, const Module& m, int fd) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  std::optional<GElf_Addr> bias;
  size_t phnum = 0;
  if (elf && elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &phnum) == 0) {
    std::vector<GElf_Phdr> loads;
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) loads.push_back(ph);
    }
    for (const auto& r : target.regions()) {
      if (r.path != m.path || bias) continue;
      for (const auto& ph : loads)
        if ((ph.p_offset & ~GElf_Off{0xfff}) == r.file_offset) {
          bias = r.range.begin.value - (ph.p_vaddr & ~GElf_Addr{0xfff});
          break;
        }
    }
    if (!bias && !loads.empty()) bias = m.base.value - (loads.front().p_vaddr & ~GElf_Addr{0xfff});
  }
  if (elf) elf_end(elf);
  return bias;
}

// Where the target's file `path` is on this machine: under the sysroot when
// there is one. Relative names (no real mapping has one) resolve against the
// sysroot only; names that cannot be a mapped file on disk give "".
std::string file_on_this_machine(const std::string& path, const std::string& sysroot) {
  if (path.empty() || util::is_unopenable_mapping_path(path)) return {};
  if (path[0] != '/') return sysroot.empty() ? std::string() : sysroot + "/" + path;
  return sysroot + path;
}

class ElfSymbols final : public SymbolResolver {
 public:
  ElfSymbols(const Target& target, SymbolOptions options) {
    search_.options = std::move(options);
    static std::once_flag elf_init;
    std::call_once(elf_init, [] { elf_version(EV_CURRENT); });
    if (search_.options.use_debuginfo && search_.options.use_debuginfod) {
      const char* urls = std::getenv("DEBUGINFOD_URLS");
      const util::DebuginfodLibrary* lib = urls && *urls ? util::debuginfod_library() : nullptr;
      if (lib) search_.debuginfod = lib->begin();
    }
    dwfl_ = dwfl_begin(search_.options.use_debuginfo ? &kWithDebuginfo : &kOwnSymbolsOnly);
    if (!dwfl_) return;
    dwfl_report_begin(dwfl_);
    for (const Module& m : target.modules()) {
      std::string disk = file_on_this_machine(m.path, search_.options.sysroot);
      if (disk.empty()) continue;
      auto file = util::open_regular_file(disk);
      for (size_t i = 0; !file && i < search_.options.exec_dirs.size(); ++i) {
        disk = search_.options.exec_dirs[i] + "/" + base_name(m.path);
        file = util::open_regular_file(disk);
      }
      if (!file) continue;  // not on this machine
      // A different build of the file than the target mapped: its symbols
      // would lie, so report nothing (the heap walker searches instead).
      if (!m.build_id.empty()) {
        std::string on_disk =
            targets::read_build_id(targets::fd_reader(file->fd.get()), targets::ImageLayout::kFile);
        if (!on_disk.empty() && on_disk != m.build_id) {
          notes_.push_back(fmt::format(
              "note: {} on this machine is not the file the process mapped (build-id {}, the target has "
              "{}); its symbols are not used",
              disk, on_disk, m.build_id));
          continue;
        }
      }
      auto bias = load_bias(target, m, file->fd.get());
      if (!bias) continue;  // not ELF
      int fd = dup(file->fd.get());  // libdwfl owns the one it is given
      Dwfl_Module* mod = fd < 0 ? nullptr : dwfl_report_elf(dwfl_, m.path.c_str(), disk.c_str(), fd, *bias, false);
      if (!mod) {
        if (fd >= 0) close(fd);
        continue;
      }
      auto e = std::make_unique<ModuleEntry>();
      e->search = &search_;
      e->mod = mod;
      e->path = m.path;
      e->name = base_name(m.path);
      void** userdata = nullptr;
      dwfl_module_info(mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
      if (userdata) *userdata = e.get();
      GElf_Addr elf_bias;
      e->own_symtab = elf_has_symtab(dwfl_module_getelf(mod, &elf_bias));
      modules_.push_back(std::move(e));
    }
    dwfl_report_end(dwfl_, nullptr, nullptr);
  }
  ~ElfSymbols() override {
    if (dwfl_) dwfl_end(dwfl_);
    if (search_.debuginfod) util::debuginfod_library()->end(search_.debuginfod);
  }

  std::vector<std::string> notes() const override { return notes_; }

  std::optional<Address> find(std::string_view module_part, std::string_view name) const override {
    std::lock_guard lock(mu_);
    std::string key(name);
    for (const auto& e : modules_) {
      if (e->name.find(module_part) == std::string::npos) continue;
      build_names(*e);
      auto it = e->by_name.find(key);
      if (it != e->by_name.end()) return Address(it->second);
    }
    return std::nullopt;
  }

  std::optional<SymbolAt> at(Address addr) const override {
    std::lock_guard lock(mu_);
    if (!dwfl_) return std::nullopt;
    Dwfl_Module* mod = dwfl_addrmodule(dwfl_, addr.value);
    if (!mod) return std::nullopt;
    const ModuleEntry* e = entry_for(mod);
    SymbolAt s;
    s.module = e ? e->name : "";
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char* name = dwfl_module_addrinfo(mod, addr.value, &offset, &sym, nullptr, nullptr, nullptr);
    if (name && *name) {
      s.name = demangle(name);
      s.offset = offset;
    } else {
      Dwarf_Addr low = 0;
      dwfl_module_info(mod, nullptr, &low, nullptr, nullptr, nullptr, nullptr, nullptr);
      s.offset = addr.value - low;
    }
    if (Dwfl_Line* line = dwfl_module_getsrc(mod, addr.value)) {
      int lineno = 0;
      if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        s.file = file;
        s.line = lineno;
      }
    }
    return s;
  }

  bool has_full_symbols(std::string_view module_part) const override {
    std::lock_guard lock(mu_);
    for (const auto& e : modules_) {
      if (e->name.find(module_part) == std::string::npos) continue;
      if (e->own_symtab) return true;
      // Loading the symbol table is what makes libdwfl look for the debug file.
      build_names(*e);
      return e->debug_symtab;
    }
    return false;
  }

 private:
  const ModuleEntry* entry_for(Dwfl_Module* mod) const {
    for (const auto& e : modules_)
      if (e->mod == mod) return e.get();
    return nullptr;
  }

  // Every defined symbol of the module by name; a global wins over a local
  // of the same name.
  void build_names(ModuleEntry& e) const {
    if (e.names_built) return;
    e.names_built = true;
    int n = dwfl_module_getsymtab(e.mod);
    if (n <= 0) return;
    e.by_name.reserve(static_cast<size_t>(n));
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      GElf_Word shndx = 0;
      const char* name = dwfl_module_getsym_info(e.mod, i, &sym, &addr, &shndx, nullptr, nullptr);
      if (!name || !*name || sym.st_shndx == SHN_UNDEF) continue;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type == STT_SECTION || type == STT_FILE || type == STT_TLS) continue;
      auto [it, inserted] = e.by_name.emplace(name, addr);
      if (!inserted && GELF_ST_BIND(sym.st_info) != STB_LOCAL) it->second = addr;
    }
  }

  DebugSearch search_;
  std::vector<std::string> notes_;
  Dwfl* dwfl_ = nullptr;
  std::vector<std::unique_ptr<ModuleEntry>> modules_;
  mutable std::mutex mu_;
};

}  // namespace

std::unique_ptr<SymbolResolver> make_elf_symbols(const Target& target, SymbolOptions options) {
  return std::make_unique<ElfSymbols>(target, options);
}

}  // namespace heapscope
