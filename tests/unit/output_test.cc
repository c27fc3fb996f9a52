// OutputWriter hands a sink bounded pieces whose concatenation is the whole
// output; the command runner stops when the sink (the user) cancels.
#include "heapscope/output.h"

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"
#include "heapscope/command.h"

namespace heapscope {
namespace {

struct PieceSink final : OutputSink {
  std::vector<std::string> pieces;
  void write(std::string_view text) override { pieces.emplace_back(text); }
};

TEST(OutputWriter, PiecesAreBoundedAndAddUp) {
  PieceSink sink;
  OutputWriter out(sink);
  std::string whole;
  for (int i = 0; i < 100000; ++i) {
    out.print("row {:>8} {}\n", i, std::string(i % 37, 'x'));
    whole += fmt::format("row {:>8} {}\n", i, std::string(i % 37, 'x'));
  }
  EXPECT_GT(sink.pieces.size(), 10u);  // streamed, not kept whole
  out.flush();
  std::string joined;
  for (const auto& p : sink.pieces) {
    EXPECT_LE(p.size(), OutputWriter::kPiece + 64);
    joined += p;
  }
  EXPECT_EQ(joined, whole);
}

struct CancellingSink final : OutputSink {
  size_t writes = 0;
  void write(std::string_view) override {
    ++writes;
    throw Cancelled{};  // the pager's "q", or Ctrl-C seen by the front-end
  }
};

TEST(RunCommand, SinkCancelStopsTheCommand) {
  Session s(std::make_unique<BufferTarget>());
  CancellingSink sink;
  CommandOutput out = run_command(s, "heap", {"help"}, CancelToken(), sink);
  EXPECT_EQ(out.status, 130);
  EXPECT_EQ(out.error, "interrupted");
  EXPECT_EQ(sink.writes, 1u);
}

TEST(RunCommand, CancelledTokenWritesNothing) {
  Session s(std::make_unique<BufferTarget>());
  PieceSink sink;
  CancelToken cancel;
  cancel.cancel();
  CommandOutput out = run_command(s, "heap", {"help"}, cancel, sink);
  EXPECT_EQ(out.status, 130);
  EXPECT_TRUE(sink.pieces.empty());
}

TEST(RunCommand, StringFormKeepsTheWholeOutput) {
  Session s(std::make_unique<BufferTarget>());
  PieceSink sink;
  ASSERT_EQ(run_command(s, "heap", {"help"}, CancelToken(), sink).status, 0);
  CommandOutput whole = run_command(s, "heap", {"help"}, CancelToken());
  ASSERT_EQ(whole.status, 0);
  ASSERT_EQ(sink.pieces.size(), 1u);
  EXPECT_EQ(whole.out, sink.pieces[0]);
}

}  // namespace
}  // namespace heapscope
