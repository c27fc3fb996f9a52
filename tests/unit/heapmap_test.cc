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

constexpr BlockKind kModelKinds[] = {
    {"region", BlockState::kInUse, 0},
    {"cached", BlockState::kCached, 0},
    {"dirty", BlockState::kFree, 0},
    {"base", BlockState::kMetadata, 0},
    {"huge", BlockState::kMapped, 0},
};

// Three system ranges listed in address order: the unowned huge block's
// (lowest), arena 1's and arena 0's; the walk left 0x100 bytes of arena 0's
// range unparsed.
HeapModel three_ranges() {
  HeapModel m;
  m.allocator = "testalloc";
  m.version = "1.0";
  m.kinds = kModelKinds;
  m.owners = {{"arena 0", Address(0x1000), 0x1000}, {"arena 1", Address(0x2000), 0x800}};
  m.blocks = {
      Block(Address(0x100000), 0x1000, kNoOwner, 4, 0),
      Block(Address(0x200000), 0x400, 1, 0, 0), Block(Address(0x200400), 0x400, 1, 2, 0),
      Block(Address(0x300000), 0x100, 0, 3, 0), Block(Address(0x300100), 0x600, 0, 0, 0),
      Block(Address(0x300700), 0x800, 0, 1, 0),
  };
  m.system = {{Address(0x100000), Address(0x101000)}, {Address(0x200000), Address(0x200800)},
              {Address(0x300000), Address(0x301000)}};
  m.build_index();
  return m;
}

TEST(ModelMap, RowsAreSystemRangesByOwnerUnownedLast) {
  HeapModel h = three_ranges();
  HeapMap m = build_model_map(h, 16, 0);
  ASSERT_EQ(m.heaps.size(), 3u);
  EXPECT_EQ(m.arenas, 3u);
  EXPECT_EQ(m.heaps[0].arena, 0);
  EXPECT_EQ(m.heaps[0].range.begin, Address(0x300000));
  EXPECT_EQ(m.heaps[1].arena, 1);
  EXPECT_EQ(m.heaps[2].arena, kNoOwner);
  EXPECT_EQ(m.heaps[0].chunks, 3u);
  // 0x100 metadata, 0x600 in use, 0x800 cached, 0x100 no block: one char is 0x100 bytes.
  EXPECT_EQ(m.heaps[0].strip, "m######cccccccc?");
  EXPECT_EQ(m.heaps[1].strip, "########--------");
  EXPECT_EQ(m.heaps[2].strip, std::string(16, 'M'));
  // Exact spans in BlockState values, the gap unknown.
  ASSERT_EQ(m.heaps[0].spans.size(), 4u);
  EXPECT_EQ(m.heaps[0].spans[3].state, static_cast<uint8_t>(BlockState::kUnknown));
  EXPECT_EQ(m.heaps[0].spans[3].size, 0x100u);
}

TEST(ModelMap, CellsWithNoMajorityAreMixed) {
  HeapModel h = three_ranges();
  HeapMap m = build_model_map(h, 2, 0);  // arena 1's range: half in use, half free in one cell each
  EXPECT_EQ(m.heaps[1].strip, "#-");
  m = build_model_map(h, 1, 0);
  EXPECT_EQ(m.heaps[1].strip, "%");
}

TEST(ModelMap, TextJsonAndPage) {
  HeapModel h = three_ranges();
  HeapMap m = build_model_map(h, 16, 0);
  std::string t = model_map_text(h, m);
  EXPECT_EQ(t.substr(0, t.find('\n')), "testalloc 1.0: 3 system ranges, 6 blocks, system bytes 10240 (10.0 KiB)");
  EXPECT_NE(t.find("arena 0 at 0x1000: 1 range, system bytes 4096 (4.0 KiB)\n"
                   "  range 0 0x300000-0x301000 4.0 KiB, 3 blocks, 1 char = 256 B\n"
                   "  |m######cccccccc?|\n"), std::string::npos) << t;
  EXPECT_NE(t.find("unowned: 1 range\n"), std::string::npos) << t;
  auto j = nlohmann::json::parse(model_map_json(h, m));
  EXPECT_EQ(j["states"]["in_use"], (nlohmann::json{{"blocks", 2}, {"bytes", 0xa00}}));
  EXPECT_EQ(j["states"]["mapped"], (nlohmann::json{{"blocks", 1}, {"bytes", 0x1000}}));
  EXPECT_EQ(j["states"]["unknown"], (nlohmann::json{{"blocks", 0}, {"bytes", 0}}));
  EXPECT_EQ(j["rows"][2]["owner"], nullptr);
  std::string page = model_map_html(h, build_model_map(h, 0, 100), compute_model_frag(h), "test", {});
  EXPECT_NE(page.find("\"allocator\":\"testalloc\""), std::string::npos);
  EXPECT_NE(page.find("\"label\":\"unowned range 0\""), std::string::npos);
  EXPECT_EQ(page.find("/*HEAPSCOPE_DATA*/"), std::string::npos);
}

}  // namespace
}  // namespace heapscope
