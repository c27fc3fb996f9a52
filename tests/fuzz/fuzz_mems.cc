// libFuzzer target: the mems model (mems::SegmentHeap) and every `mems` command over
// a buffer target made from the input (see mems_input.h). Any crash,
// sanitizer report, leak, timeout or out-of-memory is a bug; user errors are
// fine, except an "internal error" (an exception that is not a UserError
// escaped an analysis), which is a bug too.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "heapscope/command.h"
#include "heapscope/mems/heap.h"
#include "heapscope/session.h"
#include "mems_input.h"
#include "mems_layout.h"

using namespace heapscope;

namespace {

void run(Session& session, const std::vector<std::string>& argv, const CancelToken& cancel) {
  CommandOutput out = run_command(session, "mems", argv, cancel);
  if (out.status != 0 && out.status != 2) __builtin_trap();  // only errors are "user error"
  if (out.status == 2 && out.error.rfind("internal error", 0) == 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto target = fuzz::decode_mems_input(data, size);
  if (!target) return -1;  // not a layout worth keeping in the corpus
  SessionOptions opt;
  opt.use_debuginfo = false;  // the root is found by its magic, as in a stripped program
  Session session(std::make_unique<BufferTarget>(std::move(*target)), opt);
  CancelToken cancel;
  // Commands that take a MeMS virtual address: where nodes and their first
  // segments start and end, and a few odd values.
  std::vector<uint64_t> addresses = {0, 1, MEMS_VIRT_BASE - 1, MEMS_VIRT_BASE, UINT64_MAX};
  try {
    const auto& h = session.mems_heap();
    addresses.push_back(h.root.virt_next);
    for (size_t i = 0; i < h.nodes.size() && i < 4; ++i) {
      const auto& node = h.nodes[i];
      addresses.push_back(node.vstart + node.length - 1);
      for (size_t j = 0; j < node.segments.size() && j < 6; ++j) {
        addresses.push_back(node.segments[j].vstart);
        addresses.push_back(node.segments[j].vend() - 1);
      }
    }
  } catch (const UserError&) {
    // No usable root: every command would search again and say so; one will do.
    CommandOutput out = run_command(session, "mems", {"check"}, cancel);
    if (out.status != 2) __builtin_trap();
    return 0;
  }
  for (const auto& spec : command_table()) {
    if (spec.group != "mems") continue;
    if (spec.min_positional == 0) {
      run(session, {spec.name}, cancel);
      run(session, {spec.name, "--json"}, cancel);
      for (const auto& o : spec.options) {
        if (o.value_name.empty()) {
          run(session, {spec.name, o.name}, cancel);
        } else {
          for (const char* v : {"0", "1", "0xffffffffffffffff"}) run(session, {spec.name, o.name, v, "--json"}, cancel);
        }
      }
    } else if (spec.min_positional == 1) {
      for (uint64_t a : addresses) {
        run(session, {spec.name, to_hex(a)}, cancel);
        run(session, {spec.name, to_hex(a), "--json"}, cancel);
      }
    }
  }
  return 0;
}
