// heapscope_fuzz_seeds: writes seed inputs for fuzz_heap.
//   heapscope_fuzz_seeds synthetic DIR      clean and corrupted synthetic heaps
//   heapscope_fuzz_seeds core CORE FILE     libc data, TLS and main heap of a real core
// Seeds are kept small: the heap is cut a page past the top chunk, whose size
// (and the arena's system_mem) are rewritten to match.
#include <cstdio>
#include <fstream>
#include <functional>

#include "heap_input.h"
#include "glibc/builder.h"
#include "heapscope/core_file.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/session.h"
#include "synthetic_heap.h"

using namespace heapscope;
using testing::SyntheticHeap;

namespace {

std::vector<std::byte> read_bytes(const Target& t, uint64_t at, uint64_t n) {
  std::vector<std::byte> v(n);
  t.read(Address(at), v);  // missing bytes stay zero
  return v;
}

void put(std::vector<std::byte>& v, uint64_t off, uint64_t value) {
  if (off + 8 <= v.size()) std::memcpy(v.data() + off, &value, 8);
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

std::string encode_synthetic(SyntheticHeap& s) {
  // finish() made the top run to kHeapSize; cut the heap a page past the top.
  uint64_t top = s.cursor, end = s.cursor + 0x1000;
  s.w(top + 8, (end - top) | 1);
  s.w(SyntheticHeap::kMainArena + s.l.ms_system_mem, end - SyntheticHeap::kHeap);
  s.w(SyntheticHeap::kMainArena + s.l.ms_max_system_mem, end - SyntheticHeap::kHeap);
  fuzz::HeapInputHeader h;
  h.libc_data = SyntheticHeap::kLibcData;
  h.heap = SyntheticHeap::kHeap;
  h.thread_pointer = SyntheticHeap::kThreadPointer;
  return fuzz::encode_heap_input(h, read_bytes(s.target, SyntheticHeap::kLibcData, 0x1100),
                                 read_bytes(s.target, SyntheticHeap::kThreadPointer - 0x100, 0x100),
                                 read_bytes(s.target, SyntheticHeap::kHeap, end - SyntheticHeap::kHeap));
}

int synthetic(const std::string& dir) {
  struct Case {
    const char* name;
    std::function<void(SyntheticHeap&)> corrupt;
  };
  const std::vector<Case> cases = {
      {"clean", [](SyntheticHeap&) {}},
      {"tcache-cycle", [](SyntheticHeap& s) { s.tcache_push(0, s.r(s.tcache + 128) - 16); }},
      {"tcache-poison", [](SyntheticHeap& s) { s.w(s.r(s.tcache + 128), 0x4141414141414141); }},
      {"bad-size", [](SyntheticHeap& s) { s.w(SyntheticHeap::kHeap + 0x290 + 0x38, 0x4141414141414141); }},
      {"bin-bk", [](SyntheticHeap& s) { s.w(s.r(SyntheticHeap::kMainArena + s.l.ms_bins) + 24, 0x1234560); }},
  };
  int written = 0;
  for (const auto& c : cases) {
    SyntheticHeap s;
    uint64_t t1 = s.chunk(0x20), t2 = s.chunk(0x20), f1 = s.chunk(0x30);
    s.chunk(0x40);
    uint64_t small = s.chunk(0x100);
    s.chunk(0x20);
    uint64_t unsorted = s.chunk(0x430);
    s.chunk(0x20);
    s.finish();
    s.tcache_push(0, t1);
    s.tcache_push(0, t2);
    s.fast_push(1, f1);
    s.bin_push(0x10, small);
    s.bin_push(1, unsorted);
    c.corrupt(s);
    if (write_file(dir + "/synthetic-" + c.name, encode_synthetic(s))) ++written;
  }
  // A large bin with three sizes, one of them twice (the nextsize ring), clean
  // and with the ring broken the largebin-attack way.
  const std::vector<Case> large_cases = {
      {"large-ring", [](SyntheticHeap&) {}},
      {"large-nextsize",
       [](SyntheticHeap& s) { s.w(SyntheticHeap::kHeap + 0x290 + 0x20 + 40, SyntheticHeap::kLibcData + 0x800); }},
  };
  for (const auto& c : large_cases) {
    SyntheticHeap s;
    s.chunk(0x20);
    uint64_t a = s.chunk(0x830);
    s.chunk(0x20);
    uint64_t b = s.chunk(0x820);
    s.chunk(0x20);
    uint64_t d = s.chunk(0x820);
    s.chunk(0x20);
    uint64_t e = s.chunk(0x800);
    s.chunk(0x20);
    s.finish();
    int bin = glibc::bin_index_for_size(0x800);
    for (uint64_t x : {e, b, a, d}) s.bin_push(bin, x);
    c.corrupt(s);
    if (write_file(dir + "/synthetic-" + c.name, encode_synthetic(s))) ++written;
  }
  std::printf("%d seeds in %s\n", written, dir.c_str());
  return written == static_cast<int>(cases.size() + large_cases.size()) ? 0 : 1;
}

int from_core(const std::string& core_path, const std::string& out) {
  auto core = open_core_file(core_path);
  if (!core) {
    std::fprintf(stderr, "%s\n", core.error().message.c_str());
    return 1;
  }
  Session session(std::move(*core));
  const Target& t = session.target();
  const auto& heap = session.glibc_heap();
  const auto& main = heap.arenas.at(0);
  const auto& l = *heap.layout;
  // libc's data: the page-aligned span holding main_arena and mp_.
  uint64_t lo = std::min(main.address.value, heap.mp.address.value) & ~uint64_t{0xfff};
  uint64_t hi = (std::max(main.address.value + l.ms_size, heap.mp.address.value + l.mp_size) + 0xfff) &
                ~uint64_t{0xfff};
  auto data = read_bytes(t, lo, hi - lo);
  // The main heap up to a page past the top; the top and system_mem cut to match.
  uint64_t heap_lo = main.heaps.at(0).range.begin.value;
  uint64_t heap_hi = main.top.value + 0x1000;
  auto heap_bytes = read_bytes(t, heap_lo, heap_hi - heap_lo);
  put(heap_bytes, main.top.value - heap_lo + 8, 0x1000 | 1);
  put(data, main.address.value - lo + l.ms_system_mem, heap_hi - heap_lo);
  uint64_t tp = t.threads().at(0).thread_pointer.value;
  fuzz::HeapInputHeader h;
  h.libc_data = lo;
  h.heap = heap_lo;
  h.thread_pointer = tp;
  auto tls = read_bytes(t, tp - 0x400, 0x400);
  if (!write_file(out, fuzz::encode_heap_input(h, data, tls, heap_bytes))) return 1;
  std::printf("%s: %zu + %zu + %zu bytes\n", out.c_str(), data.size(), tls.size(), heap_bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "synthetic") return synthetic(argv[2]);
    if (argc == 4 && std::string(argv[1]) == "core") return from_core(argv[2], argv[3]);
  } catch (const UserError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 1;
  }
  std::fprintf(stderr, "usage: %s synthetic DIR | core CORE OUTFILE\n", argv[0]);
  return 2;
}
