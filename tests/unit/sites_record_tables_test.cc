// sites::read_record_tables on synthetic targets: the recorder's tables laid
// out by hand (heapscope_record_layout.h), then broken in every field.
#include "heapscope/sites/record_tables.h"

#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"
#include "heapscope/error.h"
#include "heapscope_record_layout.h"

namespace heapscope {
namespace {

constexpr uint64_t kRoot = 0x10000, kRecords = 0x200000, kStacks = 0x300000, kFrames = 0x400000;

struct Tables {
  hsr_root root{};
  std::vector<hsr_record> records;
  std::vector<hsr_stack> stacks;
  std::vector<uint64_t> frames;

  Tables() {
    root.magic = HSR_ROOT_MAGIC;
    root.layout_version = HSR_LAYOUT_VERSION;
    root.root_size = sizeof(hsr_root);
    root.record_size = sizeof(hsr_record);
    root.stack_size = sizeof(hsr_stack);
    root.initialized = 1;
    root.pid = 42;
    // Two stacks: {0x1111, 0x2222} and {0x3333}.
    frames = {0x1111, 0x2222, 0x3333};
    stacks.push_back(hsr_stack{kFrames, 2, 0, 0});
    stacks.push_back(hsr_stack{kFrames + 16, 1, 0, 0});
    // Live: 0x5000 (stack 1), 0x6000 (stack 2), a freed record, and 0x5000
    // again with an older seq (freed behind the recorder's back).
    records.push_back(hsr_record{HSR_HIDE(0x5000), 7, 1, 100, 0});
    records.push_back(hsr_record{HSR_HIDE(0x6000), 8, 2, 101, 0});
    records.push_back(hsr_record{0, 0, 0, 0, 0});
    records.push_back(hsr_record{HSR_HIDE(0x5000), 3, 2, 100, 0});
    root.records_used = records.size();
    root.live_records = 2;
    root.stacks_used = stacks.size();
    root.record_segments[0] = kRecords;
    root.stack_segments[0] = kStacks;
  }

  template <typename T>
  static std::vector<std::byte> bytes(const T* p, size_t n) {
    std::vector<std::byte> b(n * sizeof(T));
    std::memcpy(b.data(), p, b.size());
    return b;
  }

  BufferTarget target() const {
    BufferTarget t;
    t.add_region(Address(kRoot), bytes(&root, 1), kPermRead | kPermWrite, "/lib/libheapscope-record.so");
    t.add_region(Address(kRecords), bytes(records.data(), records.size()));
    t.add_region(Address(kStacks), bytes(stacks.data(), stacks.size()));
    t.add_region(Address(kFrames), bytes(frames.data(), frames.size()));
    return t;
  }
};

std::optional<sites::RecordTables> read(const Target& t) {
  auto none = make_no_symbols();
  return sites::read_record_tables(t, *none, CancelToken());
}

TEST(SitesRecordTables, DecodesRecordsAndStacksFoundByMagic) {
  Tables tables;
  auto t = tables.target();
  auto r = read(t);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root, Address(kRoot));
  EXPECT_FALSE(r->by_symbol);
  EXPECT_EQ(r->pid, 42u);
  ASSERT_EQ(r->stacks.size(), 2u);
  EXPECT_EQ(r->stacks[0], (std::vector<Address>{Address(0x1111), Address(0x2222)}));
  EXPECT_EQ(r->stacks[1], (std::vector<Address>{Address(0x3333)}));
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(r->records[0].address, Address(0x5000));
  EXPECT_EQ(r->records[0].seq, 7u);  // the newest record of the address
  EXPECT_EQ(r->records[0].stack, 0u);
  EXPECT_EQ(r->records[0].thread, 100u);
  EXPECT_EQ(r->records[1].stack, 1u);
  EXPECT_TRUE(r->findings.empty()) << r->findings[0];
}

TEST(SitesRecordTables, NoRootIsNothing) {
  BufferTarget t;
  t.add_region(Address(kRoot), std::vector<std::byte>(4096), kPermRead | kPermWrite, "/lib/libc.so.6");
  EXPECT_FALSE(read(t));
}

TEST(SitesRecordTables, AnotherLayoutVersionIsOneUserError) {
  Tables tables;
  tables.root.layout_version = 7;
  auto t = tables.target();
  try {
    read(t);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("layout version 7"), std::string::npos) << e.message;
  }
}

TEST(SitesRecordTables, BrokenTablesBecomeFindings) {
  {
    Tables tables;
    tables.records[1].stack_id = 99;
    auto r = read(tables.target());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->records[1].stack, sites::kNoStack);
    ASSERT_FALSE(r->findings.empty());
    EXPECT_NE(r->findings[0].find("stack 99"), std::string::npos) << r->findings[0];
  }
  {
    Tables tables;
    tables.stacks[0].depth = 1000;
    tables.stacks[1].frames = 0xdead0000;
    auto r = read(tables.target());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->findings.size(), 3u);  // depth, frames of stack 1 (short), frames of stack 2
  }
  {
    Tables tables;
    tables.root.records_used = 1ull << 40;  // far more than the segments hold
    auto r = read(tables.target());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->records.size(), 2u);
    EXPECT_FALSE(r->findings.empty());
  }
}

TEST(SitesRecordTables, RandomCorruptionNeverCrashes) {
  Tables base;
  std::mt19937_64 rng(20);
  for (int round = 0; round < 3000; ++round) {
    Tables tables = base;
    auto* root_bytes = reinterpret_cast<unsigned char*>(&tables.root);
    auto* record_bytes = reinterpret_cast<unsigned char*>(tables.records.data());
    auto* stack_bytes = reinterpret_cast<unsigned char*>(tables.stacks.data());
    for (int k = 0; k < 4; ++k) {
      switch (rng() % 3) {
        case 0: root_bytes[16 + rng() % (sizeof(hsr_root) - 16)] = static_cast<unsigned char>(rng()); break;
        case 1: record_bytes[rng() % (tables.records.size() * sizeof(hsr_record))] = static_cast<unsigned char>(rng()); break;
        default: stack_bytes[rng() % (tables.stacks.size() * sizeof(hsr_stack))] = static_cast<unsigned char>(rng()); break;
      }
    }
    auto t = tables.target();
    try {
      auto r = read(t);
      ASSERT_TRUE(r);
      for (const auto& rec : r->records) ASSERT_TRUE(rec.stack == sites::kNoStack || rec.stack < r->stacks.size());
      for (const auto& s : r->stacks) ASSERT_LE(s.size(), HSR_MAX_DEPTH);
    } catch (const UserError&) {
      // a root that no longer validates (sizes) is one line
    }
  }
}

}  // namespace
}  // namespace heapscope
