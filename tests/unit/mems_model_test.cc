// Tests for the mems model (mems::SegmentHeap), its analyses and the mems commands:
// synthetic mems structures built by hand in a BufferTarget (clean and
// corrupt), and the real libmems run in this process, then read back from a
// snapshot of our own memory and compared with mems_get_stats.
#include "heapscope/mems/heap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "heapscope/buffer_target.h"
#include "heapscope/command.h"
#include "heapscope/mems/stats.h"
#include "heapscope/session.h"
#include "mems_layout.h"
#ifdef HEAPSCOPE_HAVE_MEMS
#include "mems.h"
#endif

namespace heapscope {
namespace {

using json = nlohmann::json;

// A mems heap written by hand: root in a module's data, one metadata page,
// node mappings, arenas and pools, with every counter kept as libmems keeps
// it. Tests corrupt it after build().
class SyntheticMems {
 public:
  static constexpr uint64_t kData = 0x555555600000;  // the program's .data
  static constexpr uint64_t kRoot = kData + 0x80;
  static constexpr uint64_t kMeta = 0x7f0000000000;
  static constexpr uint64_t kMetaBytes = 0x4000;
  static constexpr uint64_t kMaps = 0x7f1000000000;  // node mappings from here
  static constexpr uint64_t kPage = 4096;

  struct mems_root root{};

  SyntheticMems() {
    root.magic = MEMS_ROOT_MAGIC;
    root.layout_version = MEMS_LAYOUT_VERSION;
    root.root_size = sizeof(struct mems_root);
    root.initialized = 1;
    root.page_size = kPage;
    root.virt_base = root.virt_next = MEMS_VIRT_BASE;
    root.next_seq = 1;
    root.meta_head = kMeta;
    root.meta_pages = 1;
    root.meta_page_bytes = kMetaBytes;
    root.meta_slot_size = MEMS_META_SLOT_SIZE;
    root.pool_size = MEMS_POOL_SIZE;
    root.arena_size = MEMS_ARENA_SIZE;
    root.pool_header_size = MEMS_POOL_HEADER_SIZE;
    root.pool_class_count = MEMS_POOL_CLASS_COUNT;
    map(kData, 0x1000, "/usr/bin/prog");
    map(kMeta, kMetaBytes, "");
    mems_meta_page page{};
    page.magic = MEMS_META_PAGE_MAGIC;
    page.slot_size = MEMS_META_SLOT_SIZE;
    page.slot_count = (kMetaBytes - MEMS_META_PAGE_HEADER_SIZE) / MEMS_META_SLOT_SIZE;
    page.bytes = kMetaBytes;
    put(kMeta, page);
  }

  template <typename T>
  T get(uint64_t a) const {
    auto [base, bytes] = block(a);
    T v;
    std::memcpy(&v, bytes->data() + (a - base), sizeof(T));
    return v;
  }
  template <typename T>
  void put(uint64_t a, const T& v) {
    auto [base, bytes] = block(a);
    std::memcpy(bytes->data() + (a - base), &v, sizeof(T));
  }
  template <typename T, typename F>
  void edit(uint64_t a, F f) {
    T v = get<T>(a);
    f(v);
    put(a, v);
  }

  // A node of `pages` pages holding one HOLE; returns the node descriptor.
  uint64_t node(uint64_t pages) {
    uint64_t length = pages * kPage;
    uint64_t pstart = next_map_;
    next_map_ += length + 16 * kPage;  // leave gaps between mappings
    map(pstart, length, "");
    uint64_t n = slot();
    mems_node rec{};
    rec.magic = MEMS_NODE_MAGIC;
    rec.prev = root.tail;
    rec.vstart = root.virt_next;
    rec.pstart = pstart;
    rec.length = length;
    rec.index = root.nodes;
    put(n, rec);
    if (root.tail) edit<mems_node>(root.tail, [&](mems_node& t) { t.next = n; });
    else root.head = n;
    root.tail = n;
    root.virt_next += length;
    root.nodes++;
    root.pages += pages;
    append(n, MEMS_SEGMENT_HOLE, length, 0);
    return n;
  }

  // Carves `size` bytes (a multiple of 16) as PROCESS from the node's
  // trailing HOLE; returns the segment descriptor.
  uint64_t alloc(uint64_t n, uint64_t size, uint64_t requested = 0, uint32_t flags = 0) {
    mems_node nd = get<mems_node>(n);
    uint64_t hole = nd.seg_tail;
    mems_segment h = get<mems_segment>(hole);
    EXPECT_EQ(h.type, MEMS_SEGMENT_HOLE);
    EXPECT_GE(h.size, size);
    // The hole becomes the PROCESS segment; a new HOLE follows with the rest.
    uint64_t rest = h.size - size;
    h.type = MEMS_SEGMENT_PROCESS;
    h.size = size;
    h.requested = requested ? requested : size;
    h.seq = root.next_seq++;
    h.site = 0x555555401234;
    h.flags = flags;
    put(hole, h);
    edit<mems_node>(n, [&](mems_node& x) {
      x.hole_count--;
      x.hole_bytes -= size + rest;
    });
    root.hole_segments--;
    root.hole_bytes -= size + rest;
    root.process_segments++;
    root.process_bytes += size;
    if (rest) append(n, MEMS_SEGMENT_HOLE, rest, 0);
    return hole;
  }

  // An arena in a node of its own (64 pages), with `carve` pools carved.
  uint64_t arena() {
    uint64_t n = node(MEMS_ARENA_SIZE / kPage);
    uint64_t seg = alloc(n, MEMS_ARENA_SIZE, MEMS_ARENA_SIZE, MEMS_SEGMENT_FLAG_ARENA);
    uint64_t a = slot();
    mems_segment s = get<mems_segment>(seg);
    mems_arena rec{};
    rec.magic = MEMS_ARENA_MAGIC;
    rec.pool_count = MEMS_POOLS_PER_ARENA;
    rec.segment = seg;
    rec.vstart = s.vstart;
    rec.pstart = s.pstart;
    rec.size = MEMS_ARENA_SIZE;
    rec.pools_free = MEMS_POOLS_PER_ARENA;
    rec.next = root.arena_head;
    put(a, rec);
    if (root.arena_head) edit<mems_arena>(root.arena_head, [&](mems_arena& x) { x.prev = a; });
    root.arena_head = a;
    s.arena = a;
    put(seg, s);
    root.arenas++;
    return a;
  }

  // Carves the arena's next pool for class `cls`, hands out `handed` blocks
  // and frees those listed (in that order: the last freed heads the list).
  uint64_t pool(uint64_t a, uint32_t cls, uint32_t handed, std::vector<uint32_t> freed = {}) {
    mems_arena ar = get<mems_arena>(a);
    uint64_t p = ar.pstart + uint64_t{ar.pools_carved} * MEMS_POOL_SIZE;
    mems_pool_header h{};
    h.magic = MEMS_POOL_MAGIC;
    h.class_index = cls;
    h.block_size = MEMS_POOL_CLASS_STEP * (cls + 1);
    h.capacity = (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / h.block_size;
    h.next_offset = MEMS_POOL_HEADER_SIZE + handed * h.block_size;
    h.arena = a;
    h.index = ar.pools_carved;
    for (uint32_t k = 0; k < handed; ++k) h.in_use[k / 64] |= 1ull << (k % 64);
    h.used = handed;
    for (uint32_t k : freed) {
      uint64_t b = p + MEMS_POOL_HEADER_SIZE + uint64_t{k} * h.block_size;
      h.in_use[k / 64] &= ~(1ull << (k % 64));
      put(b, h.freelist);
      h.freelist = b;
      h.used--;
    }
    ar.pools_carved++;
    ar.pools_free--;
    if (h.used == 0) {
      h.state = MEMS_POOL_STATE_EMPTY;
      h.next = ar.free_pools;
      ar.free_pools = p;
      ar.pools_free++;
    } else {
      h.state = h.used == h.capacity ? MEMS_POOL_STATE_FULL : MEMS_POOL_STATE_USED;
      root.pools++;
      root.blocks_used += h.used;
      root.blocks_free += h.capacity - h.used;
      root.bytes_used += uint64_t{h.used} * h.block_size;
      if (h.state == MEMS_POOL_STATE_USED) {
        h.next = root.classes[cls];
        if (h.next) edit<mems_pool_header>(h.next, [&](mems_pool_header& x) { x.prev = p; });
        root.classes[cls] = p;
      }
    }
    put(p, h);
    put(a, ar);
    pools_.push_back(p);
    return p;
  }

  // Finishes the lists that depend on everything (usable arenas, pool map,
  // free metadata slots) and returns the target.
  std::unique_ptr<BufferTarget> build() {
    uint64_t prev = 0;
    for (uint64_t a = root.arena_head; a; a = get<mems_arena>(a).next) {
      mems_arena ar = get<mems_arena>(a);
      if (ar.pools_free == 0) continue;
      ar.usable_prev = prev;
      put(a, ar);
      if (prev) edit<mems_arena>(prev, [&](mems_arena& x) { x.usable_next = a; });
      else root.usable_arenas = a;
      prev = a;
    }
    if (!pools_.empty()) {
      uint64_t cap = 64;
      root.pool_map = kMeta - 0x10000;
      root.pool_map_capacity = cap;
      root.pool_map_count = pools_.size();
      map(root.pool_map, cap * 8, "");
      for (size_t i = 0; i < pools_.size(); ++i) put(root.pool_map + i * 8, pools_[i]);
    }
    uint64_t total = (kMetaBytes - MEMS_META_PAGE_HEADER_SIZE) / MEMS_META_SLOT_SIZE;
    root.meta_slots_used = slots_used_;
    root.meta_free = 0;
    for (uint64_t i = total; i-- > slots_used_;) {
      uint64_t s = kMeta + MEMS_META_PAGE_HEADER_SIZE + i * MEMS_META_SLOT_SIZE;
      mems_free_slot f{};
      f.magic = MEMS_FREE_SLOT_MAGIC;
      f.next = root.meta_free;
      put(s, f);
      root.meta_free = s;
    }
    return target();
  }

  // The target as it is now (root included).
  std::unique_ptr<BufferTarget> target() {
    put(kRoot, root);
    auto t = std::make_unique<BufferTarget>();
    for (const auto& [base, m] : mem_) t->add_region(Address(base), m.bytes, kPermRead | kPermWrite, m.path);
    return t;
  }

  uint64_t segment(uint64_t n, size_t j) {
    uint64_t s = get<mems_node>(n).seg_head;
    while (j--) s = get<mems_segment>(s).next;
    return s;
  }

 private:
  struct Mapping {
    std::vector<std::byte> bytes;
    std::string path;
  };

  std::pair<uint64_t, std::vector<std::byte>*> block(uint64_t a) const {
    auto it = mem_.upper_bound(a);
    if (it == mem_.begin()) throw std::runtime_error("synthetic: no mapping below address");
    --it;
    if (a - it->first >= it->second.bytes.size()) throw std::runtime_error("synthetic: address unmapped");
    return {it->first, const_cast<std::vector<std::byte>*>(&it->second.bytes)};
  }

  void map(uint64_t at, uint64_t n, std::string path) { mem_[at] = {std::vector<std::byte>(n), std::move(path)}; }

  uint64_t slot() {
    uint64_t s = kMeta + MEMS_META_PAGE_HEADER_SIZE + slots_used_ * MEMS_META_SLOT_SIZE;
    ++slots_used_;
    return s;
  }

  void append(uint64_t n, uint32_t type, uint64_t size, uint64_t requested) {
    mems_node nd = get<mems_node>(n);
    uint64_t off = 0;
    for (uint64_t s = nd.seg_head; s; s = get<mems_segment>(s).next) off += get<mems_segment>(s).size;
    uint64_t s = slot();
    mems_segment rec{};
    rec.magic = MEMS_SEGMENT_MAGIC;
    rec.type = type;
    rec.prev = nd.seg_tail;
    rec.node = n;
    rec.vstart = nd.vstart + off;
    rec.pstart = nd.pstart + off;
    rec.size = size;
    rec.requested = requested;
    put(s, rec);
    if (nd.seg_tail) edit<mems_segment>(nd.seg_tail, [&](mems_segment& x) { x.next = s; });
    else nd.seg_head = s;
    nd.seg_tail = s;
    nd.segment_count++;
    root.segments++;
    if (type == MEMS_SEGMENT_HOLE) {
      nd.hole_count++;
      nd.hole_bytes += size;
      root.hole_segments++;
      root.hole_bytes += size;
    }
    put(n, nd);
  }

  std::map<uint64_t, Mapping> mem_;
  uint64_t next_map_ = kMaps;
  uint64_t slots_used_ = 0;
  std::vector<uint64_t> pools_;
};

// The reference heap most tests start from: node 0 (2 pages) holds
// PROCESS 112, PROCESS 304, HOLE; node 1 (1 page) is one PROCESS of 4096;
// node 2 is an arena with a class-1 pool (10 handed out, 3 freed), a full
// class-31 pool and an emptied class-6 pool.
struct Reference {
  SyntheticMems m;
  uint64_t n0, n1, s_a, s_b, s_c, arena, p1, p31, p6;
  Reference() {
    n0 = m.node(2);
    s_a = m.alloc(n0, 112, 100);
    s_b = m.alloc(n0, 304, 300);
    n1 = m.node(1);
    s_c = m.alloc(n1, 4096, 4090);
    arena = m.arena();
    p1 = m.pool(arena, 1, 10, {2, 5, 7});
    p31 = m.pool(arena, 31, 7);
    p6 = m.pool(arena, 6, 2, {0, 1});
  }
};

mems::SegmentHeap build(const Target& t) {
  auto syms = make_no_symbols();
  return mems::SegmentHeap::build(t, *syms);
}

bool has_kind(const mems::SegmentHeap& h, std::string_view kind, uint64_t address = 0) {
  for (const auto& f : h.findings)
    if (f.kind == kind && (address == 0 || f.address.value == address)) return true;
  return false;
}

std::string dump(const mems::SegmentHeap& h) {
  std::string s;
  for (const auto& f : h.findings) s += f.kind + " " + to_hex(f.address) + " " + f.detail + "\n";
  return s;
}

TEST(MemsModel, CleanHeapHasNoFindingsAndRightShape) {
  Reference r;
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(h.findings.empty()) << dump(h);
  EXPECT_EQ(h.root.address.value, SyntheticMems::kRoot);
  EXPECT_FALSE(h.root.found_by_symbol);
  ASSERT_EQ(h.nodes.size(), 3u);
  ASSERT_EQ(h.nodes[0].segments.size(), 3u);
  EXPECT_EQ(h.nodes[0].segments[0].type, mems::SegmentType::kProcess);
  EXPECT_EQ(h.nodes[0].segments[0].vstart, MEMS_VIRT_BASE);
  EXPECT_EQ(h.nodes[0].segments[1].vstart, MEMS_VIRT_BASE + 112);
  EXPECT_EQ(h.nodes[0].segments[2].type, mems::SegmentType::kHole);
  EXPECT_EQ(h.nodes[0].segments[2].size, 8192u - 112 - 304);
  EXPECT_EQ(h.nodes[1].vstart, MEMS_VIRT_BASE + 8192);
  ASSERT_EQ(h.arenas.size(), 1u);
  ASSERT_EQ(h.arenas[0].pools.size(), 3u);
  EXPECT_EQ(h.arenas[0].pools[0].free_blocks.size(), 3u);
  EXPECT_EQ(h.arenas[0].pools[1].state, mems::PoolState::kFull);
  EXPECT_EQ(h.arenas[0].pools[2].state, mems::PoolState::kEmpty);
  EXPECT_TRUE(h.nodes[2].segments[0].is_arena());
}

TEST(MemsModel, StatsComeFromTheStructures) {
  Reference r;
  auto t = r.m.build();
  auto h = build(*t);
  auto s = mems::segment_stats(h);
  EXPECT_EQ(s.pages, 2u + 1 + 64);
  EXPECT_EQ(s.nodes, 3u);
  EXPECT_EQ(s.segments, 3u + 1 + 1);
  EXPECT_EQ(s.process_segments, 4u);
  EXPECT_EQ(s.process_bytes, 112u + 304 + 4096 + MEMS_ARENA_SIZE);
  EXPECT_EQ(s.hole_segments, 1u);
  EXPECT_EQ(s.hole_bytes, 8192u - 416);
  auto p = mems::pool_stats(h);
  EXPECT_EQ(p.arenas, 1u);
  EXPECT_EQ(p.pools, 2u);  // the emptied class-6 pool is not counted
  uint32_t cap1 = (4096 - 96) / 32, cap31 = (4096 - 96) / 512;
  EXPECT_EQ(p.blocks_used, 7u + cap31);
  EXPECT_EQ(p.blocks_free, (cap1 - 7) + 0u);
  EXPECT_EQ(p.bytes_used, 7u * 32 + cap31 * 512u);
  ASSERT_EQ(p.classes.size(), 2u);
  EXPECT_EQ(p.classes[0].class_index, 1u);
  EXPECT_EQ(p.classes[1].class_index, 31u);
  EXPECT_EQ(p.classes[1].blocks_free, 0u);
  // The root's own counters agree on a clean heap.
  auto rc = mems::root_segment_counters(h.root);
  EXPECT_EQ(rc.process_bytes, s.process_bytes);
  EXPECT_EQ(mems::root_pool_counters(h.root).blocks_free, p.blocks_free);
}

TEST(MemsModel, TranslateProcessHoleAndOutside) {
  Reference r;
  auto t = r.m.build();
  auto h = build(*t);
  auto tr = mems::translate(h, MEMS_VIRT_BASE + 112 + 7);
  EXPECT_EQ(tr.node, 0u);
  EXPECT_EQ(tr.segment, 1u);
  EXPECT_EQ(tr.physical.value, h.nodes[0].pstart.value + 112 + 7);
  auto tr2 = mems::translate(h, MEMS_VIRT_BASE + 8192 + 4095);
  EXPECT_EQ(tr2.node, 1u);
  EXPECT_EQ(tr2.physical.value, h.nodes[1].pstart.value + 4095);
  try {
    mems::translate(h, MEMS_VIRT_BASE + 1000);
    FAIL() << "a HOLE address translated";
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("inside a HOLE (node 0, segment 2"), std::string::npos) << e.message;
  }
  EXPECT_THROW(mems::translate(h, 999), UserError);
  EXPECT_THROW(mems::translate(h, h.root.virt_next), UserError);
  // The leak scan's form: the same answer, or none instead of the error.
  auto quiet = mems::try_translate(h, MEMS_VIRT_BASE + 112 + 7);
  ASSERT_TRUE(quiet.has_value());
  EXPECT_EQ(quiet->physical, tr.physical);
  EXPECT_FALSE(mems::try_translate(h, MEMS_VIRT_BASE + 1000).has_value());
  EXPECT_FALSE(mems::try_translate(h, 999).has_value());
}

TEST(MemsModel, CycleInMainChainIsFoundAndWalkEnds) {
  Reference r;
  r.m.edit<mems_node>(r.m.root.tail, [&](mems_node& n) { n.next = r.n0; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "chain-cycle", r.n0)) << dump(h);
  EXPECT_EQ(h.nodes.size(), 3u);
}

TEST(MemsModel, CycleInSubChainIsFound) {
  Reference r;
  uint64_t last = r.m.segment(r.n0, 2);
  r.m.edit<mems_segment>(last, [&](mems_segment& s) { s.next = r.s_a; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "subchain-cycle", r.s_a)) << dump(h);
}

TEST(MemsModel, SegmentOverrunningItsNode) {
  Reference r;
  uint64_t hole = r.m.segment(r.n0, 2);
  r.m.edit<mems_segment>(hole, [](mems_segment& s) { s.size += 4096; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "segment-overrun", hole + offsetof(mems_segment, size))) << dump(h);
  EXPECT_TRUE(has_kind(h, "segments-do-not-fill", r.n0)) << dump(h);
}

TEST(MemsModel, BrokenBackLinks) {
  Reference r;
  r.m.edit<mems_segment>(r.s_b, [](mems_segment& s) { s.prev = 0; });
  r.m.edit<mems_node>(r.n1, [](mems_node& n) { n.prev = 0x1234; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "broken-back-link", r.s_b + offsetof(mems_segment, prev))) << dump(h);
  EXPECT_TRUE(has_kind(h, "broken-back-link", r.n1 + offsetof(mems_node, prev))) << dump(h);
  EXPECT_EQ(h.findings.size(), 2u) << dump(h);
}

TEST(MemsModel, CountersThatLie) {
  Reference r;
  auto t0 = r.m.build();
  auto truth = mems::segment_stats(build(*t0));
  r.m.root.pages += 5;
  r.m.root.blocks_used -= 1;
  auto t = r.m.target();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "counter-mismatch", SyntheticMems::kRoot + offsetof(struct mems_root, pages))) << dump(h);
  EXPECT_TRUE(has_kind(h, "counter-mismatch", SyntheticMems::kRoot + offsetof(struct mems_root, blocks_used)))
      << dump(h);
  EXPECT_EQ(h.findings.size(), 2u) << dump(h);
  // Stats still come from the structures.
  EXPECT_EQ(mems::segment_stats(h).pages, truth.pages);
}

TEST(MemsModel, AdjacentHolesAndNodeCounters) {
  Reference r;
  // Turn the 304-byte PROCESS into a HOLE without merging it.
  r.m.edit<mems_segment>(r.s_b, [](mems_segment& s) {
    s.type = MEMS_SEGMENT_HOLE;
    s.seq = 0;
    s.requested = 0;
  });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "adjacent-holes", r.m.segment(r.n0, 2))) << dump(h);
  EXPECT_TRUE(has_kind(h, "counter-mismatch", r.n0 + offsetof(mems_node, hole_bytes))) << dump(h);
}

TEST(MemsModel, PoolFreeListStrayAndCycle) {
  {
    Reference r;
    // Point the head of the class-1 free list at a block of another size.
    r.m.edit<mems_pool_header>(r.p1, [&](mems_pool_header& p) { p.freelist = r.p1 + 96 + 8; });
    auto t = r.m.build();
    auto h = build(*t);
    EXPECT_TRUE(has_kind(h, "free-list-stray", r.p1 + 96 + 8)) << dump(h);
  }
  {
    Reference r;
    auto head = r.m.get<mems_pool_header>(r.p1).freelist;
    r.m.put<uint64_t>(head, head);  // the first free block points at itself
    auto t = r.m.build();
    auto h = build(*t);
    EXPECT_TRUE(has_kind(h, "free-list-cycle", head)) << dump(h);
  }
}

TEST(MemsModel, BitmapDisagreesWithFreeList) {
  Reference r;
  // Block 2 is free (on the list) but marked in use again.
  r.m.edit<mems_pool_header>(r.p1, [](mems_pool_header& p) { p.in_use[0] |= 1u << 2; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "free-and-used", r.p1 + 96 + 2 * 32)) << dump(h);
  EXPECT_TRUE(has_kind(h, "bitmap-mismatch", r.p1 + offsetof(mems_pool_header, used))) << dump(h);
}

TEST(MemsModel, UsedPoolMissingFromItsClassList) {
  Reference r;
  r.m.root.classes[1] = 0;
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "pool-not-listed", r.p1)) << dump(h);
}

TEST(MemsModel, ArenaCycleAndBadMagicStopTheWalk) {
  Reference r;
  r.m.build();  // lists first: the synthetic builder walks the arena list itself
  r.m.edit<mems_arena>(r.arena, [&](mems_arena& a) { a.next = r.arena; });
  r.m.edit<mems_node>(r.n1, [](mems_node& n) { n.magic = 0xdeadbeef; });
  auto t = r.m.target();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "arena-cycle", r.arena)) << dump(h);
  EXPECT_TRUE(has_kind(h, "bad-magic", r.n1)) << dump(h);
  EXPECT_EQ(h.nodes.size(), 1u);
}

TEST(MemsModel, ChainIntoUnmappedMemory) {
  Reference r;
  r.m.edit<mems_node>(r.n0, [](mems_node& n) { n.next = 0x10; });
  auto t = r.m.build();
  auto h = build(*t);
  EXPECT_TRUE(has_kind(h, "unreadable", 0x10)) << dump(h);
}

TEST(MemsModel, NoRootIsOneClearError) {
  BufferTarget t;
  t.add_region(Address(0x1000), std::vector<std::byte>(0x1000), kPermRead | kPermWrite, "/bin/x");
  try {
    build(t);
    FAIL() << "built a mems model without a root";
  } catch (const UserError& e) {
    EXPECT_EQ(e.message, "no mems allocator in the target (symbol mems_root not found)");
  }
}

TEST(MemsModel, OtherLayoutVersionIsRefused) {
  SyntheticMems m;
  m.root.layout_version = 7;
  auto t = m.build();
  try {
    build(*t);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(e.message.find("layout version 7"), std::string::npos) << e.message;
  }
}

TEST(MemsModel, BusyAndUninitializedGiveNotes) {
  {
    Reference r;
    r.m.root.busy = 1;
    auto t = r.m.build();
    auto h = build(*t);
    ASSERT_EQ(h.notes.size(), 1u);
    EXPECT_NE(h.notes[0].find("busy"), std::string::npos);
  }
  {
    SyntheticMems m;
    m.root.initialized = 0;
    m.root.meta_head = 0;
    m.root.meta_pages = 0;
    auto t = m.target();
    auto h = build(*t);
    EXPECT_TRUE(h.nodes.empty());
    EXPECT_TRUE(h.findings.empty()) << dump(h);
    ASSERT_EQ(h.notes.size(), 1u);
    EXPECT_NE(h.notes[0].find("not initialized"), std::string::npos);
  }
}

// A resolver that knows only mems_root.
class OneSymbol : public SymbolResolver {
 public:
  explicit OneSymbol(Address a) : a_(a) {}
  std::optional<Address> find(std::string_view, std::string_view name) const override {
    return name == "mems_root" ? std::optional<Address>(a_) : std::nullopt;
  }
  std::optional<SymbolAt> at(Address) const override { return std::nullopt; }
  bool has_full_symbols(std::string_view) const override { return true; }

 private:
  Address a_;
};

TEST(MemsModel, RootBySymbolAndBySymbolPointingAtGarbage) {
  Reference r;
  auto t = r.m.build();
  OneSymbol good{Address(SyntheticMems::kRoot)};
  auto h = mems::SegmentHeap::build(*t, good);
  EXPECT_TRUE(h.root.found_by_symbol);
  EXPECT_TRUE(h.notes.empty());
  OneSymbol bad{Address(SyntheticMems::kData + 0x800)};
  auto h2 = mems::SegmentHeap::build(*t, bad);
  EXPECT_FALSE(h2.root.found_by_symbol);
  EXPECT_EQ(h2.root.address.value, SyntheticMems::kRoot);
  ASSERT_EQ(h2.notes.size(), 1u);
}

// Corruption is input: random bytes written over descriptors, pool headers
// and free lists give findings (or a one-line UserError), never a crash or a
// hang, and the command output stays one JSON line.
TEST(MemsModel, RandomCorruptionNeverCrashes) {
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t with_findings = 0;
  for (int round = 0; round < 300; ++round) {
    Reference r;
    r.m.build();
    std::vector<uint64_t> spots = {r.n0, r.n1, r.s_a, r.s_b, r.s_c, r.arena, r.p1, r.p31, r.p6,
                                   r.m.get<mems_pool_header>(r.p1).freelist};
    for (int k = 0; k < 3; ++k) {
      uint64_t at = spots[next() % spots.size()] + (next() % 12) * 8;
      uint64_t value = next();
      switch (next() % 4) {
        case 0: value = 0; break;
        case 1: value = spots[next() % spots.size()]; break;  // a plausible pointer
        case 2: value &= 0xff; break;
        default: break;
      }
      r.m.put(at, value);
    }
    auto t = r.m.target();
    try {
      auto h = build(*t);
      with_findings += !h.findings.empty();
      for (const auto& f : h.findings) {
        EXPECT_FALSE(f.kind.empty());
        EXPECT_EQ(f.detail.find('\n'), std::string::npos);
      }
      (void)mems::segment_stats(h);
      (void)mems::pool_stats(h);
    } catch (const UserError& e) {
      EXPECT_EQ(e.message.find('\n'), std::string::npos);
    }
  }
  // The corruption was seen, not silently accepted, in most rounds.
  EXPECT_GT(with_findings, 200u);
}

// ---- commands on the synthetic heap ---------------------------------------

CommandOutput run(Session& s, const std::string& line) {
  return run_command_line(s, "mems", line, CancelToken());
}

TEST(MemsCommands, StatsJsonHasTheStructFields) {
  Reference r;
  Session s(r.m.build());
  auto out = run(s, "stats --json");
  ASSERT_EQ(out.status, 0) << out.error;
  auto j = json::parse(out.out);
  EXPECT_EQ(j["nodes"], 3);
  EXPECT_EQ(j["hole_bytes"], 8192 - 416);
  EXPECT_EQ(j["pool"]["pools"], 2);
  EXPECT_EQ(out.out.find('\n'), out.out.size() - 1);
  auto text = run(s, "stats");
  EXPECT_NE(text.out.find("process_segments  4"), std::string::npos) << text.out;
}

TEST(MemsCommands, ChainGetMapPoolsCheck) {
  Reference r;
  Session s(r.m.build());
  auto chain = json::parse(run(s, "chain --json").out);
  ASSERT_EQ(chain["nodes"].size(), 3u);
  EXPECT_EQ(chain["nodes"][0]["segments"].size(), 3u);
  EXPECT_EQ(chain["nodes"][0]["segments"][1]["type"], "PROCESS");
  EXPECT_EQ(chain["nodes"][0]["segments"][1]["sequence"], 2);
  EXPECT_TRUE(chain["nodes"][0]["segments"][1]["site"].is_null());  // no symbols
  auto one = json::parse(run(s, "chain --node 1 --json").out);
  ASSERT_EQ(one["nodes"].size(), 1u);
  EXPECT_EQ(one["nodes"][0]["index"], 1);
  auto bad_node = run(s, "chain --node 3");
  EXPECT_EQ(bad_node.status, 2);
  EXPECT_EQ(bad_node.error, "no node 3 (the main chain has 3 nodes: 0..2)");

  auto get = json::parse(run(s, "get 0x3f0 --json").out);
  EXPECT_EQ(get["virtual"], "0x3f0");
  EXPECT_EQ(get["node"], 0);
  EXPECT_EQ(get["segment"], 0);
  EXPECT_EQ(get["type"], "PROCESS");
  EXPECT_EQ(get["physical"], to_hex(SyntheticMems::kMaps + 8));
  auto hole = run(s, "get 0x800");
  EXPECT_EQ(hole.status, 2);
  EXPECT_NE(hole.error.find("HOLE"), std::string::npos);
  EXPECT_EQ(hole.error.find('\n'), std::string::npos);

  auto map = json::parse(run(s, "map --json").out);
  EXPECT_EQ(map["rows"].size(), 3u + 5u);  // 3 node rows + 5 segments

  auto pools = json::parse(run(s, "pools --json").out);
  EXPECT_EQ(pools["arenas"], 1);
  ASSERT_EQ(pools["classes"].size(), 2u);
  EXPECT_EQ(pools["classes"][0]["class"], 1);
  EXPECT_EQ(pools["classes"][0]["blocks_used"], 7);
  auto ptext = run(s, "pools").out;
  EXPECT_NE(ptext.find("Type: Arena, Count: 1"), std::string::npos) << ptext;
  EXPECT_NE(ptext.find("Type: Pool, Count: 2"), std::string::npos) << ptext;

  auto check = json::parse(run(s, "check --json").out);
  EXPECT_TRUE(check["findings"].empty());
  EXPECT_EQ(check["checked"]["nodes"], 3);
  EXPECT_EQ(check["checked"]["segments"], 5);
  EXPECT_EQ(check["checked"]["pools"], 3);
}

TEST(MemsCommands, CheckListsFindingsAndTextWarns) {
  Reference r;
  r.m.root.hole_bytes += 16;
  Session s(r.m.build());
  auto out = run(s, "check --json");
  ASSERT_EQ(out.status, 0);
  auto j = json::parse(out.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["kind"], "counter-mismatch");
  EXPECT_EQ(j["findings"][0]["address"], to_hex(SyntheticMems::kRoot + offsetof(struct mems_root, hole_bytes)));
  auto text = run(s, "stats").out;
  EXPECT_NE(text.find("warning: 1 anomaly"), std::string::npos) << text;
}

TEST(MemsCommands, TargetWithoutMems) {
  auto t = std::make_unique<BufferTarget>();
  t->add_region(Address(0x1000), std::vector<std::byte>(0x1000), kPermRead | kPermWrite, "/bin/x");
  Session s(std::move(t));
  for (const char* c : {"stats", "chain", "get 0x3e8", "map", "pools", "check --json"}) {
    auto out = run(s, c);
    EXPECT_EQ(out.status, 2) << c;
    EXPECT_EQ(out.error, "no mems allocator in the target (symbol mems_root not found)") << c;
  }
}

// ---- the real allocator, read back from this process's memory -------------

#ifdef HEAPSCOPE_HAVE_MEMS

// A copy of every readable, writable mapping of this process (the root in
// our .data, mems metadata and nodes in anonymous mappings), made through
// /proc/self/mem so that guard pages cannot fault.
std::unique_ptr<BufferTarget> snapshot_self() {
  auto t = std::make_unique<BufferTarget>();
  std::ifstream maps("/proc/self/maps");
  int mem = open("/proc/self/mem", O_RDONLY);
  std::string line;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> want;
  while (std::getline(maps, line)) {
    std::istringstream ls(line);
    std::string range, perms, off, dev, inode, path;
    ls >> range >> perms >> off >> dev >> inode;
    std::getline(ls >> std::ws, path);
    if (perms.size() < 2 || perms[0] != 'r' || perms[1] != 'w' || path == "[vvar]") continue;
    auto dash = range.find('-');
    uint64_t b = std::stoull(range.substr(0, dash), nullptr, 16), e = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (e - b > (256ull << 20)) continue;
    want.emplace_back(b, e, path);
  }
  for (auto& [b, e, path] : want) {
    std::vector<std::byte> bytes(e - b);
    ssize_t n = pread(mem, bytes.data(), bytes.size(), static_cast<off_t>(b));
    if (n != static_cast<ssize_t>(bytes.size())) continue;
    t->add_region(Address(b), std::move(bytes), kPermRead | kPermWrite, path);
  }
  close(mem);
  return t;
}

TEST(MemsRealLibrary, StatsChainAndGetMatchTheLibrary) {
  ASSERT_EQ(mems_init(), 0);
  std::vector<void*> v;
  for (size_t size : {100, 2000, 5000, 300, 64, 12000, 40, 7000}) v.push_back(mems_malloc(size));
  for (void* p : v) ASSERT_NE(p, nullptr);
  ASSERT_EQ(mems_free(v[1]), 0);
  ASSERT_EQ(mems_free(v[4]), 0);
  std::vector<void*> blocks;
  for (int i = 0; i < 300; ++i) blocks.push_back(mems_pool_alloc(static_cast<size_t>(1 + (i * 37) % 512)));
  for (size_t i = 0; i < blocks.size(); i += 3) ASSERT_EQ(mems_pool_free(blocks[i]), 0);
  mems_stats st{};
  mems_pool_stats ps{};
  ASSERT_EQ(mems_get_stats(&st), 0);
  ASSERT_EQ(mems_pool_get_stats(&ps), 0);
  std::vector<std::pair<uint64_t, uint64_t>> gets;
  for (size_t i : {0, 2, 3, 5, 6, 7})
    gets.push_back({reinterpret_cast<uint64_t>(v[i]) + 3, reinterpret_cast<uint64_t>(mems_get(static_cast<char*>(v[i]) + 3))});
  char err[256];
  ASSERT_EQ(mems_check_invariants(err, sizeof err), 0) << err;

  Session s(snapshot_self());
  auto out = run(s, "stats --json");
  ASSERT_EQ(out.status, 0) << out.error;
  auto j = json::parse(out.out);
  EXPECT_EQ(j["pages"], st.pages);
  EXPECT_EQ(j["nodes"], st.nodes);
  EXPECT_EQ(j["segments"], st.segments);
  EXPECT_EQ(j["process_segments"], st.process_segments);
  EXPECT_EQ(j["process_bytes"], st.process_bytes);
  EXPECT_EQ(j["hole_segments"], st.hole_segments);
  EXPECT_EQ(j["hole_bytes"], st.hole_bytes);
  EXPECT_EQ(j["pool"]["arenas"], ps.arenas);
  EXPECT_EQ(j["pool"]["pools"], ps.pools);
  EXPECT_EQ(j["pool"]["blocks_used"], ps.blocks_used);
  EXPECT_EQ(j["pool"]["blocks_free"], ps.blocks_free);
  EXPECT_EQ(j["pool"]["bytes_used"], ps.bytes_used);
  EXPECT_EQ(s.mems_heap().root.address.value, reinterpret_cast<uint64_t>(&mems_root));
  for (auto [virt, phys] : gets) {
    auto g = run(s, "get " + to_hex(virt) + " --json");
    ASSERT_EQ(g.status, 0) << g.error;
    EXPECT_EQ(json::parse(g.out)["physical"], to_hex(phys));
  }
  auto check = json::parse(run(s, "check --json").out);
  EXPECT_TRUE(check["findings"].empty()) << check.dump();
  EXPECT_EQ(check["checked"]["nodes"], st.nodes);
  EXPECT_EQ(mems_finish(), 0);
}

// Layout version 2 on the real library: a thread cache holding freed blocks
// and a class's kept empty pool read back exactly; corrupting either is found.
TEST(MemsRealLibrary, ThreadCacheAndKeptPoolMatchTheLibrary) {
  ASSERT_EQ(mems_init(), 0);
  std::vector<void*> v;
  for (int i = 0; i < 40; ++i) v.push_back(mems_pool_alloc(64));      // class 3
  for (int i = 0; i < 7; ++i) v.push_back(mems_pool_alloc(512));      // class 31: one full pool
  for (int i = 0; i < 25; ++i) ASSERT_EQ(mems_pool_free(v[i]), 0);    // some cached, some back in the pool
  for (int i = 40; i < 47; ++i) ASSERT_EQ(mems_pool_free(v[i]), 0);
  ASSERT_EQ(mems_pool_flush(), 0);  // the class-31 pool empties and is kept
  for (int i = 25; i < 35; ++i) ASSERT_EQ(mems_pool_free(v[i]), 0);   // cached again
  mems_pool_stats ps{};
  ASSERT_EQ(mems_pool_get_stats(&ps), 0);
  char err[256];
  ASSERT_EQ(mems_check_invariants(err, sizeof err), 0) << err;
  ASSERT_EQ(mems_root.tcaches, 1u);
  const auto* tc = reinterpret_cast<const mems_tcache*>(static_cast<uintptr_t>(mems_root.tcache_head));
  ASSERT_GT(tc->blocks, 0u);
  ASSERT_NE(mems_root.kept_pools & (1ull << 31), 0u);

  {
    Session s(snapshot_self());
    const auto& h = s.mems_heap();
    EXPECT_TRUE(h.findings.empty()) << dump(h);
    ASSERT_EQ(h.tcaches.size(), 1u);
    EXPECT_EQ(h.tcaches[0].blocks, tc->blocks);
    EXPECT_EQ(h.tcaches[0].classes[3].size(), tc->count[3]);
    size_t cached = 0;
    for (const auto& a : h.arenas)
      for (const auto& p : a.pools) cached += p.cached_blocks.size();
    EXPECT_EQ(cached, tc->blocks);
    auto p = mems::pool_stats(h);
    EXPECT_EQ(p.pools, ps.pools);
    EXPECT_EQ(p.blocks_used, ps.blocks_used);
    EXPECT_EQ(p.blocks_free, ps.blocks_free);
    EXPECT_EQ(p.bytes_used, ps.bytes_used);
    auto r = mems::root_pool_counters(h.root);
    EXPECT_EQ(r.blocks_used, ps.blocks_used);
    EXPECT_EQ(r.bytes_used, ps.bytes_used);
    auto j = json::parse(run(s, "pools --json").out);
    EXPECT_EQ(j["blocks_used"], ps.blocks_used);
    EXPECT_EQ(j["blocks_free"], ps.blocks_free);
  }
  // a block cached twice, and a kept-pool bit that lies
  auto* mtc = const_cast<mems_tcache*>(tc);
  const uint32_t n = mtc->count[3];
  ASSERT_GE(n, 2u);
  const uint64_t saved = mtc->slots[3][n - 1];
  mtc->slots[3][n - 1] = mtc->slots[3][n - 2];
  {
    Session s(snapshot_self());
    EXPECT_TRUE(has_kind(s.mems_heap(), "tcache-duplicate", mtc->slots[3][n - 2])) << dump(s.mems_heap());
  }
  mtc->slots[3][n - 1] = saved;
  mems_root.kept_pools &= ~(1ull << 31);
  {
    Session s(snapshot_self());
    EXPECT_TRUE(has_kind(s.mems_heap(), "counter-mismatch",
                         reinterpret_cast<uint64_t>(&mems_root) + offsetof(struct mems_root, kept_pools)))
        << dump(s.mems_heap());
  }
  mems_root.kept_pools |= 1ull << 31;
  ASSERT_EQ(mems_check_invariants(err, sizeof err), 0) << err;
  EXPECT_EQ(mems_finish(), 0);
}

#endif

}  // namespace
}  // namespace heapscope
