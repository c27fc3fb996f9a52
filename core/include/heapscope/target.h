// Target: the memory, regions, threads and modules of one stopped process or
// core dump. Every backend (core file, live process, debugger callbacks,
// in-memory buffer) implements the few virtuals below; everything else in the
// core reads the target only through this interface and the helpers at the
// end of this file. Reads are bounds-checked: a read of unmapped or missing
// memory returns fewer bytes, never crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "heapscope/address.h"

namespace heapscope {

enum class Arch { kX86_64, kAArch64 };

enum Permission : uint8_t { kPermRead = 1, kPermWrite = 2, kPermExec = 4 };

struct Region {
  AddressRange range;
  uint8_t perms = 0;        // Permission bits
  std::string path;         // backing file, "[heap]", "[stack]", or empty
  uint64_t file_offset = 0;
  // False when the target cannot supply this region's bytes at all (a core
  // that left it out and whose backing file is missing).
  bool readable = true;

  bool writable() const { return perms & kPermWrite; }
  bool executable() const { return perms & kPermExec; }
};

struct Register {
  std::string name;  // "rip", "rsp", "fs_base", ... (the kernel's names)
  uint64_t value = 0;
};

struct Thread {
  int tid = 0;
  std::vector<Register> registers;
  Address pc;
  Address sp;
  Address thread_pointer;  // fs_base on x86-64, tpidr_el0 on aarch64
  AddressRange stack;      // the mapping that holds sp, if known

  std::optional<uint64_t> reg(std::string_view name) const {
    for (const auto& r : registers)
      if (r.name == name) return r.value;
    return std::nullopt;
  }
};

struct Module {
  std::string path;                  // as the target names it
  Address base;                      // lowest mapped address
  std::vector<AddressRange> ranges;  // every mapping of this file
  std::string build_id;              // lower-case hex, empty if unknown
};

class Target {
 public:
  virtual ~Target() = default;

  // The longest run of bytes available at [addr, addr + max_size) without a
  // copy, possibly shorter than asked (a backing block ends) or empty
  // (nothing there). Pointers stay valid for the target's lifetime.
  virtual std::span<const std::byte> view(Address addr, uint64_t max_size) const = 0;

  // A hint that [range] is about to be read from start to end: a backend may
  // map or fetch it ahead. Only speed depends on it.
  virtual void will_read(AddressRange /*range*/) const {}
  // A hint that [range] was only skimmed and will not be read again soon: a
  // backend may drop what it mapped or cached for it, so that memory follows
  // what is kept (the heap), not what was looked at (the whole core). Views
  // of it stay valid. Only memory use depends on it.
  virtual void done_reading(AddressRange /*range*/) const {}

  // The first stretch of `range` that may hold a byte other than zero, or an
  // empty range when none does. The rest reads as zeros (pages a live
  // process never touched), so a scan for pointers skips it: what a scan
  // costs then follows the memory in use, not the mappings' sizes. A backend
  // that cannot tell returns `range` itself.
  virtual AddressRange next_populated(AddressRange range) const { return range; }

  virtual const std::vector<Region>& regions() const = 0;
  virtual const std::vector<Thread>& threads() const = 0;
  virtual const std::vector<Module>& modules() const = 0;
  virtual Arch arch() const { return Arch::kX86_64; }
  virtual std::optional<int> pid() const { return std::nullopt; }

  // One line naming the target, e.g. "core file core.1234 (pid 1234)".
  virtual std::string description() const = 0;
  // Caveats the user should see once (e.g. a mapped file missing on disk).
  virtual std::vector<std::string> notes() const { return {}; }
  // Path of the core file when the target is one (symbol lookup uses it).
  virtual std::optional<std::string> core_path() const { return std::nullopt; }

  // Copies up to out.size() bytes from addr; returns how many were copied,
  // stopping at the first byte that is not available.
  size_t read(Address addr, std::span<std::byte> out) const;
  bool read_exact(Address addr, void* dst, size_t n) const;

  template <typename T>
  std::optional<T> read_value(Address addr) const {
    T v;
    auto s = view(addr, sizeof(T));
    if (s.size() == sizeof(T)) {
      std::memcpy(&v, s.data(), sizeof(T));
      return v;
    }
    if (read_exact(addr, &v, sizeof(T))) return v;
    return std::nullopt;
  }
  std::optional<uint64_t> read_u64(Address a) const { return read_value<uint64_t>(a); }
  std::optional<Address> read_pointer(Address a) const {
    auto v = read_u64(a);
    if (!v) return std::nullopt;
    return Address(*v);
  }

  // The region containing addr, or nullptr. Regions are sorted by address.
  const Region* find_region(Address addr) const;
  bool is_mapped(Address addr) const { return find_region(addr) != nullptr; }
  const Module* find_module(std::string_view name_part) const;
};

// Reads 8-byte words through the last run of bytes the target showed (views
// stay valid for the target's lifetime): a pass that goes up through memory
// a chunk at a time pays one view() per run, not a virtual call and a
// lookup per word. Answers exactly as Target::read_u64.
class WordReader {
 public:
  explicit WordReader(const Target& t) : t_(t) {}

  std::optional<uint64_t> u64(Address a) {
    if (!covers(a)) {
      // From a little below a when the target has it: the pass also reads
      // a chunk's prev_size just behind the last word it read.
      bytes_ = t_.view(Address(a.value & ~kBack), kRun);
      begin_ = a.value & ~kBack;
      if (!covers(a)) bytes_ = t_.view(a, kRun), begin_ = a.value;
      if (!covers(a)) return t_.read_u64(a);  // across two backing blocks, or nothing
    }
    uint64_t v;
    std::memcpy(&v, bytes_.data() + (a.value - begin_), 8);
    return v;
  }
  // Starts loading the word at a when the current run holds it (a pass a
  // few chunks ahead of its reads: a miss per chunk otherwise).
  void prefetch(Address a) const {
    if (covers(a)) __builtin_prefetch(bytes_.data() + (a.value - begin_));
  }

 private:
  static constexpr uint64_t kBack = 0xfff, kRun = uint64_t{1} << 40;
  bool covers(Address a) const {
    const uint64_t off = a.value - begin_;
    return a.value >= begin_ && off < bytes_.size() && bytes_.size() - off >= 8;
  }
  const Target& t_;
  uint64_t begin_ = 0;
  std::span<const std::byte> bytes_;
};

}  // namespace heapscope
