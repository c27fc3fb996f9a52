// CallbackTarget: a target whose bytes come from the front-end's debugger
// (gdb.Inferior.read_memory, SBProcess::ReadMemory), for targets the direct
// backends cannot reach (remote gdbserver, lldb-server). Every callback is a
// round trip, so reads go through a page cache: 4 KiB pages, fetched in runs
// of up to 64 KiB per callback and kept for the target's lifetime (create a
// new CallbackTarget when the process has run). Regions, threads and modules
// are whatever the front-end supplies.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "heapscope/target.h"

namespace heapscope {

class CallbackTarget : public Target {
 public:
  // Copies up to n bytes at addr into dst and returns how many it copied,
  // stopping at the first unreadable byte (0 when the read failed). Must not
  // throw.
  using ReadFn = std::function<size_t(uint64_t addr, void* dst, size_t n)>;

  static constexpr uint64_t kPageSize = 4096;
  static constexpr uint64_t kMaxRun = 64 * 1024;

  // With an empty region list every address may be asked for; otherwise only
  // addresses inside a region are read, and no run crosses a region's end.
  CallbackTarget(ReadFn read, std::vector<Region> regions, std::vector<Thread> threads = {},
                 std::vector<Module> modules = {}, std::string description = "debugger target");

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override;
  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  Arch arch() const override { return arch_; }
  std::optional<int> pid() const override { return pid_; }
  std::string description() const override { return description_; }
  std::optional<std::string> core_path() const override { return core_path_; }

  void set_arch(Arch a) { arch_ = a; }
  void set_pid(std::optional<int> pid) { pid_ = pid; }
  // When the debugger's target is a core file (symbol lookup uses it).
  void set_core_path(std::optional<std::string> p) { core_path_ = std::move(p); }

  // Figures: callbacks made and bytes they returned.
  uint64_t callback_count() const;
  uint64_t bytes_fetched() const;

 private:
  struct Page {
    const std::byte* data = nullptr;  // nullptr: the page could not be read
    uint64_t valid_end = 0;           // end address of the readable run holding this page
  };
  const Page& fetch(uint64_t page_addr) const;

  ReadFn read_;
  std::vector<Region> regions_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
  std::string description_;
  Arch arch_ = Arch::kX86_64;
  std::optional<int> pid_;
  std::optional<std::string> core_path_;

  mutable std::mutex mu_;
  mutable std::unordered_map<uint64_t, Page> pages_;  // by page address
  mutable std::vector<std::unique_ptr<std::byte[]>> runs_;
  mutable uint64_t last_page_ = UINT64_MAX;
  mutable Page last_;
  mutable uint64_t callbacks_ = 0;
  mutable uint64_t fetched_ = 0;
};

}  // namespace heapscope
