// Tests for the live process target on a real child (target_helper "wait").
#include "heapscope/live_process.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ptrace.h>

#include <set>

#include "programs/helper_process.h"

namespace heapscope {
namespace {

using testing::info_u64;

bool readable_within(FILE* f, int ms) {
  pollfd p{fileno(f), POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

TEST(LiveProcess, StopsReadsAndDetaches) {
  auto child = testing::start_helper_child(3);
  ASSERT_FALSE(child->info.empty()) << "helper did not start";
  int pid = child->pid;
  ASSERT_EQ(child->ping("a"), "pong a");
  {
    auto t = open_live_process(pid, StopMode::kStopAndDetach);
    ASSERT_TRUE(t.ok()) << t.error().message;
    const Target& tg = **t;
    EXPECT_EQ(tg.pid(), pid);
    EXPECT_EQ(tg.description(), "process " + std::to_string(pid) + " (heapscope_targe, 3 threads)");

    // Stopped: a line sent now gets no answer until we detach.
    ASSERT_EQ(write(child->to_child, "b\n", 2), 2);
    EXPECT_FALSE(readable_within(child->from_child, 300));

    EXPECT_EQ(tg.read_u64(Address(info_u64(child->info, "marker_addr"))),
              info_u64(child->info, "marker_value"));
    uint64_t heap = info_u64(child->info, "heap_addr");
    uint64_t size = info_u64(child->info, "heap_size");
    std::vector<std::byte> buf(size);
    ASSERT_EQ(tg.read(Address(heap), buf), size);
    size_t bad = 0;
    for (size_t i = 0; i < size; ++i) bad += buf[i] != static_cast<std::byte>((i * 7) ^ 0x5a);
    EXPECT_EQ(bad, 0u);

    ASSERT_EQ(tg.threads().size(), 3u);
    std::set<int> tids;
    for (const auto& th : tg.threads()) {
      tids.insert(th.tid);
      EXPECT_EQ(th.registers.size(), 27u);
      EXPECT_EQ(th.reg("rip"), th.pc.value);
      EXPECT_NE(th.pc.value, 0u);
      EXPECT_TRUE(th.stack.contains(th.sp));
      EXPECT_EQ(tg.read_u64(th.thread_pointer), th.thread_pointer.value);  // TCB self pointer
    }
    EXPECT_TRUE(tids.count(pid));

    // Regions are the maps; a guard page (---p) is a hole, not a crash.
    auto maps = testing::read_maps(child->dir + "/maps.txt");
    size_t guards = 0;
    for (const auto& m : maps) {
      const Region* r = tg.find_region(Address(m.begin));
      ASSERT_NE(r, nullptr) << m.path;
      if (m.path.starts_with("/")) {
        EXPECT_EQ(r->path, m.path);
      }
      if (m.perms.starts_with("---")) {
        ++guards;
        EXPECT_FALSE(r->readable);
        EXPECT_TRUE(tg.view(Address(m.begin), 8).empty());
      }
    }
    EXPECT_GE(guards, 2u);  // the two extra threads' stack guards

    ASSERT_FALSE(tg.modules().empty());
    EXPECT_TRUE(tg.modules()[0].path.ends_with("heapscope_target_helper"));
    const Module* libc = tg.find_module("libc.so");
    ASSERT_NE(libc, nullptr);
    EXPECT_EQ(libc->build_id.size(), 40u);
    char magic[4];
    ASSERT_TRUE(tg.read_exact(libc->base, magic, 4));
    EXPECT_EQ(std::memcmp(magic, ELFMAG, 4), 0);
  }
  // Detached: the pending line is answered and the process keeps running.
  ASSERT_TRUE(readable_within(child->from_child, 5000));
  char line[64];
  ASSERT_TRUE(std::fgets(line, sizeof line, child->from_child));
  EXPECT_STREQ(line, "pong b\n");
  EXPECT_EQ(child->ping("c"), "pong c");
}

TEST(LiveProcess, HugeRegionsAndUnreadablePages) {
  auto child = testing::start_helper_child(1, /*big=*/true);
  ASSERT_FALSE(child->info.empty());
  uint64_t big = info_u64(child->info, "big_addr");
  uint64_t short_map = info_u64(child->info, "short_addr");
  ASSERT_NE(big, 0u);
  auto t = open_live_process(child->pid, StopMode::kStopAndDetach);
  ASSERT_TRUE(t.ok()) << t.error().message;
  const Target& tg = **t;
  const Region* r = tg.find_region(Address(big));
  ASSERT_NE(r, nullptr);
  EXPECT_GT(r->range.size(), uint64_t{1} << 30);  // served block by block
  EXPECT_EQ(tg.read_u64(Address(big)), 0xb16b00b5u);
  uint64_t far = big + (uint64_t{1} << 30) + 4096 * 3 + 5 * 8;
  EXPECT_EQ(tg.read_u64(Address(far)), 0xfeedfaceu);
  EXPECT_EQ(tg.read_u64(Address(far + 8)), 0u);
  // A view never crosses a 64 KiB block but reads on across blocks.
  std::vector<std::byte> span(200 * 1024);
  EXPECT_EQ(tg.read(Address(far - 100 * 1024), span), span.size());

  // A file mapping two pages longer than its file: those pages are holes.
  r = tg.find_region(Address(short_map));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->range.size(), 3u * 4096);
  auto v = tg.view(Address(short_map + 100), 3 * 4096);
  EXPECT_EQ(v.size(), 4096u - 100);
  EXPECT_EQ(v[0], std::byte{0xab});
  EXPECT_TRUE(tg.view(Address(short_map + 4096), 8).empty());
  EXPECT_TRUE(tg.view(Address(short_map + 2 * 4096 + 8), 8).empty());
}

TEST(LiveProcess, AlreadyStoppedUsesTheDebuggersThreads) {
  auto child = testing::start_helper_child(1);
  ASSERT_FALSE(child->info.empty());
  // Play the debugger: we trace and stop it.
  ASSERT_EQ(ptrace(PTRACE_SEIZE, child->pid, nullptr, nullptr), 0);
  ASSERT_EQ(ptrace(PTRACE_INTERRUPT, child->pid, nullptr, nullptr), 0);
  int status;
  ASSERT_EQ(waitpid(child->pid, &status, __WALL), child->pid);
  {
    auto bare = open_live_process(child->pid, StopMode::kAlreadyStopped);
    ASSERT_TRUE(bare.ok()) << bare.error().message;
    ASSERT_EQ((*bare)->threads().size(), 1u);
    EXPECT_TRUE((*bare)->threads()[0].registers.empty());
    EXPECT_EQ((*bare)->read_u64(Address(info_u64(child->info, "marker_addr"))),
              info_u64(child->info, "marker_value"));

    Thread th;
    th.tid = child->pid;
    th.sp = Address(info_u64(child->info, "marker_addr"));  // any mapped address
    th.registers = {{"rsp", th.sp.value}};
    auto t = open_live_process(child->pid, StopMode::kAlreadyStopped, {th});
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ((*t)->threads().size(), 1u);
    EXPECT_EQ((*t)->threads()[0].reg("rsp"), th.sp.value);
    EXPECT_TRUE((*t)->threads()[0].stack.contains(th.sp));
  }
  ASSERT_EQ(ptrace(PTRACE_DETACH, child->pid, nullptr, nullptr), 0);
  EXPECT_EQ(child->ping("d"), "pong d");
}

TEST(LiveProcess, OpeningATracedProcessSaysWhoTracesIt) {
  auto child = testing::start_helper_child(1);
  ASSERT_FALSE(child->info.empty());
  ASSERT_EQ(ptrace(PTRACE_SEIZE, child->pid, nullptr, nullptr), 0);
  auto t = open_live_process(child->pid, StopMode::kStopAndDetach);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("already traced by pid " + std::to_string(getpid())),
            std::string::npos)
      << t.error().message;
  // PTRACE_DETACH needs a stopped tracee.
  ASSERT_EQ(ptrace(PTRACE_INTERRUPT, child->pid, nullptr, nullptr), 0);
  int status;
  ASSERT_EQ(waitpid(child->pid, &status, __WALL), child->pid);
  ASSERT_EQ(ptrace(PTRACE_DETACH, child->pid, nullptr, nullptr), 0);
  EXPECT_EQ(child->ping("e"), "pong e");
}

TEST(LiveProcess, ErrorsAreOneLine) {
  // A pid that no longer exists.
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  auto t = open_live_process(gone, StopMode::kStopAndDetach);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message, "pid " + std::to_string(gone) + ": no such process");

  // A zombie: exited, not yet reaped.
  pid_t zombie = fork();
  if (zombie == 0) _exit(0);
  for (int i = 0; i < 200; ++i) {
    if (testing::read_text("/proc/" + std::to_string(zombie) + "/stat").find(") Z") != std::string::npos)
      break;
    usleep(10000);
  }
  t = open_live_process(zombie, StopMode::kStopAndDetach);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("is a zombie"), std::string::npos) << t.error().message;
  waitpid(zombie, nullptr, 0);

  t = open_live_process(getpid(), StopMode::kStopAndDetach);
  ASSERT_FALSE(t.ok());
}

TEST(LiveProcess, AnotherUsersProcessIsPermissionDenied) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  auto child = testing::start_helper_child(1);
  ASSERT_FALSE(child->info.empty());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t p = fork();
  if (p == 0) {
    close(fds[0]);
    std::string msg = "setuid failed";
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      auto t = open_live_process(child->pid, StopMode::kStopAndDetach);
      msg = t.ok() ? "(opened)" : t.error().message;
    }
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  char buf[512] = {};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  waitpid(p, nullptr, 0);
  ASSERT_GT(n, 0);
  std::string msg(buf, static_cast<size_t>(n));
  EXPECT_TRUE(msg.starts_with("pid " + std::to_string(child->pid) + ": permission denied (")) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_EQ(child->ping("f"), "pong f");
}

}  // namespace
}  // namespace heapscope
