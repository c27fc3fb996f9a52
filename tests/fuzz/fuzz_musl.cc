// libFuzzer target: the musl mallocng model and the heap commands over it.
// The input is the bytes of the regions of tests/unit/musl_synthetic.h, in
// order (musl libc's data page with the context, a meta area, the groups'
// pages), each cut or zero-filled to its size, mapped as a process with
// musl's libc.so and no symbols. Any crash, sanitizer report, leak, timeout
// or out-of-memory is a bug; user errors are fine.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/session.h"
#include "musl_synthetic.h"

using namespace heapscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BufferTarget t;
  for (const auto& [at, len] : testing::kMuslRegions) {
    std::vector<std::byte> bytes(len);
    const size_t n = std::min<size_t>(size, len);
    std::memcpy(bytes.data(), data, n);
    data += n, size -= n;
    t.add_region(Address(at), std::move(bytes), kPermRead | kPermWrite, at == testing::kData ? testing::kPath : "");
  }
  t.add_module({testing::kPath, Address(testing::kData),
                {{Address(testing::kData), Address(testing::kData + 0x1000)}}, ""});
  SessionOptions opt;
  opt.use_debuginfo = false;
  Session session(std::make_unique<BufferTarget>(std::move(t)), opt);
  CancelToken cancel;
  const std::vector<std::vector<std::string>> runs = {
      {"stats"}, {"stats", "--json"}, {"chunks", "--json"}, {"bins"}, {"bins", "--json"},
      {"chunks", "--state", "unknown"}};
  for (const auto& argv : runs) {
    CommandOutput out = run_command(session, "heap", argv, cancel);
    if (out.status != 0 && out.status != 2) __builtin_trap();  // only errors are "user error"
  }
  return 0;
}
