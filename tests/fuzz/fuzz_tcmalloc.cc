// libFuzzer target: the tcmalloc model and the commands that read it, over
// the synthetic gperftools heap of tests/unit/synthetic_tcmalloc.h patched
// by the input (tcmalloc_input.h). The exported symbols come from the
// session's symbol fallback, as Debian's library would give them. Any crash,
// sanitizer report, leak, timeout or out-of-memory is a bug; user errors
// are fine.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/session.h"
#include "tcmalloc_input.h"

using namespace heapscope;
using namespace heapscope::synthetic_tcmalloc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 12 * 256) return -1;  // a few hundred patches say all there is to say
  // A library path no file has: no real library's symbols stand in.
  Synthetic s("gperftools 2.10", "/nonexistent-heapscope-fuzz/libtcmalloc_minimal.so.4");
  size_t windows = 0;
  const Window* w = patch_windows(&windows);
  for (size_t at = 0; at + 12 <= size; at += 12) {
    uint32_t place;
    uint64_t value;
    std::memcpy(&place, data + at, 4);
    std::memcpy(&value, data + at + 4, 8);
    const Window& win = w[place % windows];
    s.t.write_value(Address(win.base + (place / windows) % win.size / 8 * 8), value);
  }
  SessionOptions opt;
  opt.use_debuginfo = false;
  opt.symbol_fallback = [](std::string_view name) {
    ExportedSymbols exported;
    return exported.find("", name);
  };
  Session session(std::make_unique<BufferTarget>(std::move(s.t)), opt);
  CancelToken cancel;
  const std::vector<std::vector<std::string>> runs = {
      {"stats"}, {"stats", "--json"}, {"chunks", "--json"}, {"bins"}, {"bins", "--json"}, {"leaks", "--json"},
      {"refs", to_hex(object(5))}, {"chunk", to_hex(object(4))}, {"check"}, {"frag"}, {"map"}, {"map", "--json"}};
  for (const auto& argv : runs) {
    CommandOutput out = run_command(session, "heap", argv, cancel);
    if (out.status != 0 && out.status != 1 && out.status != 2) __builtin_trap();  // 1: heap check's findings
    // Unpatched, the heap is tcmalloc's and clean: the target reads what it means to.
    if (size == 0 && argv.size() == 2 && argv[0] == "stats" &&
        out.out.find("\"allocator\":\"tcmalloc\"") == std::string::npos)
      __builtin_trap();
  }
  return 0;
}
