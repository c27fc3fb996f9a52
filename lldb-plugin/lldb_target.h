// Targets built from what LLDB knows about a process:
//  - threads_from_lldb(): every thread's general purpose registers (fs_base
//    included), pc and sp, read through SBThread/SBFrame;
//  - ThreadOverlayTarget: a fast backend (the live /proc/PID/mem target)
//    whose threads come from LLDB, because lldb-server, not the target
//    backend, is the process's tracer;
//  - SbProcessTarget: memory through SBProcess::ReadMemory with a page cache,
//    regions and modules from the SB API. The slow path for everything the
//    direct backends cannot open (remote targets, odd process plugins).
#pragma once

#include <lldb/API/SBProcess.h>
#include <lldb/API/SBTarget.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "heapscope/target.h"

namespace heapscope::lldb_plugin {

std::vector<Thread> threads_from_lldb(lldb::SBProcess process, const std::vector<Region>& regions);

class ThreadOverlayTarget : public Target {
 public:
  ThreadOverlayTarget(std::unique_ptr<Target> inner, std::vector<Thread> threads)
      : inner_(std::move(inner)), threads_(std::move(threads)) {}

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

class SbProcessTarget : public Target {
 public:
  SbProcessTarget(lldb::SBTarget target, lldb::SBProcess process);

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override;
  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  Arch arch() const override { return arch_; }
  std::optional<int> pid() const override { return pid_; }
  std::string description() const override { return description_; }

 private:
  // One successful ReadMemory: bytes [start, start + bytes.size()).
  struct Block {
    uint64_t start = 0;
    std::vector<std::byte> bytes;
  };
  const Block* fetch(uint64_t addr) const;

  mutable lldb::SBProcess process_;
  std::vector<Region> regions_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
  Arch arch_ = Arch::kX86_64;
  std::optional<int> pid_;
  std::string description_;

  mutable std::mutex mu_;
  mutable std::map<uint64_t, Block> blocks_;   // keyed by start address
  mutable std::set<uint64_t> missing_pages_;   // pages ReadMemory could not supply
};

}  // namespace heapscope::lldb_plugin
