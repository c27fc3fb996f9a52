// heapscope_fuzz_musl_seeds DIR: writes seed inputs for fuzz_musl, the
// synthetic mallocng heap of tests/unit/musl_synthetic.h clean and damaged.
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "musl_synthetic.h"

using namespace heapscope;
using testing::MuslSynthetic;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: heapscope_fuzz_musl_seeds DIR\n");
    return 2;
  }
  struct Case {
    const char* name;
    std::function<void(MuslSynthetic&)> damage;
  };
  const Case cases[] = {
      {"clean", [](MuslSynthetic&) {}},
      {"overflow", [](MuslSynthetic& s) { s.t.write_value(Address(testing::kSlotA + 40), uint8_t(0x41)); }},
      {"area-cycle", [](MuslSynthetic& s) { s.put(testing::kArea + musl::meta_area::kNext, testing::kArea); }},
      {"orphan", [](MuslSynthetic& s) { s.put32(testing::kMeta0 + musl::meta::kFreedMask, 0xc); }},
  };
  for (const auto& c : cases) {
    MuslSynthetic s;
    c.damage(s);
    std::string bytes;
    for (const auto& [at, len] : testing::kMuslRegions) {
      std::string region(len, '\0');
      s.t.read(Address(at), std::as_writable_bytes(std::span(region.data(), region.size())));
      bytes += region;
    }
    std::ofstream f(std::string(argv[1]) + "/synthetic-" + c.name, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    if (!f) return 1;
  }
  return 0;
}
