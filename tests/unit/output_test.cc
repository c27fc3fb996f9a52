// OutputWriter hands a sink bounded pieces whose concatenation is the whole
// output; the command runner stops when the sink (the user) cancels.
#include "heapscope/output.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "heapscope/buffer_target.h"
#include "heapscope/command.h"
#include "render/leak_render.h"

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

// Rows written in place (begin_append's room, end_append where they stop),
// mixed with print and write, arrive whole and in order; the room a row did
// not use is never sent.
TEST(OutputWriter, RowsWrittenInPlaceArriveInOrder) {
  PieceSink sink;
  OutputWriter out(sink);
  std::string whole;
  for (int i = 0; i < 50000; ++i) {
    const std::string row = fmt::format("[{}:{}]", i, std::string(i % 29, 'y'));
    char* p = out.begin_append(256);
    std::copy(row.begin(), row.end(), p);
    out.end_append(p + row.size());
    whole += row;
    if (i % 1000 == 0) {
      out.print("<{}>", i);
      out.write("|");
      whole += fmt::format("<{}>|", i);
    }
  }
  EXPECT_GT(sink.pieces.size(), 10u);
  out.flush();
  std::string joined;
  for (const auto& p : sink.pieces) {
    EXPECT_LE(p.size(), OutputWriter::kPiece + 256);
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

// A chunk held from 20000 places (a table of pointers to one object): the
// `heap refs` listing reaches the sink in pieces while it is rendered.
struct ManyHolders {
  glibc::Heap heap;
  RefsReport report;
  ManyHolders() {
    heap.blocks.emplace_back(Address{0x1000}, 0x40010, 0, glibc::ChunkState::kInUse, 1);  // the table
    heap.blocks.emplace_back(Address{0x41010}, 0x20, 0, glibc::ChunkState::kInUse, 1);    // the object
    report.chunk = 1;
    report.asked = glibc::chunk_data(heap.blocks[1]);
    for (uint64_t i = 0; i < 20000; ++i) {
      Reference r;
      r.where = glibc::chunk_data(heap.blocks[0]) + 8 * i;
      r.value = glibc::chunk_data(heap.blocks[1]).value + (i % 2) * 8;
      r.start = i % 2 == 0;
      r.chunk = 0;
      report.refs.push_back(r);
    }
  }
};

std::string joined(const PieceSink& sink) {
  std::string all;
  for (const auto& p : sink.pieces) all += p;
  return all;
}

TEST(RefsListing, TextIsStreamedInPieces) {
  ManyHolders m;
  PieceSink sink;
  OutputWriter out(sink);
  refs_text(out, m.heap, m.report);
  EXPECT_GT(sink.pieces.size(), 1u);  // pieces went out before the last row was made
  out.flush();
  std::string text = joined(sink);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 20001);
  EXPECT_TRUE(text.starts_with("chunk 0x41010 (data 0x41020, 32 bytes, in_use): 20000 references\n"
                               "  chunk 0x1000 (data 0x1010, 262160 bytes, in_use) at data -> data\n"
                               "  chunk 0x1000 (data 0x1010, 262160 bytes, in_use) at data+0x8 -> data+0x8\n"))
      << text.substr(0, 300);
}

// A slot in the red zone below sp reads sp-0x58, not sp+0xffffffffffffffa8.
TEST(RefsListing, StackOffsetsBelowSpAreNegative) {
  ManyHolders m;
  m.report.refs.resize(2);
  for (uint64_t i = 0; i < 2; ++i) {
    Reference& r = m.report.refs[i];
    r = Reference{};
    r.from = Reference::From::kStack;
    r.tid = 7;
    r.thread_sp = Address{0x7ffc0000};
    r.where = i == 0 ? Address{0x7ffc0000 - 0x58} : Address{0x7ffc0010};
    r.value = glibc::chunk_data(m.heap.blocks[1]).value;
    r.start = true;
  }
  StringSink sink;
  OutputWriter out(sink);
  refs_text(out, m.heap, m.report);
  out.flush();
  std::string text = sink.take();
  EXPECT_NE(text.find("stack of thread 7 at 0x7ffbffa8 (sp-0x58)"), std::string::npos) << text;
  EXPECT_NE(text.find("stack of thread 7 at 0x7ffc0010 (sp+0x10)"), std::string::npos) << text;
}

TEST(RefsListing, JsonIsStreamedInPiecesAndParses) {
  ManyHolders m;
  m.report.path_asked = true;  // no path: null
  PieceSink sink;
  OutputWriter out(sink);
  refs_json(out, m.heap, m.report);
  EXPECT_GT(sink.pieces.size(), 1u);
  out.flush();
  auto j = nlohmann::json::parse(joined(sink));
  EXPECT_EQ(j["chunk"]["address"], "0x41010");
  EXPECT_EQ(j["asked"], "0x41020");
  ASSERT_EQ(j["refs"].size(), 20000u);
  EXPECT_EQ(j["refs"][1]["where"], "0x1018");
  EXPECT_EQ(j["refs"][1]["offset"], 8);
  EXPECT_EQ(j["refs"][19999]["chunk_offset"], 8 * 19999);
  EXPECT_TRUE(j["path"].is_null());
}

}  // namespace
}  // namespace heapscope
