// libheapscope-record linked into this program: every allocation below goes
// through the recorder, and the tests read its tables the way a reader of a
// core does (record_walk.h).
#include <dlfcn.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "record_walk.h"

using record_walk::Record;

extern "C" {
// Allocation sites with names dladdr can find (the test exports its symbols).
__attribute__((noinline)) void* recorder_test_site_a(size_t n) {
  void* p = malloc(n);
  asm volatile("" ::: "memory");  // not a tail call: this frame stays on the stack
  return p;
}
__attribute__((noinline)) void* recorder_test_site_b(size_t n) {
  void* p = calloc(1, n);
  asm volatile("" ::: "memory");
  return p;
}
__attribute__((noinline)) void recorder_test_recurse(int depth, std::vector<void*>* out) {
  out->push_back(malloc(24));
  if (depth > 1) recorder_test_recurse(depth - 1, out);
  asm volatile("" ::: "memory");
}
}

// Before main, as a library's constructor would: calloc, and dlsym (which
// itself allocates with calloc in glibc: the classic bootstrap loop of
// preloaded mallocs that find the real ones with dlsym).
static void* early_block;
static void* early_dlsym;
extern "C" __attribute__((constructor(101), noinline)) void recorder_test_before_main() {
  early_block = calloc(3, 7);
  early_dlsym = dlsym(RTLD_NEXT, "calloc");
  asm volatile("" ::: "memory");
}

namespace {

std::string function_of(uint64_t return_address) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(return_address - 1), &info) == 0 || !info.dli_sname)
    return "?";
  return info.dli_sname;
}

Record must_find(const void* p) {
  Record r{};
  EXPECT_TRUE(record_walk::find(p, &r)) << "no record for " << p;
  return r;
}

bool has(const void* p) {
  Record r{};
  return record_walk::find(p, &r);
}

TEST(Recorder, RootIsValid) {
  const hsr_root& root = heapscope_record_root;
  EXPECT_EQ(root.magic, HSR_ROOT_MAGIC);
  EXPECT_EQ(root.layout_version, HSR_LAYOUT_VERSION);
  EXPECT_EQ(root.root_size, sizeof(hsr_root));
  EXPECT_EQ(root.initialized, 1u);
  EXPECT_EQ(root.pid, static_cast<uint64_t>(getpid()));
}

TEST(Recorder, CallocBeforeMainAndDlsym) {
  ASSERT_NE(early_block, nullptr);
  EXPECT_NE(early_dlsym, nullptr);
  Record r = must_find(early_block);
  ASSERT_GE(r.depth, 1u);
  EXPECT_EQ(function_of(r.frames[0]), "recorder_test_before_main");
}

TEST(Recorder, MallocIsRecordedWithItsCallerFirst) {
  void* p = recorder_test_site_a(100);
  Record r = must_find(p);
  ASSERT_GE(r.depth, 2u);
  EXPECT_EQ(function_of(r.frames[0]), "recorder_test_site_a");
  EXPECT_EQ(r.thread, static_cast<uint32_t>(gettid()));
  free(p);
  EXPECT_FALSE(has(p));
}

TEST(Recorder, SameSiteSharesOneStack) {
  // The same call (one return address per frame) twice: one stack.
  void* ab[2];
  volatile int twice = 2;  // a real loop, not unrolled into two calls
  for (int i = 0; i < twice; i++) ab[i] = recorder_test_site_b(40);
  void *a = ab[0], *b = ab[1];
  Record ra = must_find(a), rb = must_find(b);
  EXPECT_EQ(function_of(ra.frames[0]), "recorder_test_site_b");
  EXPECT_EQ(ra.stack_id, rb.stack_id);
  EXPECT_LT(ra.seq, rb.seq);
  void* c = recorder_test_site_a(40);
  EXPECT_NE(must_find(c).stack_id, ra.stack_id);
  free(a);
  free(b);
  free(c);
}

TEST(Recorder, ReallocMovesTheRecord) {
  void* p = malloc(16);
  uint64_t seq = must_find(p).seq;
  void* q = realloc(p, 1 << 20);  // large enough to move
  ASSERT_NE(q, nullptr);
  if (q != p) {
    EXPECT_FALSE(has(p));
  }
  EXPECT_GT(must_find(q).seq, seq);
  void* r = realloc(q, 0);  // glibc frees and returns NULL
  EXPECT_EQ(r, nullptr);
  EXPECT_FALSE(has(q));
  void* s = realloc(nullptr, 32);
  EXPECT_TRUE(has(s));
  free(s);
}

TEST(Recorder, FailedReallocKeepsTheRecord) {
  void* p = malloc(16);
  uint64_t seq = must_find(p).seq;
  void* q = realloc(p, SIZE_MAX / 2);
  EXPECT_EQ(q, nullptr);
  EXPECT_EQ(must_find(p).seq, seq);
  free(p);
}

TEST(Recorder, AlignedFamilies) {
  std::vector<void*> ps;
  ps.push_back(memalign(64, 100));
  ps.push_back(aligned_alloc(256, 512));
  ps.push_back(valloc(10));
  ps.push_back(pvalloc(10));
  void* pm = nullptr;
  ASSERT_EQ(posix_memalign(&pm, 128, 77), 0);
  ps.push_back(pm);
  void* bad = nullptr;
  EXPECT_EQ(posix_memalign(&bad, 3, 10), EINVAL);
  ps.push_back(calloc(10, 10));
  ps.push_back(reallocarray(nullptr, 10, 10));
  for (void* p : ps) {
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(has(p)) << p;
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pm) % 128, 0u);
  for (void* p : ps) free(p);
  for (void* p : ps) EXPECT_FALSE(has(p)) << p;
}

TEST(Recorder, RecursionKeepsEveryLevel) {
  std::vector<void*> ps;
  ps.reserve(16);
  recorder_test_recurse(5, &ps);
  ASSERT_EQ(ps.size(), 5u);
  for (size_t level = 0; level < ps.size(); level++) {
    Record r = must_find(ps[level]);
    int recursing = 0;
    for (uint32_t i = 0; i < r.depth; i++)
      recursing += function_of(r.frames[i]) == "recorder_test_recurse";
    EXPECT_EQ(recursing, static_cast<int>(level) + 1) << "level " << level;
  }
  for (void* p : ps) free(p);
}

TEST(Recorder, ThreadsRecordTheirOwnIds) {
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::vector<void*>> kept(kThreads);
  std::vector<uint32_t> tids(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      tids[t] = static_cast<uint32_t>(gettid());
      kept[t].reserve(kEach);
      for (int i = 0; i < kEach; i++) {
        void* p = recorder_test_site_a(16 + i % 200);
        if (i % 3 == 0) free(p); else kept[t].push_back(p);
      }
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < kThreads; t++)
    for (void* p : kept[t]) {
      Record r = must_find(p);
      ASSERT_EQ(r.thread, tids[t]);
      ASSERT_EQ(function_of(r.frames[0]), "recorder_test_site_a");
    }
  for (auto& v : kept)
    for (void* p : v) free(p);
}

// Every live record is in its hash chain, and the counters agree.
bool tables_consistent(std::string* why) {
  const hsr_root& root = heapscope_record_root;
  uint64_t live = 0;
  for (uint64_t i = 0; i < root.records_used; i++)
    if (record_walk::record_at(i)->address) live++;
  const uint32_t* buckets = reinterpret_cast<const uint32_t*>(root.record_buckets);
  uint64_t chained = 0;
  for (uint64_t b = 0; b < root.record_bucket_count; b++)
    for (uint32_t id = buckets[b]; id; id = record_walk::record_at(id - 1)->next) {
      if (!record_walk::record_at(id - 1)->address) { *why = "free record in a chain"; return false; }
      if (++chained > live) { *why = "chains longer than the live records"; return false; }
    }
  if (live != root.live_records || chained != live) {
    *why = "live " + std::to_string(live) + " chained " + std::to_string(chained) +
           " counter " + std::to_string(root.live_records);
    return false;
  }
  return true;
}

TEST(Recorder, ForkChildKeepsConsistentTables) {
  // A thread allocates and frees without pause while the main thread forks:
  // each child must find the tables consistent and keep recording.
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    std::vector<void*> ring(64, nullptr);
    for (unsigned i = 0; !stop.load(); i++) {
      free(ring[i % 64]);
      ring[i % 64] = recorder_test_site_b(8 + i % 500);
    }
    for (void* p : ring) free(p);
  });
  for (int round = 0; round < 20; round++) {
    void* before = recorder_test_site_a(64);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string why;
      int bad = !tables_consistent(&why);
      bad |= heapscope_record_root.pid != static_cast<uint64_t>(getpid()) ? 2 : 0;
      bad |= !has(before) ? 4 : 0;
      void* mine = recorder_test_site_a(32);
      bad |= !has(mine) ? 8 : 0;
      bad |= must_find(mine).thread != static_cast<uint32_t>(gettid()) ? 16 : 0;
      free(mine);
      bad |= has(mine) ? 32 : 0;
      if (bad) fprintf(stderr, "child: %d %s\n", bad, why.c_str());
      _exit(bad);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "round " << round;
    free(before);
  }
  stop = true;
  churn.join();
  std::string why;
  EXPECT_TRUE(tables_consistent(&why)) << why;
}

TEST(Recorder, NeverFreeingProgramStaysWithinBudget) {
  // Half a million allocations kept (the bucket index grows several times):
  // each costs at most 32 bytes of records and index.
  constexpr size_t kCount = 500000;
  std::vector<void*> ps;
  ps.reserve(kCount);
  uint64_t live_before = heapscope_record_root.live_records;
  for (size_t i = 0; i < kCount; i++) ps.push_back(recorder_test_site_a(8));
  const hsr_root& root = heapscope_record_root;
  EXPECT_EQ(root.live_records - live_before, kCount);
  double per_live = (root.records_used * double(sizeof(hsr_record)) +
                     root.record_bucket_count * 4.0) / root.live_records;
  EXPECT_LE(per_live, 32.0);
  std::string why;
  EXPECT_TRUE(tables_consistent(&why)) << why;
  for (size_t i = 0; i < kCount; i += 1000) ASSERT_TRUE(has(ps[i]));
  uint64_t frees_before = root.frees;
  for (void* p : ps) free(p);
  EXPECT_EQ(root.frees - frees_before, kCount);
  for (size_t i = 0; i < kCount; i += 1000) ASSERT_FALSE(has(ps[i]));
}

TEST(Recorder, TimeLogOrdersMarks) {
  const hsr_root& root = heapscope_record_root;
  ASSERT_GE(root.time_log_count, 1u);
  auto* log = reinterpret_cast<const hsr_time_mark*>(root.time_log);
  for (uint64_t i = 1; i < root.time_log_count; i++) {
    EXPECT_LT(log[i - 1].seq, log[i].seq);
    EXPECT_LE(log[i - 1].time_ns, log[i].time_ns);
  }
  EXPECT_GE(log[0].time_ns + 10'000'000, root.start_monotonic_ns);
}

}  // namespace
