// SymbolResolver: names to addresses (main_arena, mp_, mems_root) and
// addresses to names (vtables, allocation sites) for a target's modules,
// from their ELF symbol tables and separate debug files found by build-id.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/target.h"

namespace heapscope {

struct SymbolAt {
  std::string name;     // demangled when it is a C++ name
  std::string module;   // file name of the module (no directory)
  uint64_t offset = 0;  // addr - symbol start
  std::string file;     // source file when debug info has it, else empty
  int line = 0;
};

// "name+0x10", or "module+0x1234" when no symbol covers the address.
std::string format_symbol(const SymbolAt& s);

class SymbolResolver {
 public:
  virtual ~SymbolResolver() = default;
  // A data or function symbol, local ones included (main_arena is static),
  // in the first module whose file name contains module_part ("" = any).
  virtual std::optional<Address> find(std::string_view module_part, std::string_view name) const = 0;
  virtual std::optional<SymbolAt> at(Address addr) const = 0;
  // True when the module has a symbol table that includes local symbols
  // (its own .symtab or a separate debug file).
  virtual bool has_full_symbols(std::string_view module_part) const = 0;
  // Caveats for the user, one line each ("note: ..."): a module file that is
  // another build than the target's.
  virtual std::vector<std::string> notes() const { return {}; }
};

struct SymbolOptions {
  bool use_debuginfo = true;  // false: dynamic symbols only (--no-debuginfo)
  // Where the target's files are on this machine: PATH is read as
  // sysroot + PATH (--sysroot, gdb's `set sysroot`); "" = as named.
  std::string sysroot;
  // Directories like /usr/lib/debug (.build-id/xx/yyyy.debug, or the
  // module's path + debuglink name), searched first (--debug-dir).
  std::vector<std::string> debug_dirs;
  // Directories where a module missing at sysroot + PATH is looked for by
  // its file name (LLDB's target.exec-search-paths).
  std::vector<std::string> exec_dirs;
  // Ask the servers in $DEBUGINFOD_URLS for debug files no directory has.
  bool use_debuginfod = true;
};

// Symbols from the target's modules as the files on this machine have them.
std::unique_ptr<SymbolResolver> make_elf_symbols(const Target& target, SymbolOptions options);

// A resolver that knows nothing (buffer targets, tests).
std::unique_ptr<SymbolResolver> make_no_symbols();

// Tries `first`, then a front-end supplied fallback (gdb's own lookup).
std::unique_ptr<SymbolResolver> with_fallback(
    std::unique_ptr<SymbolResolver> first,
    std::function<std::optional<Address>(std::string_view name)> fallback);

}  // namespace heapscope
