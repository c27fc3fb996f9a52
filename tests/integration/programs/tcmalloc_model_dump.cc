// tcmalloc_model_dump CORE | --pid PID: builds the tcmalloc model of a target and
// prints what `heap stats` does not say as one JSON object (how the roots
// were found, the findings in full), or the one-line error, for tcmalloc_test.py.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "heapscope/core_file.h"
#include "heapscope/error.h"
#include "heapscope/live_process.h"
#include "heapscope/tcmalloc/heap.h"

using namespace heapscope;

int main(int argc, char** argv) {
  bool live = argc == 3 && std::string_view(argv[1]) == "--pid";
  if (argc != 2 && !live) {
    std::fprintf(stderr, "usage: tcmalloc_model_dump CORE | --pid PID\n");
    return 2;
  }
  auto target = live ? open_live_process(std::atoi(argv[2]), StopMode::kStopAndDetach) : open_core_file(argv[1]);
  if (!target) {
    std::fprintf(stderr, "%s\n", target.error().message.c_str());
    return 2;
  }
  auto symbols = make_elf_symbols(**target, {});
  CancelToken cancel;
  try {
    auto model = tcmalloc::try_build(**target, *symbols, cancel);
    nlohmann::json j;
    if (!model) {
      std::printf("{\"allocator\": null}\n");
      return 0;
    }
    const auto& h = static_cast<const tcmalloc::Heap&>(*model);
    j["allocator"] = h.allocator;
    j["version"] = h.version;
    j["version_known"] = h.version_known;
    j["by_structure"] = h.found_by_structure;
    j["thread_caches"] = h.thread_caches.size();
    j["pageheap"] = to_hex(h.pageheap);
    j["findings"] = nlohmann::json::array();
    for (const auto& f : h.findings) j["findings"].push_back(f.kind + " " + to_hex(f.address) + " " + f.detail);
    std::printf("%s\n", j.dump().c_str());
  } catch (const UserError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 2;
  }
  return 0;
}
