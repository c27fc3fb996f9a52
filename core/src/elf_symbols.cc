// Placeholder until the libdwfl resolver lands.
#include "heapscope/symbols.h"

namespace heapscope {
std::unique_ptr<SymbolResolver> make_elf_symbols(const Target&, SymbolOptions) {
  return make_no_symbols();
}
}  // namespace heapscope
