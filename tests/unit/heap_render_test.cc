// heap chunks --json rows are put together by hand for speed: they must be
// exactly what the format string the listing is documented by would write.
#include "render/heap_render.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace heapscope {
namespace {

constexpr std::string_view kLongName =
    "a kind name far longer than any allocator's own word for its blocks, past the row buffer's room";
constexpr BlockKind kKinds[] = {
    {"in_use", BlockState::kInUse, 16},
    {"raw", BlockState::kFree, 0},
    {kLongName, BlockState::kMetadata, 8},
};

TEST(ChunkListWriter, JsonRowsAreWhatTheFormatStringWrites) {
  HeapModel m;
  m.kinds = kKinds;
  m.blocks = {
      Block(Address(0), 0, kNoOwner, 1, 0),
      Block(Address(0x10), 0x20, 0, 0, 1),
      Block(Address(0x7ffff7a1c2b0), kMaxBlockSize, kMaxOwners - 1, 0, 7),
      Block(Address(0xfedcba9876543210), 0x123456789, kNoOwner, 1, 0),
      Block(Address(0xf), 1, 3, 2, 0),
  };
  StringSink sink;
  OutputWriter out(sink);
  ChunkListWriter list(out, m, /*json=*/true);
  std::string want = "{\"chunks\":[";
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const Block& c = m.blocks[i];
    list.add(c);
    want += fmt::format("{}{{\"address\":\"{:#x}\",\"data\":\"{:#x}\",\"size\":{},\"state\":\"{}\",\"arena\":{}}}",
                        i ? "," : "", c.address.value, m.user_begin(c).value, uint64_t{c.size}, m.kind_of(c).name,
                        int{c.owner});
  }
  list.finish_json(5, 0);
  out.flush();
  want += "],\"matching\":5,\"findings\":0}\n";
  EXPECT_EQ(sink.text(), want);
}

// Rows made apart (put_chunk_json_row, each after a comma) and handed over
// in batches read as rows added one by one, first batch or not.
TEST(ChunkListWriter, RowsMadeApartReadAsRowsAddedOneByOne) {
  HeapModel m;
  m.kinds = std::span<const BlockKind>(kKinds, 2);
  for (uint64_t i = 0; i < 40; ++i) m.blocks.push_back(Block(Address(0x1000 + 0x30 * i), 0x30, int(i % 3), uint8_t(i % 2), 1));
  ASSERT_TRUE(chunk_json_rows_fit(m));
  auto listing = [&](bool apart) {
    StringSink sink;
    OutputWriter out(sink);
    ChunkListWriter list(out, m, /*json=*/true);
    size_t i = 0;
    for (size_t batch : {size_t{7}, size_t{0}, size_t{1}, size_t{20}, size_t{12}}) {
      if (!apart || batch == 1) {
        for (size_t k = 0; k < batch; ++k) list.add(m.blocks[i++]);
        continue;
      }
      std::string rows(batch * kMaxChunkJsonRow, '\0');
      char* p = rows.data();
      for (size_t k = 0; k < batch; ++k) p = put_chunk_json_row(p, m, m.blocks[i++], true);
      rows.resize(static_cast<size_t>(p - rows.data()));
      list.add_json_rows(rows, batch);
    }
    list.finish_json(i, 0);
    out.flush();
    return sink.take();
  };
  EXPECT_EQ(listing(true), listing(false));
  HeapModel long_names;
  long_names.kinds = kKinds;
  EXPECT_FALSE(chunk_json_rows_fit(long_names));
}

}  // namespace
}  // namespace heapscope
