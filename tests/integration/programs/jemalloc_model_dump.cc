// jemalloc_model_dump CORE | --pid PID: builds the jemalloc model of a core file and
// prints its figures as one JSON object, for jemalloc_test.py until the
// session's `heap stats` runs every allocator model (then the CLI replaces it).
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <fmt/format.h>
#include <map>
#include <vector>

#include "heapscope/error.h"
#include "heapscope/jemalloc/heap.h"
#include "dump_target.h"

using namespace heapscope;

int main(int argc, char** argv) {
  auto target = open_dump_target(argc, argv);
  if (!target) return 2;
  auto symbols = make_elf_symbols(*target, {});
  CancelToken cancel;
  try {
    auto model = jemalloc::try_build(*target, *symbols, cancel);
    if (!model) {
      std::printf("{\"allocator\": null}\n");
      return 0;
    }
    auto& heap = static_cast<jemalloc::Heap&>(*model);
    constexpr uint64_t kSmallMaxClass = 14336;
    uint64_t in_use_bytes = 0, in_use_blocks = 0, covered = 0;
    std::vector<std::pair<uint64_t, uint64_t>> kind_tally(heap.kinds.size());
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_kind;
    std::map<int, uint64_t> small_by_owner, large_by_owner;
    for (const auto& b : heap.blocks) {
      ++kind_tally[b.kind].first;
      kind_tally[b.kind].second += b.size;
      if (heap.state(b) == BlockState::kInUse) {
        ++in_use_blocks;
        in_use_bytes += b.size;
        // jemalloc's small classes end at 14 KiB (4 KiB pages); its own
        // tcache stacks are either.
        (b.size > kSmallMaxClass ? large_by_owner : small_by_owner)[b.owner] += b.size;
      }
    }
    for (size_t k = 0; k < kind_tally.size(); ++k)
      if (kind_tally[k].first) by_kind[std::string(heap.kinds[k].name)] = kind_tally[k];
    for (const auto& r : heap.system) covered += r.size();
    std::string kinds, owners, findings;
    for (const auto& [name, v] : by_kind)
      kinds += fmt::format("{}\"{}\": {{\"blocks\": {}, \"bytes\": {}}}", kinds.empty() ? "" : ", ", name,
                           v.first, v.second);
    for (size_t i = 0; i < heap.owners.size(); ++i)
      owners += fmt::format("{}\"{}\": {{\"small\": {}, \"large\": {}}}", owners.empty() ? "" : ", ",
                            heap.owners[i].label, small_by_owner[int(i)], large_by_owner[int(i)]);
    for (const auto& f : heap.findings)
      findings += fmt::format("{}\"{} {} {}\"", findings.empty() ? "" : ", ", f.kind, to_hex(f.address), f.detail);
    std::printf(
        "{\"allocator\": \"%s\", \"version\": \"%s\", \"version_known\": %s, \"by_structure\": %s, "
        "\"in_use\": {\"chunks\": %llu, \"bytes\": %llu}, \"system_bytes\": %llu, \"kinds\": {%s}, "
        "\"arenas\": {%s}, \"findings\": [%s]}\n",
        heap.allocator.c_str(), heap.version.c_str(), heap.version_known ? "true" : "false",
        heap.found_by_structure ? "true" : "false", (unsigned long long)in_use_blocks,
        (unsigned long long)in_use_bytes, (unsigned long long)covered, kinds.c_str(), owners.c_str(),
        findings.c_str());
  } catch (const UserError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 2;
  }
  return 0;
}
