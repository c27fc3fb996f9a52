// mimalloc_model_dump CORE | --pid PID: the mimalloc model of a target as one
// JSON object (nlohmann), for mimalloc_test.py: what `heap stats --json`
// does not carry (how the roots were found, the findings, each heap's live
// and cached blocks, the pages' list lengths).
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "heapscope/error.h"
#include "heapscope/mimalloc/heap.h"
#include "dump_target.h"

using namespace heapscope;

int main(int argc, char** argv) {
  auto target = open_dump_target(argc, argv);
  if (!target) return 2;
  auto symbols = make_elf_symbols(*target, {});
  CancelToken cancel;
  try {
    auto model = mimalloc::try_build(*target, *symbols, cancel);
    nlohmann::json out;
    if (!model) {
      out["allocator"] = nullptr;
      std::printf("%s\n", out.dump().c_str());
      return 0;
    }
    auto& heap = static_cast<mimalloc::Heap&>(*model);
    out["allocator"] = heap.allocator;
    out["version"] = heap.version;
    out["version_known"] = heap.version_known;
    out["by_structure"] = heap.found_by_structure;
    out["segments"] = heap.segments.size();
    out["findings"] = nlohmann::json::array();
    for (const auto& f : heap.findings)
      out["findings"].push_back(fmt::format("{} {} {}", f.kind, to_hex(f.address), f.detail));
    std::map<std::string, std::pair<int, int>> tally;  // label: live blocks, cached blocks
    for (const auto& o : heap.owners) tally[o.label];
    for (const auto& b : heap.blocks) {
      if (b.owner == kNoOwner) continue;
      auto& t = tally[heap.owners[b.owner].label];
      t.first += heap.state(b) == BlockState::kInUse;
      t.second += heap.state(b) == BlockState::kCached;
    }
    nlohmann::json owners = nlohmann::json::object();
    for (const auto& [label, t] : tally) owners[label] = {{"in_use", t.first}, {"cached", t.second}};
    out["owners"] = owners;
    uint64_t thread_free = 0, delayed = 0, free_list = 0;
    for (const auto& p : heap.pages) thread_free += p.thread_free, delayed += p.delayed_free, free_list += p.free;
    out["pages"] = {{"count", heap.pages.size()}, {"free", free_list}, {"thread_free", thread_free}, {"delayed_free", delayed}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const UserError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 2;
  }
  return 0;
}
