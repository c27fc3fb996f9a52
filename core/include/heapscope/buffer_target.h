// BufferTarget: a target whose memory is byte vectors placed at chosen
// addresses. Unit tests build synthetic heaps in it; fuzzers feed it bytes.
#pragma once

#include <map>
#include <memory>

#include "heapscope/concurrent_reads.h"
#include "heapscope/target.h"

namespace heapscope {

class BufferTarget : public Target, public ConcurrentReads {  // view() only reads the map
 public:
  // Adds (or replaces) a region with the given bytes at address `at`.
  void add_region(Address at, std::vector<std::byte> bytes, uint8_t perms = kPermRead | kPermWrite,
                  std::string path = {});
  void add_thread(Thread t) { threads_.push_back(std::move(t)); }
  void add_module(Module m) { modules_.push_back(std::move(m)); }

  // Writes into an existing region (test set-up only).
  bool write(Address at, const void* src, size_t n);
  template <typename T>
  bool write_value(Address at, const T& v) { return write(at, &v, sizeof(T)); }

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override;
  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  std::string description() const override { return "memory buffer"; }

 private:
  std::map<uint64_t, std::vector<std::byte>> blocks_;  // keyed by start address
  std::vector<Region> regions_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
};

}  // namespace heapscope
