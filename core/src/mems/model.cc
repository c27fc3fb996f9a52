// mems::SegmentHeap laid out as Blocks. Each node's segments tile its mapping; an
// arena's segment is cut into its pools. A walk of a corrupt heap can give
// ranges that overlap or leave the mapping: the first one stays, the others
// become findings, so the blocks still tile without overlap.
#include "heapscope/mems/model.h"

#include <algorithm>
#include <fmt/format.h>

#include "builder.h"
#include "model/tiling.h"
#include "mems_layout.h"

namespace heapscope::mems {

namespace {

enum Kind : uint8_t {
  kProcess, kHole, kInvalid, kPoolHeader, kBlockInUse, kBlockFree, kBlockCached, kPoolTail, kUncarved,
  kArenaSlack, kMetaPage,
};
constexpr size_t kMaxFindings = 10000;

constexpr BlockKind kKinds[] = {
    {"PROCESS", BlockState::kInUse},
    {"HOLE", BlockState::kFree},
    {"INVALID", BlockState::kUnknown},          // a segment whose type the walk did not know
    {"pool header", BlockState::kMetadata},
    {"block", BlockState::kInUse},
    {"free block", BlockState::kFree},
    {"cached block", BlockState::kCached},      // in a thread's block cache
    {"pool tail", BlockState::kMetadata},       // a pool's bytes after its last block
    {"uncarved pool", BlockState::kFree},       // arena space no pool was cut from yet
    {"arena slack", BlockState::kMetadata},     // an arena segment's bytes outside its pools
    {"metadata page", BlockState::kMetadata},   // the allocators' descriptor pages
};
static_assert(std::size(kKinds) <= kMaxBlockKinds);

class Layout {
 public:
  explicit Layout(Model& m) : m_(m) {}

  void run() {
    const SegmentHeap& h = m_.walk;
    m_.findings = h.findings;
    for (size_t n = 0; n < h.nodes.size(); ++n) {
      const Node& node = h.nodes[n];
      m_.owners.push_back({fmt::format("node {}", n), node.address, node.length});
      for (const Segment& s : node.segments) {
        const PoolArena* arena = s.is_arena() ? arena_of(s) : nullptr;
        if (arena) lay_arena(s, *arena, int(n));
        else add(s.pstart, s.size, int(n), s.type == SegmentType::kProcess ? kProcess
                                             : s.type == SegmentType::kHole ? kHole : kInvalid);
      }
    }
    for (const AddressRange& r : h.meta_ranges) add(r.begin, r.size(), kNoOwner, kMetaPage);
    finish();
  }

 private:
  const PoolArena* arena_of(const Segment& s) const {
    for (const PoolArena& a : m_.walk.arenas)
      if (a.address == s.arena) return &a;
    return nullptr;
  }

  void add(Address at, uint64_t size, int owner, Kind kind) {
    if (size == 0) return;
    if (size > kMaxBlockSize || at.value + size < at.value) {
      m_.findings.push_back({"bad-range", at, owner, fmt::format("{} bytes: not a range a block can hold", size)});
      return;
    }
    m_.blocks.emplace_back(at, size, owner, uint8_t(kind), 0);
  }

  // [seg.pstart, arena.pstart) and past the last pool: slack; every pool
  // slot of the arena: a carved pool (header, blocks, tail) or uncarved.
  void lay_arena(const Segment& s, const PoolArena& a, int owner) {
    const Address seg_end = s.pstart + s.size;
    Address at = s.pstart;
    if (a.pstart > at && a.pstart < seg_end) add(at, a.pstart - at, owner, kArenaSlack), at = a.pstart;
    size_t next_pool = 0;
    for (uint32_t i = 0; i < a.pool_count && at + MEMS_POOL_SIZE <= seg_end; ++i) {
      const Address p = a.pstart + uint64_t{i} * MEMS_POOL_SIZE;
      if (p != at) break;  // the arena does not start where its segment says: the rest is slack
      while (next_pool < a.pools.size() && a.pools[next_pool].address < p) ++next_pool;
      if (next_pool < a.pools.size() && a.pools[next_pool].address == p) lay_pool(a.pools[next_pool], owner);
      else add(p, MEMS_POOL_SIZE, owner, kUncarved);
      at = p + MEMS_POOL_SIZE;
    }
    add(at, seg_end - at, owner, kArenaSlack);
  }

  void lay_pool(const Pool& pool, int owner) {
    const Address end = pool.address + MEMS_POOL_SIZE;
    add(pool.address, MEMS_POOL_HEADER_SIZE, owner, kPoolHeader);
    Address at = pool.address + MEMS_POOL_HEADER_SIZE;
    const bool sane = pool.block_size > 0 && pool.state != PoolState::kInvalid &&
                      uint64_t{pool.capacity} * pool.block_size <= MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE;
    if (sane && pool.state != PoolState::kEmpty) {
      std::vector<Address> cached = pool.cached_blocks;
      std::sort(cached.begin(), cached.end());
      for (uint32_t k = 0; k < pool.capacity; ++k, at = at + pool.block_size) {
        Kind kind = kBlockFree;
        if (pool.block_in_use(k))
          kind = std::binary_search(cached.begin(), cached.end(), at) ? kBlockCached : kBlockInUse;
        add(at, pool.block_size, owner, kind);
      }
    } else if (pool.state == PoolState::kEmpty) {
      add(at, end - at, owner, kUncarved);
      return;
    }
    add(at, end - at, owner, kPoolTail);
  }

  void finish() { sort_and_tile(m_, kMaxFindings); }

  Model& m_;
};

}  // namespace

std::unique_ptr<Model> make_model(SegmentHeap walk) {
  auto m = std::make_unique<Model>();
  m->allocator = "mems";
  m->version = fmt::format("layout {}", walk.root.layout_version);
  m->kinds = kKinds;
  m->walk = std::move(walk);
  Layout(*m).run();
  m->build_index();
  return m;
}

std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  auto walk = build_if_present(target, symbols, cancel);
  if (!walk) return nullptr;
  return make_model(std::move(*walk));
}

}  // namespace heapscope::mems
