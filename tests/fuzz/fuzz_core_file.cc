// libFuzzer target: the ELF core reader. The input is written to a memfd and
// opened as a core; an opened core has every region, thread and module read.
// Any crash, sanitizer report, leak, timeout or out-of-memory is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "heapscope/core_file.h"

using namespace heapscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzz-core", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  // No sysroot lookups of files the input names: a directory that has none.
  CoreFileOptions opt;
  opt.sysroot = "/nonexistent-heapscope-fuzz";
  auto core = open_core_file("/proc/self/fd/" + std::to_string(fd), opt);
  close(fd);
  if (!core) {
    if (core.error().message.empty() || core.error().message.find('\n') != std::string::npos)
      __builtin_trap();  // errors are one line
    return 0;
  }
  const Target& t = **core;
  std::vector<std::byte> buf(4096);
  uint64_t sum = 0;
  for (const auto& r : t.regions()) {
    // A page at each end of every region, and a read across its end.
    for (Address a : {r.range.begin, r.range.end - 1, r.range.end - 8})
      sum += t.read(a, buf);
    (void)t.find_region(r.range.begin);
  }
  for (const auto& th : t.threads()) sum += th.registers.size() + th.pc.value + th.stack.size();
  for (const auto& m : t.modules()) sum += m.path.size() + m.ranges.size();
  sum += t.description().size() + t.notes().size();
  if (sum == 1) __builtin_trap();  // keep the reads
  return 0;
}
