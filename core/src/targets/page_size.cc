#include "targets/page_size.h"

#include <elf.h>
#include <unistd.h>

#include "targets/auxv.h"

namespace heapscope::targets {

namespace {
constexpr uint64_t kDefaultPage = 4096;
bool plausible(uint64_t page) { return page >= 4096 && page <= (1u << 20) && (page & (page - 1)) == 0; }
}  // namespace

uint64_t page_size(const Target& target) {
  if (auto at = auxv_value(target, AT_PAGESZ); at && plausible(*at)) return *at;
  if (target.pid() && !target.core_path()) {
    long ps = ::sysconf(_SC_PAGESIZE);
    if (ps > 0 && plausible(static_cast<uint64_t>(ps))) return static_cast<uint64_t>(ps);
  }
  return kDefaultPage;
}

}  // namespace heapscope::targets
