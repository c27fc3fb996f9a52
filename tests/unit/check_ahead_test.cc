// CheckAhead gives the report check_heap gives, and a Session that checks
// ahead answers every command as one that checks when asked.
#include "analysis/check_ahead.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "check_dump.h"
#include "heapscope/command.h"
#include "heapscope/session.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;
using testing::dump;

// A heap with a double free in the tcache and a fastbin link overwritten.
SyntheticHeap corrupt_heap() {
  SyntheticHeap s;
  const uint64_t t1 = s.chunk(0x20);
  s.chunk(0x30);
  const uint64_t f1 = s.chunk(0x30);
  s.chunk(0x20);
  s.finish();
  s.tcache_push(0, t1);
  s.tcache_push(0, t1);
  s.fast_push(1, f1);
  s.w(f1 + 16, s.mangle(f1 + 16, 0x4141414141410));
  return s;
}

TEST(CheckAhead, ReportsWhatTheCheckReports) {
  SyntheticHeap s = corrupt_heap();
  auto syms = make_no_symbols();
  const glibc::Heap h = glibc::Heap::build(s.target, *syms);
  const std::string direct = dump(check_heap(h, s.target, {}));
  ASSERT_NE(direct.find("tcache-double-free"), std::string::npos) << direct;
  CheckAhead ahead(h, s.target, {});
  auto report = ahead.take();
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(dump(*report), direct);
  EXPECT_EQ(ahead.take(), nullptr);  // taken once
  // Destroyed untaken: stops and joins.
  { CheckAhead untaken(h, s.target, {}); }
}

TEST(CheckAhead, SessionsCheckingAheadOrNotAnswerTheSame) {
  auto answers = [](const char* threads) {
    if (threads) setenv("HEAPSCOPE_THREADS", threads, 1);
    else unsetenv("HEAPSCOPE_THREADS");
    SyntheticHeap s = corrupt_heap();
    Session session(std::make_unique<BufferTarget>(std::move(s.target)));
    CancelToken cancel;
    std::string out;
    for (auto args : {std::vector<std::string>{"stats"}, {"leaks"}, {"chunks", "--json"}, {"check"}, {"stats"}}) {
      auto r = run_command(session, "heap", args, cancel);
      out += std::to_string(r.status) + "\n" + r.out + r.error;
    }
    // Forgetting the model while a check may still run on it.
    session.invalidate();
    auto again = run_command(session, "heap", {"check"}, cancel);
    out += again.out;
    unsetenv("HEAPSCOPE_THREADS");
    return out;
  };
  const std::string ahead = answers(nullptr), alone = answers("1");
  EXPECT_NE(ahead.find("tcache-double-free"), std::string::npos) << ahead;
  EXPECT_EQ(ahead, alone);
}

}  // namespace
}  // namespace heapscope
