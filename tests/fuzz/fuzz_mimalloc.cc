// libFuzzer target: the mimalloc model and the commands that read it, over
// the synthetic mimalloc heap of tests/unit/synthetic_mimalloc.h patched by
// the input. The input is a list of 12-byte patches: a 32-bit place (the
// segment header and page descriptors, the small page's blocks, or the main
// heap and its tld) and the 64-bit value written there. Any crash, sanitizer
// report, leak, timeout or out-of-memory is a bug; user errors are fine.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/session.h"
#include "synthetic_mimalloc.h"

using namespace heapscope;
using namespace heapscope::synthetic_mimalloc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 12 * 256) return -1;  // a few hundred patches say all there is to say
  // A library path no file has: the symbols come from nowhere but the target.
  SyntheticMimalloc s("/nonexistent-heapscope-fuzz/libmimalloc.so.2");
  const uint64_t windows[][2] = {{kSeg, 0x2000}, {kSmall, 0x600}, {kMainHeap, 0x2000}};
  for (size_t at = 0; at + 12 <= size; at += 12) {
    uint32_t place;
    uint64_t value;
    std::memcpy(&place, data + at, 4);
    std::memcpy(&value, data + at + 4, 8);
    const auto& w = windows[place % 3];
    s.put(w[0] + (place / 3) % w[1] / 8 * 8, value);
  }
  SessionOptions opt;
  opt.use_debuginfo = false;
  Session session(std::make_unique<BufferTarget>(std::move(s.t)), opt);
  CancelToken cancel;
  const std::vector<std::vector<std::string>> runs = {
      {"stats"}, {"stats", "--json"}, {"chunks", "--json"}, {"bins"}, {"bins", "--json"},
      {"leaks", "--json"}, {"refs", to_hex(block(1))}, {"chunks", "--state", "cached"}};
  for (const auto& argv : runs) {
    CommandOutput out = run_command(session, "heap", argv, cancel);
    if (out.status != 0 && out.status != 2) __builtin_trap();  // only errors are "user error"
    // Unpatched, the heap is mimalloc's and clean: the target reads what it means to.
    if (size == 0 && argv.size() == 2 && argv[0] == "stats" &&
        out.out.find("\"allocator\":\"mimalloc\"") == std::string::npos)
      __builtin_trap();
  }
  return 0;
}
