// The target a *_model_dump test program reads: `PROGRAM CORE` or
// `PROGRAM --pid PID`. Prints the usage or the error and returns nullptr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "heapscope/core_file.h"
#include "heapscope/live_process.h"

inline std::unique_ptr<heapscope::Target> open_dump_target(int argc, char** argv) {
  using namespace heapscope;
  bool live = argc == 3 && std::string_view(argv[1]) == "--pid";
  if (argc != 2 && !live) {
    std::fprintf(stderr, "usage: %s CORE | --pid PID\n", argv[0]);
    return nullptr;
  }
  auto target = live ? open_live_process(std::atoi(argv[2]), StopMode::kStopAndDetach) : open_core_file(argv[1]);
  if (!target) {
    std::fprintf(stderr, "%s\n", target.error().message.c_str());
    return nullptr;
  }
  return std::move(*target);
}
