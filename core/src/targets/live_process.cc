// LiveProcess: a running process as a Target. Regions come from
// /proc/PID/maps, threads from /proc/PID/task (registers by ptrace when we
// stop it ourselves), memory from /proc/PID/mem. Each region is read once,
// whole, on first access and served from that copy; unreadable pages are
// holes. Pages of private anonymous mappings that the pagemap shows neither
// present nor swapped read as zeros without touching them: some kernels
// back a remote read of such a page with a fresh page, which would make the
// process's own heap pages resident behind its back (and `heap pages` count
// them). It never writes the target, and detaching leaves it running as
// before (a signal we intercepted while attaching is delivered again).
#include "heapscope/live_process.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "heapscope/concurrent_reads.h"
#include "targets/arch_regs.h"
#include "targets/auxv.h"
#include "targets/checked.h"
#include "targets/modules.h"

namespace heapscope {

namespace {

using namespace targets;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kWholeRegionCap = uint64_t{1} << 30;  // larger regions are read in blocks
constexpr uint64_t kReadChunk = uint64_t{1} << 20;
constexpr uint64_t kBlock = 64 * 1024;  // 16 pages: one uint16_t validity mask
constexpr uint64_t kPagemapBatch = 4096;  // entries per pagemap read: 16 MiB of address space

// What a block with no held page shows: never written, so all of it is the
// kernel's zero page.
std::byte g_zero_block[kBlock];

// A pagemap entry of a page that holds data: present, or swapped out.
bool held(uint64_t pagemap_entry) { return pagemap_entry & (uint64_t{3} << 62); }

// Private anonymous memory of ours that costs nothing until written: a
// region's copy, of which only the process's held pages are filled.
class UntouchedMemory {
 public:
  explicit UntouchedMemory(size_t size) : size_(size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<std::byte*>(p);
  }
  ~UntouchedMemory() { munmap(data_, size_); }
  UntouchedMemory(const UntouchedMemory&) = delete;
  UntouchedMemory& operator=(const UntouchedMemory&) = delete;
  std::byte* data() const { return data_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int> list_tasks(int pid) {
  std::vector<int> tids;
  if (DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str())) {
    while (dirent* e = readdir(d)) {
      int tid = std::atoi(e->d_name);
      if (tid > 0) tids.push_back(tid);
    }
    closedir(d);
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

// "State:\tZ (zombie)" → 'Z'; "TracerPid:\t123" → 123.
std::string status_field(const std::string& status, const std::string& key) {
  size_t at = status.starts_with(key + ":") ? 0 : status.find("\n" + key + ":");
  if (at == std::string::npos) return {};
  at += key.size() + (at == 0 && status[0] != '\n' ? 1 : 2);
  while (at < status.size() && (status[at] == ' ' || status[at] == '\t')) ++at;
  auto end = status.find('\n', at);
  return status.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

struct Mapping {
  Region region;
  bool anonymous_private = false;  // untouched pages read as zeros
};

std::vector<Mapping> parse_maps(const std::string& text) {
  std::vector<Mapping> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long b = 0, e = 0, off = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &b, &e, perms, &off, &path_at) < 4)
      continue;
    if (e <= b) continue;
    Region r;
    r.range = {Address(b), Address(e)};
    r.perms = static_cast<uint8_t>((perms[0] == 'r' ? kPermRead : 0) | (perms[1] == 'w' ? kPermWrite : 0) |
                                   (perms[2] == 'x' ? kPermExec : 0));
    r.file_offset = off;
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) r.path = line.substr(path_at);
    // Pages without read permission are not memory the program can see.
    r.readable = r.perms & kPermRead;
    bool anonymous = r.path.empty() || r.path == "[heap]" || r.path == "[stack]" || r.path.starts_with("[anon:");
    out.push_back({std::move(r), perms[3] == 'p' && anonymous});
  }
  std::sort(out.begin(), out.end(),
            [](const Mapping& a, const Mapping& b) { return a.region.range.begin < b.region.range.begin; });
  return out;
}

// ConcurrentReads: caches are filled under mu_ (published by Cache::loaded),
// last_ is atomic.
class LiveProcess final : public Target, public HasAuxv, public ConcurrentReads {
 public:
  LiveProcess(int pid, StopMode mode) : pid_(pid), mode_(mode) {}
  ~LiveProcess() override {
    detach();
    if (mem_fd_ >= 0) close(mem_fd_);
    if (pagemap_fd_ >= 0) close(pagemap_fd_);
  }

  std::optional<Error> open(std::vector<Thread> supplied);

  std::span<const std::byte> view(Address addr, uint64_t max_size) const override;
  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  std::optional<int> pid() const override { return pid_; }
  std::string description() const override {
    return fmt::format("process {} ({}, {} thread{})", pid_, comm_, threads_.size(),
                       threads_.size() == 1 ? "" : "s");
  }
  std::vector<std::string> notes() const override { return notes_; }
  const std::vector<AuxvEntry>& auxv() const override { return auxv_; }
  AddressRange next_populated(AddressRange range) const override;

 private:
  // A region's bytes once read: whole (valid runs of offsets) or, for huge
  // regions, 64 KiB blocks with a page validity mask (no data: all zeros).
  struct Block {
    std::unique_ptr<std::byte[]> data;
    uint16_t valid = 0;
  };
  struct Cache {
    std::atomic<bool> loaded{false};
    std::unique_ptr<UntouchedMemory> data;
    std::vector<std::pair<uint64_t, uint64_t>> valid;  // sorted [begin, end) offsets
    std::unordered_map<uint64_t, Block> blocks;        // huge regions, by block index
  };

  Error fail(const std::string& what) const { return Error{fmt::format("pid {}: {}", pid_, what)}; }
  Error permission_error(const std::string& what) const;
  std::optional<Error> attach();
  void detach();
  size_t pread_some(uint64_t addr, std::byte* dst, size_t n) const;
  size_t read_region(size_t region, uint64_t addr, std::byte* dst, size_t n) const;
  bool sparse(size_t region) const { return pagemap_fd_ >= 0 && zero_untouched_[region]; }
  // The pagemap entry of page `page`; nullopt when the pagemap cannot say.
  // Entries are read in batches and the last batch is kept (callers hold mu_).
  std::optional<uint64_t> pagemap_entry(uint64_t page) const;
  // The first run of held pages in [lo, hi) of a sparse region, clipped to
  // it; all of it when the pagemap cannot say; empty when none (mu_ held).
  AddressRange held_run(uint64_t lo, uint64_t hi) const;
  void load_whole(const Region& r, Cache& c) const;
  std::span<const std::byte> view_block(const Region& r, Cache& c, uint64_t off, uint64_t max) const;

  int pid_;
  StopMode mode_;
  int mem_fd_ = -1;
  int pagemap_fd_ = -1;              // -1: read every page
  std::vector<bool> zero_untouched_;  // per region: private anonymous
  mutable bool use_vm_readv_ = true;
  std::string comm_;
  std::vector<Region> regions_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
  std::vector<AuxvEntry> auxv_;
  std::vector<std::string> notes_;
  std::map<int, int> attached_;  // tid → signal to deliver again at detach
  std::unique_ptr<Cache[]> caches_;
  mutable std::atomic<size_t> last_{0};
  mutable std::mutex mu_;
  mutable std::vector<uint64_t> pagemap_batch_;  // entries from page pagemap_first_
  mutable uint64_t pagemap_first_ = 0;
};

Error LiveProcess::permission_error(const std::string& what) const {
  std::string tracer = status_field(read_text_file(fmt::format("/proc/{}/status", pid_)), "TracerPid");
  if (!tracer.empty() && tracer != "0")
    return fail(fmt::format("already traced by pid {} (a debugger?); detach it, or use heapscope from "
                            "inside that debugger",
                            tracer));
  std::string scope = read_text_file("/proc/sys/kernel/yama/ptrace_scope");
  if (!scope.empty() && scope[0] != '0')
    return fail(fmt::format("permission denied ({}; kernel.yama.ptrace_scope is {}: run as root, or "
                            "set /proc/sys/kernel/yama/ptrace_scope to 0)",
                            what, scope.substr(0, 1)));
  return fail(fmt::format("permission denied ({}; the process belongs to another user or is not "
                          "dumpable: run as that user or as root)",
                          what));
}

std::optional<Error> LiveProcess::attach() {
  // Threads may start while we attach: scan task/ until a pass finds none new.
  for (int pass = 0; pass < 1000; ++pass) {
    bool found_new = false;
    for (int tid : list_tasks(pid_)) {
      if (attached_.count(tid)) continue;
      if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
        if (errno == ESRCH) continue;  // exited meanwhile
        if (errno == EPERM || errno == EACCES) return permission_error("ptrace attach");
        return fail(fmt::format("cannot attach thread {}: {}", tid, std::strerror(errno)));
      }
      attached_[tid] = 0;
      found_new = true;
      if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) continue;
      int status = 0;
      if (waitpid(tid, &status, __WALL) != tid || WIFEXITED(status) || WIFSIGNALED(status)) {
        attached_.erase(tid);
        continue;
      }
      // A signal-delivery stop means we intercepted a signal: deliver it at detach.
      if (WIFSTOPPED(status) && (status >> 16) == 0) attached_[tid] = WSTOPSIG(status);
    }
    if (!found_new) return std::nullopt;
  }
  return fail("threads keep appearing; cannot stop the process");
}

void LiveProcess::detach() {
  for (auto [tid, sig] : attached_)
    ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
  attached_.clear();
}

}  // namespace

bool is_zombie_process(int pid) {
  std::string state = status_field(read_text_file(fmt::format("/proc/{}/status", pid)), "State");
  return state.starts_with("Z") || state.starts_with("X");
}

bool process_has_exited(int pid) {
  struct stat st;
  return stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0 || is_zombie_process(pid);
}

namespace {

std::optional<Error> LiveProcess::open(std::vector<Thread> supplied) {
  if (pid_ <= 0) return fail("no such process");
  if (pid_ == getpid()) return fail("cannot inspect heapscope's own process");
  struct stat st;
  if (stat(fmt::format("/proc/{}", pid_).c_str(), &st) != 0) return fail("no such process");
  if (is_zombie_process(pid_)) return fail(fmt::format("is a zombie (it has exited; its memory is gone)"));
  comm_ = status_field(read_text_file(fmt::format("/proc/{}/status", pid_)), "Name");

  if (mode_ == StopMode::kStopAndDetach && supplied.empty())
    if (auto err = attach()) return err;

  mem_fd_ = ::open(fmt::format("/proc/{}/mem", pid_).c_str(), O_RDONLY | O_CLOEXEC);
  if (mem_fd_ < 0) {
    if (errno == EACCES || errno == EPERM) return permission_error("cannot open /proc/PID/mem");
    if (errno == ENOENT || errno == ESRCH) return fail("no such process");
    return fail(fmt::format("cannot open /proc/{}/mem: {}", pid_, std::strerror(errno)));
  }
  std::string maps = read_text_file(fmt::format("/proc/{}/maps", pid_));
  for (auto& m : parse_maps(maps)) {
    regions_.push_back(std::move(m.region));
    zero_untouched_.push_back(m.anonymous_private);
  }
  pagemap_fd_ = ::open(fmt::format("/proc/{}/pagemap", pid_).c_str(), O_RDONLY | O_CLOEXEC);
  if (regions_.empty()) return fail("has no memory mappings (a kernel thread, or it has exited)");
  caches_ = std::make_unique<Cache[]>(regions_.size());
  std::string auxv = read_text_file(fmt::format("/proc/{}/auxv", pid_));
  auxv_ = parse_auxv(auxv.data(), auxv.size());

  const ArchRegs& arch = arch_regs(Arch::kX86_64);
  if (!supplied.empty()) {
    threads_ = std::move(supplied);
  } else if (!attached_.empty()) {
    for (auto [tid, sig] : attached_) {
      struct user_regs_struct regs;
      static_assert(sizeof regs == 27 * 8);
      if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) continue;
      uint64_t vals[27];
      std::memcpy(vals, &regs, sizeof vals);
      threads_.push_back(make_thread(tid, arch, vals, 27));
    }
  } else {
    for (int tid : list_tasks(pid_)) {
      Thread t;
      t.tid = tid;
      threads_.push_back(std::move(t));
    }
    notes_.push_back("note: thread registers are not available (the process is traced by a debugger)");
  }
  for (auto& t : threads_)
    if (t.stack.empty() && !t.sp.is_null()) t.stack = stack_range_for(*this, t.sp);
  modules_ = build_modules(*this, regions_, "", auxv_value(*this, AT_ENTRY));
  return std::nullopt;
}

size_t LiveProcess::pread_some(uint64_t addr, std::byte* dst, size_t n) const {
  // process_vm_readv copies straight between the address spaces, several
  // times faster than /proc/PID/mem's page-sized bounce buffer; it stops at
  // the first page it cannot read, where pread takes over (and reports the
  // same failure, or reads what process_vm_readv may not, e.g. PROT_NONE).
  size_t done = 0;
  if (use_vm_readv_) {
    while (done < n) {
      struct iovec local = {dst + done, n - done};
      struct iovec remote = {reinterpret_cast<void*>(addr + done), n - done};
      ssize_t r = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
      if (r <= 0) {
        if (r < 0 && (errno == ENOSYS || errno == EPERM)) use_vm_readv_ = false;
        break;
      }
      done += static_cast<size_t>(r);
    }
  }
  while (done < n) {
    ssize_t r = pread(mem_fd_, dst + done, n - done, static_cast<off_t>(addr + done));
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

// pread_some for a page-aligned range of region `region` into dst, which
// holds zeros: the pages of a private anonymous mapping that were never
// touched (or were released, e.g. by malloc_trim's madvise) are left as
// they are instead of read, so they stay unmaterialised in dst too.
size_t LiveProcess::read_region(size_t region, uint64_t addr, std::byte* dst, size_t n) const {
  if (!sparse(region)) return pread_some(addr, dst, n);
  const uint64_t first = addr / kPage, pages = (n + kPage - 1) / kPage;
  std::vector<uint64_t> entries(pages);
  const size_t want = pages * sizeof(uint64_t);
  if (pread(pagemap_fd_, entries.data(), want, static_cast<off_t>(first * sizeof(uint64_t))) !=
      static_cast<ssize_t>(want))
    return pread_some(addr, dst, n);
  size_t done = 0;
  for (uint64_t i = 0; i < pages;) {
    const bool h = held(entries[i]);
    uint64_t j = i + 1;
    while (j < pages && held(entries[j]) == h) ++j;
    const size_t len = std::min<uint64_t>(n, j * kPage) - done;
    if (h) {
      size_t got = pread_some(addr + done, dst + done, len);
      if (got < len) return done + got;
    }
    done += len;
    i = j;
  }
  return done;
}

std::optional<uint64_t> LiveProcess::pagemap_entry(uint64_t page) const {
  if (page < pagemap_first_ || page - pagemap_first_ >= pagemap_batch_.size()) {
    pagemap_batch_.resize(kPagemapBatch);
    ssize_t got = pread(pagemap_fd_, pagemap_batch_.data(), kPagemapBatch * sizeof(uint64_t),
                        static_cast<off_t>(page * sizeof(uint64_t)));
    pagemap_batch_.resize(got > 0 ? static_cast<size_t>(got) / sizeof(uint64_t) : 0);
    pagemap_first_ = page;
    if (pagemap_batch_.empty()) return std::nullopt;
  }
  return pagemap_batch_[page - pagemap_first_];
}

AddressRange LiveProcess::held_run(uint64_t lo, uint64_t hi) const {
  uint64_t page = lo / kPage;
  const uint64_t last = (hi - 1) / kPage;
  for (; page <= last; ++page) {
    auto e = pagemap_entry(page);
    if (!e) return {Address(lo), Address(hi)};  // cannot tell: all of it may hold data
    if (held(*e)) break;
  }
  if (page > last) return {};
  uint64_t stop = page + 1;
  for (; stop <= last; ++stop) {
    auto e = pagemap_entry(stop);
    if (!e || !held(*e)) break;
  }
  return {Address(std::max(lo, page * kPage)), Address(std::min(hi, stop * kPage))};
}

AddressRange LiveProcess::next_populated(AddressRange range) const {
  auto it = std::upper_bound(regions_.begin(), regions_.end(), range.begin,
                             [](Address x, const Region& r) { return x < r.range.begin; });
  if (it != regions_.begin() && std::prev(it)->range.contains(range.begin)) --it;
  std::lock_guard lock(mu_);
  for (; it != regions_.end() && it->range.begin < range.end; ++it) {
    const uint64_t lo = std::max(range.begin.value, it->range.begin.value);
    const uint64_t hi = std::min(range.end.value, it->range.end.value);
    if (lo >= hi || !it->readable) continue;
    if (!sparse(static_cast<size_t>(it - regions_.begin()))) return {Address(lo), Address(hi)};
    AddressRange run = held_run(lo, hi);
    if (!run.empty()) return run;
  }
  return {};
}

void LiveProcess::load_whole(const Region& r, Cache& c) const {
  const size_t ri = static_cast<size_t>(&r - regions_.data());
  uint64_t size = r.range.size();
  c.data = std::make_unique<UntouchedMemory>(size);
  auto add_valid = [&](uint64_t b, uint64_t e) {
    if (!c.valid.empty() && c.valid.back().second == b)
      c.valid.back().second = e;
    else
      c.valid.push_back({b, e});
  };
  for (uint64_t off = 0; off < size; off += kReadChunk) {
    uint64_t n = std::min(kReadChunk, size - off);
    uint64_t got = read_region(ri, r.range.begin.value + off, c.data->data() + off, n);
    if (got == n) {
      add_valid(off, off + n);
      continue;
    }
    // Part of the chunk failed: go page by page so only bad pages are holes.
    add_valid(off, off + (got & ~(kPage - 1)));
    for (uint64_t p = off + (got & ~(kPage - 1)); p < off + n; p += kPage) {
      uint64_t k = std::min(kPage, off + n - p);
      if (read_region(ri, r.range.begin.value + p, c.data->data() + p, k) == k) add_valid(p, p + k);
    }
  }
}

std::span<const std::byte> LiveProcess::view_block(const Region& r, Cache& c, uint64_t off,
                                                   uint64_t max) const {
  const size_t ri = static_cast<size_t>(&r - regions_.data());
  uint64_t index = off / kBlock;
  auto it = c.blocks.find(index);
  if (it == c.blocks.end()) {
    Block b;
    uint64_t start = index * kBlock;
    uint64_t n = std::min(kBlock, r.range.size() - start);
    const uint16_t all = static_cast<uint16_t>((n / kPage >= 16) ? 0xffff : ((1u << ((n + kPage - 1) / kPage)) - 1));
    if (sparse(ri) && held_run(r.range.begin.value + start, r.range.begin.value + start + n).empty()) {
      b.valid = all;  // nothing held: all zeros, served from g_zero_block
    } else {
      b.data = std::unique_ptr<std::byte[]>(new std::byte[kBlock]());
      if (read_region(ri, r.range.begin.value + start, b.data.get(), n) == n) {
        b.valid = all;
      } else {
        for (uint64_t p = 0; p < n; p += kPage) {
          uint64_t k = std::min(kPage, n - p);
          if (read_region(ri, r.range.begin.value + start + p, b.data.get() + p, k) == k)
            b.valid = static_cast<uint16_t>(b.valid | (1u << (p / kPage)));
        }
      }
    }
    it = c.blocks.emplace(index, std::move(b)).first;
  }
  const Block& b = it->second;
  uint64_t in = off - index * kBlock;
  uint64_t page = in / kPage;
  if (!(b.valid & (1u << page))) return {};
  uint64_t end_page = page;
  while (end_page < 16 && (b.valid & (1u << end_page))) ++end_page;
  uint64_t end = std::min({end_page * kPage, kBlock, r.range.size() - index * kBlock});
  return {(b.data ? b.data.get() : g_zero_block) + in, std::min(max, end - in)};
}

std::span<const std::byte> LiveProcess::view(Address addr, uint64_t max_size) const {
  const uint64_t a = addr.value;
  size_t i = last_.load(std::memory_order_relaxed);
  if (i >= regions_.size() || !regions_[i].range.contains(addr)) {
    auto it = std::upper_bound(regions_.begin(), regions_.end(), addr,
                               [](Address x, const Region& r) { return x < r.range.begin; });
    if (it == regions_.begin()) return {};
    --it;
    if (!it->range.contains(addr)) return {};
    i = static_cast<size_t>(it - regions_.begin());
    last_.store(i, std::memory_order_relaxed);
  }
  const Region& r = regions_[i];
  if (!r.readable || max_size == 0) return {};
  Cache& c = caches_[i];
  uint64_t off = a - r.range.begin.value;
  if (r.range.size() > kWholeRegionCap) {
    std::lock_guard lock(mu_);
    return view_block(r, c, off, max_size);
  }
  if (!c.loaded.load(std::memory_order_acquire)) {
    std::lock_guard lock(mu_);
    if (!c.loaded.load(std::memory_order_relaxed)) {
      load_whole(r, c);
      c.loaded.store(true, std::memory_order_release);
    }
  }
  // Usually one valid run covers the whole region.
  auto v = std::upper_bound(c.valid.begin(), c.valid.end(), off,
                            [](uint64_t x, const std::pair<uint64_t, uint64_t>& p) { return x < p.first; });
  if (v == c.valid.begin()) return {};
  --v;
  if (off >= v->second) return {};
  return {c.data->data() + off, std::min(max_size, v->second - off)};
}

}  // namespace

Result<std::unique_ptr<Target>> open_live_process(int pid, StopMode mode, std::vector<Thread> threads) {
  auto p = std::make_unique<LiveProcess>(pid, mode);
  if (auto err = p->open(std::move(threads))) return *err;
  return std::unique_ptr<Target>(std::move(p));
}

}  // namespace heapscope
