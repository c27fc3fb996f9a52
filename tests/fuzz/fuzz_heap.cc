// libFuzzer target: the glibc heap walker and every command over a buffer
// target made from the input (see heap_input.h). Any crash, sanitizer report,
// leak, timeout or out-of-memory is a bug; user errors are fine.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "heap_input.h"
#include "heapscope/command.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/session.h"

using namespace heapscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto target = fuzz::decode_heap_input(data, size);
  if (!target) return -1;  // not a layout worth keeping in the corpus
  SessionOptions opt;
  opt.use_debuginfo = false;
  Session session(std::make_unique<BufferTarget>(std::move(*target)), opt);
  CancelToken cancel;
  std::vector<std::vector<std::string>> runs;
  for (const auto& spec : command_table()) {
    if (spec.group != "heap") continue;
    if (spec.min_positional == 0) {
      runs.push_back({spec.name});
      runs.push_back({spec.name, "--json"});
    }
  }
  // Commands that take an address: every chunk the walk found at the start
  // of the heap, and a few odd addresses.
  std::vector<uint64_t> addresses = {0, 1, UINT64_MAX, fuzz::kLibcText};
  try {
    const auto& h = session.glibc_heap();
    for (size_t i = 0; i < h.blocks.size() && i < 8; ++i) {
      addresses.push_back(h.blocks[i].address.value);
      addresses.push_back(h.blocks[i].address.value + 16);
    }
  } catch (const UserError&) {
    // No heap found: every command would search again and say so; one will do.
    CommandOutput out = run_command(session, "heap", {"check"}, cancel);
    if (out.status != 2) __builtin_trap();
    return 0;
  }
  for (const auto& spec : command_table())
    if (spec.group == "heap" && spec.min_positional == 1)
      for (uint64_t a : addresses) runs.push_back({spec.name, to_hex(a), "--json"});
  runs.push_back({"chunks", "--state", "unknown"});
  runs.push_back({"bins", "--limit", "3"});
  runs.push_back({"check", "--arena", "0"});
  for (const auto& argv : runs) {
    CommandOutput out = run_command(session, "heap", argv, cancel);
    if (out.status != 0 && out.status != 2) __builtin_trap();  // only errors are "user error"
  }
  return 0;
}
