#include "heapscope/analysis/heapmap.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "heapscope/analysis/frag.h"
#include "render/map_render.h"

namespace heapscope {
namespace {

using glibc::ChunkState;

// Main arena heap [0x10000, 0x10000 + 64 * 0x100): metadata, then 62
// chunks of 0x100 alternating in use / small (free), then top.
glibc::Heap alternating() {
  glibc::Heap h;
  h.layout = glibc::layout_for_version(2, 36).layout;
  h.version = "2.36";
  glibc::Arena a;
  a.main = true;
  a.address = Address(0x7f0000000100);
  a.heaps.push_back({{Address(0x10000), Address(0x10000 + 64 * 0x100)}, Address()});
  a.system_mem = 64 * 0x100;
  uint64_t at = 0x10000;
  h.blocks.push_back({Address(at), 0x100, 0, ChunkState::kMetadata, 1});
  at += 0x100;
  for (int i = 0; i < 62; ++i, at += 0x100)
    h.blocks.push_back({Address(at), 0x100, 0, i % 2 ? ChunkState::kSmall : ChunkState::kInUse, 1});
  a.top = Address(at);
  a.top_size = 0x100;
  h.blocks.push_back({Address(at), 0x100, 0, ChunkState::kTop, 1});
  h.arenas.push_back(a);
  return h;
}

TEST(HeapMap, ExactSpansMergeRunsOfOneState) {
  glibc::Heap h = alternating();
  HeapMap m = build_heap_map(h, std::nullopt, 64, 1000);
  ASSERT_EQ(m.heaps.size(), 1u);
  EXPECT_EQ(m.granularity, 0u);
  const auto& sp = m.heaps[0].spans;
  ASSERT_EQ(sp.size(), 64u);  // nothing adjacent shares a state
  EXPECT_EQ(sp[0].state, static_cast<uint8_t>(ChunkState::kMetadata));
  EXPECT_EQ(sp[1].state, static_cast<uint8_t>(ChunkState::kInUse));
  EXPECT_EQ(sp[2].state, static_cast<uint8_t>(ChunkState::kSmall));
  EXPECT_EQ(sp[63].state, static_cast<uint8_t>(ChunkState::kTop));
  EXPECT_EQ(sp[2].offset, 0x200u);
  EXPECT_EQ(sp[2].size, 0x100u);
  EXPECT_EQ(sp[2].chunks, 1u);
  // Text: 64 characters, one chunk each.
  EXPECT_EQ(m.heaps[0].strip, "m" + [] { std::string s; for (int i = 0; i < 31; ++i) s += "#s"; return s; }() + ".");
}

TEST(HeapMap, TooManySpansAreAggregatedIntoCells) {
  glibc::Heap h = alternating();
  HeapMap m = build_heap_map(h, std::nullopt, 16, 20);
  EXPECT_GT(m.granularity, 0u);
  size_t n = 0;
  uint64_t covered = 0, chunks = 0;
  for (const auto& s : m.heaps[0].spans) {
    ++n;
    covered += s.size;
    chunks += s.chunks;
  }
  EXPECT_LE(n, 20u);
  EXPECT_EQ(covered, 64u * 0x100);  // the cells still cover the heap exactly
  EXPECT_EQ(chunks, 64u);           // each chunk starts in exactly one cell
  // 16 characters of 4 chunks each: the middle ones are half in use, half free.
  EXPECT_EQ(m.heaps[0].strip.size(), 16u);
  EXPECT_EQ(m.heaps[0].strip[5], '%');
}

TEST(HeapMap, ArenaFilterAndLegend) {
  glibc::Heap h = alternating();
  EXPECT_EQ(build_heap_map(h, 0, 16, 0).heaps.size(), 1u);
  EXPECT_EQ(build_heap_map(h, 3, 16, 0).heaps.size(), 0u);
  EXPECT_EQ(map_char(kMixedState), '%');
  EXPECT_EQ(map_state_name(kMixedState), "mixed");
  EXPECT_EQ(map_legend_states().size(), static_cast<size_t>(glibc::kChunkStateCount) + 1);
}

TEST(MapRender, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(MapRender, HtmlIsSelfContainedAndCarriesTheData) {
  glibc::Heap h = alternating();
  HeapMap m = build_heap_map(h, std::nullopt, 0, 1000);
  FragReport f = compute_frag(h);
  std::string page = map_html(h, m, f, "test </script> target", 0);
  EXPECT_EQ(page.find("/*HEAPSCOPE_DATA*/"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  // The title's "</script>" must not close the data block.
  auto open = page.find("<script id=\"heapscope-data\" type=\"application/json\">");
  ASSERT_NE(open, std::string::npos);
  open += std::string_view("<script id=\"heapscope-data\" type=\"application/json\">").size();
  auto close = page.find("</script>", open);
  auto data = nlohmann::json::parse(page.substr(open, close - open));
  EXPECT_EQ(data["title"], "test </script> target");
  ASSERT_EQ(data["heaps"].size(), 1u);
  EXPECT_EQ(data["heaps"][0]["nspans"], 64);
  EXPECT_EQ(data["heaps"][0]["unit"], 0x100);
  EXPECT_EQ(data["arenas"].size(), 1u);
  EXPECT_EQ(data["arenas"][0]["frag"]["free"]["small"]["chunks"], 31);
}

TEST(MapRender, TextHasLegendAndStrip) {
  glibc::Heap h = alternating();
  HeapMap m = build_heap_map(h, std::nullopt, 64, 0);
  std::string t = map_text(h, m);
  EXPECT_NE(t.find("|m#s#s"), std::string::npos) << t;
  EXPECT_NE(t.find("legend: # in_use t tcache f fast"), std::string::npos) << t;
  auto j = nlohmann::json::parse(map_json(h, m));
  EXPECT_EQ(j["heaps"][0]["strip"].get<std::string>().size(), 64u);
}

}  // namespace
}  // namespace heapscope
