// watch_heap's loop over hand-made targets: a synthetic glibc heap that
// grows by one chunk per open, a source that goes away, counts, errors;
// and the growth plot's data.
#include "heapscope/heap_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "render/growth_plot.h"
#include "synthetic_heap.h"

namespace heapscope {
namespace {

using testing::SyntheticHeap;

// The k-th open: k+1 in-use chunks of 0x100 bytes after the tcache struct.
std::unique_ptr<Target> heap_with(int chunks) {
  SyntheticHeap s;
  for (int i = 0; i < chunks; ++i) s.chunk(0x100);
  s.finish();
  return std::make_unique<BufferTarget>(std::move(s.target));
}

struct Growing {
  int opens = 0;
  int exit_after = 1 << 30;  // opens before the "process" exits
  WatchSource source() {
    return {[this]() -> Result<std::unique_ptr<Target>> {
              if (opens >= exit_after) return Error{"pid 1: no such process"};
              ++opens;
              return heap_with(opens);
            },
            [this] { return opens >= exit_after; }};
  }
};

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(HeapWatch, SamplesUntilTheTargetIsGoneEachOnAFreshTarget) {
  Growing g;
  g.exit_after = 3;
  WatchOptions o;
  o.interval_seconds = 0.01;
  StringSink sink;
  WatchOutcome out = watch_heap(g.source(), o, {}, CancelToken(), sink, {});
  ASSERT_EQ(out.status, 0) << out.error;
  EXPECT_EQ(out.end_note, "note: the process exited; 3 samples taken");
  auto lines = lines_of(sink.text());
  ASSERT_EQ(lines.size(), 3u);
  for (size_t k = 0; k < lines.size(); ++k) {
    EXPECT_EQ(lines[k]["sample"], k);
    EXPECT_EQ(lines[k]["allocator"], "glibc");
    EXPECT_GE(lines[k]["stop_ms"].get<double>(), 0.0);
    EXPECT_EQ(lines[k]["stats"]["allocator"], "glibc");
    // A fresh model per sample: one more chunk each time, nothing cached.
    if (k) {
      EXPECT_EQ(lines[k]["in_use"]["bytes"].get<uint64_t>() - lines[k - 1]["in_use"]["bytes"].get<uint64_t>(), 0x100u);
      EXPECT_GE(lines[k]["elapsed"].get<double>(), 0.01 * k - 1e-3);
      EXPECT_GT(lines[k]["time"].get<double>(), lines[k - 1]["time"].get<double>());
    }
    EXPECT_EQ(lines[k]["in_use"], lines[k]["stats"]["total"]["in_use"]);
    EXPECT_EQ(lines[k]["system_bytes"], SyntheticHeap::kHeapSize);
    ASSERT_EQ(lines[k]["owners"].size(), 1u);
    EXPECT_EQ(lines[k]["owners"][0]["label"], "arena 0 (main)");
  }
  ASSERT_EQ(out.samples.size(), 3u);
  EXPECT_TRUE(out.samples[2].stats_json.empty());  // kept for the plot without it
}

TEST(HeapWatch, CountBoundsTheWatch) {
  Growing g;
  WatchOptions o;
  o.interval_seconds = 0.001;
  o.count = 2;
  StringSink sink;
  WatchOutcome out = watch_heap(g.source(), o, {}, CancelToken(), sink, {});
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(out.end_note, "");
  EXPECT_EQ(lines_of(sink.text()).size(), 2u);
  EXPECT_EQ(g.opens, 2);
}

TEST(HeapWatch, AFirstSampleThatFailsIsAnError) {
  Growing g;
  g.exit_after = 0;
  StringSink sink;
  WatchOutcome out = watch_heap(g.source(), {}, {}, CancelToken(), sink, {});
  EXPECT_EQ(out.status, 2);
  EXPECT_EQ(out.error, "pid 1: no such process");
  EXPECT_EQ(sink.text(), "");
}

TEST(HeapWatch, ATargetWithoutAHeapIsAnError) {
  WatchSource none{[]() -> Result<std::unique_ptr<Target>> { return std::unique_ptr<Target>(new BufferTarget); },
                   [] { return false; }};
  StringSink sink;
  WatchOutcome out = watch_heap(none, {}, {}, CancelToken(), sink, {});
  EXPECT_EQ(out.status, 2);
  EXPECT_FALSE(out.error.empty());
  EXPECT_EQ(out.error.find('\n'), std::string::npos);
}

TEST(HeapWatch, OnlyTheAllocatorOptionOfHeapStats) {
  Growing g;
  WatchOptions o;
  o.stats_args = {"--arena", "0"};
  StringSink sink;
  WatchOutcome out = watch_heap(g.source(), o, {}, CancelToken(), sink, {});
  EXPECT_EQ(out.status, 2);
  EXPECT_EQ(out.error, "--watch takes heap stats [--allocator NAME], not '--arena'");
  EXPECT_EQ(g.opens, 0);
  o.stats_args = {"--allocator", "glibc"};
  o.count = 1;
  out = watch_heap(g.source(), o, {}, CancelToken(), sink, {});
  EXPECT_EQ(out.status, 0) << out.error;
}

TEST(HeapWatch, ACancelledTokenEndsTheWaitBetweenSamples) {
  Growing g;
  WatchOptions o;
  o.interval_seconds = 60;
  StringSink sink;
  CancelToken cancel([&sink] { return !sink.text().empty(); });  // Ctrl-C once the first line is out
  const auto began = std::chrono::steady_clock::now();
  WatchOutcome out = watch_heap(g.source(), o, {}, cancel, sink, {});
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(g.opens, 1);
  EXPECT_EQ(out.samples.size(), 1u);
  EXPECT_EQ(out.end_note, "note: interrupted; 1 sample taken");
}

TEST(HeapWatch, IntervalsAsTyped) {
  EXPECT_EQ(*parse_watch_interval("0.25"), 0.25);
  EXPECT_EQ(*parse_watch_interval("2"), 2.0);
  for (const char* bad : {"", "0", "-1", "x", "1s", "nan", "inf", "86401"})
    EXPECT_FALSE(parse_watch_interval(bad).ok()) << bad;
}

TEST(GrowthPlot, OwnersThatAppearLaterHaveNoPointsBefore) {
  std::vector<HeapSample> samples(2);
  for (size_t k = 0; k < 2; ++k) {
    samples[k].index = k;
    samples[k].elapsed_seconds = 0.5 * k;
    samples[k].allocator = "glibc";
    samples[k].total = {"total", {k + 1, 100 * (k + 1)}, {1, 50}, 4096};
    samples[k].owners.push_back({"arena 0 (main)", {k + 1, 100 * (k + 1)}, {1, 50}, 4096});
  }
  samples[1].owners.push_back({"arena 1 </script>", {1, 64}, {0, 0}, 8192});
  std::string page = growth_plot_html(samples, "pid 7 <x>");
  EXPECT_NE(page.find("heap growth of pid 7 &lt;x&gt;: 2 samples"), std::string::npos);
  auto at = page.find("id=\"growth-data\">");
  ASSERT_NE(at, std::string::npos);
  at += 17;
  auto data = nlohmann::json::parse(page.substr(at, page.find("</script>", at) - at));
  EXPECT_EQ(data["t"], nlohmann::json({0.0, 0.5}));
  ASSERT_EQ(data["series"].size(), 3u);
  EXPECT_EQ(data["series"][0]["in_use"], nlohmann::json({100, 200}));
  EXPECT_EQ(data["series"][2]["label"], "arena 1 </script>");
  EXPECT_EQ(data["series"][2]["system"], nlohmann::json({nullptr, 8192}));
}

}  // namespace
}  // namespace heapscope
