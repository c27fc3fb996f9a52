// Targets that only the GDB front-end needs: a target whose threads come from
// gdb (a live process gdb has stopped: gdb, as the tracer, knows every
// thread's registers), and a target read through gdb's own memory reads (a
// remote process under gdbserver), with a block cache so the walk pays one
// gdb call per block, not per read.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::gdbfe {

// Forwards everything to `inner` except threads(), which gdb supplies.
class ThreadsFromDebugger : public Target {
 public:
  ThreadsFromDebugger(std::unique_ptr<Target> inner, std::vector<Thread> threads);

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override {
    return inner_->view(addr, max_size);
  }
  const std::vector<Region>& regions() const override { return inner_->regions(); }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return inner_->modules(); }
  Arch arch() const override { return inner_->arch(); }
  std::optional<int> pid() const override { return inner_->pid(); }
  std::string description() const override { return inner_->description(); }
  std::vector<std::string> notes() const override { return inner_->notes(); }
  std::optional<std::string> core_path() const override { return inner_->core_path(); }

 private:
  std::unique_ptr<Target> inner_;
  std::vector<Thread> threads_;
};

// Reads `len` bytes at `addr`; nullopt when the debugger cannot read them.
using ReadFn = std::function<std::optional<std::string>(uint64_t addr, uint64_t len)>;

// Memory through a read callback, cached in aligned blocks that live as long
// as the target (view() hands out pointers into them). When `regions` is
// non-empty and `regions_complete` is true, reads outside them return nothing
// without asking the debugger.
class DebuggerReadTarget : public Target {
 public:
  DebuggerReadTarget(ReadFn read, std::vector<Region> regions, bool regions_complete,
                     std::vector<Thread> threads, std::vector<Module> modules,
                     std::optional<int> pid, std::string description);

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override;
  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  std::optional<int> pid() const override { return pid_; }
  std::string description() const override { return description_; }

  uint64_t debugger_reads() const { return reads_; }

 private:
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kBlock = 64 * 1024;
  const std::string& load_page(uint64_t page) const;

  ReadFn read_;
  std::vector<Region> regions_;
  bool regions_complete_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
  std::optional<int> pid_;
  std::string description_;
  // page address -> its kPage bytes, or empty when unreadable. A miss reads
  // up to kBlock bytes at once and splits them into pages. Nodes of an
  // unordered_map never move, so view() may point into them.
  mutable std::unordered_map<uint64_t, std::string> pages_;
  mutable uint64_t reads_ = 0;
};

// Fills each thread's stack range from the region holding its sp.
void fill_stacks(const std::vector<Region>& regions, std::vector<Thread>& threads);

}  // namespace heapscope::gdbfe
