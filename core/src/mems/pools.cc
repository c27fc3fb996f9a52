// The pool allocator: arenas, their carved pools (header, in-use bitmap, free
// list), the per-class lists of USED pools, the usable-arena list and the
// pool map, checked as mems_check_invariants does (mems/src/check.c). Layout
// version 2: a class may keep one USED pool with no block in use (its bit in
// mems_root.kept_pools), and the thread caches hold blocks that are in use for
// their pools but free for the program.
#include <algorithm>
#include <bit>
#include <iterator>
#include <unordered_set>

#include "mems/builder.h"

namespace heapscope::mems {
namespace {

constexpr uint32_t kMaxBlocks = MEMS_POOL_BITMAP_WORDS * 64;

bool bit_set(const mems_pool_header& h, uint32_t k) {
  return k < kMaxBlocks && ((h.in_use[k / 64] >> (k % 64)) & 1);
}

PoolState state_of(uint32_t s) {
  switch (s) {
    case MEMS_POOL_STATE_EMPTY: return PoolState::kEmpty;
    case MEMS_POOL_STATE_USED: return PoolState::kUsed;
    case MEMS_POOL_STATE_FULL: return PoolState::kFull;
    default: return PoolState::kInvalid;
  }
}

}  // namespace

void Builder::walk_arenas() {
  Walk w(limit_for(raw.arenas));
  Address prev;
  for (Address a = Address(raw.arena_head); !a.is_null();) {
    check_cancel(cancel);
    auto step = w.visit(a);
    if (step != Walk::Step::kOk) {
      finding(step == Walk::Step::kCycle ? "arena-cycle" : "walk-limit", a,
              step == Walk::Step::kCycle
                  ? fmt::format("arena list: {} is reached a second time (cycle)", to_hex(a))
                  : fmt::format("arena list: walk stopped after {} arenas", w.steps() - 1));
      break;
    }
    auto ra = read<mems_arena>(a);
    if (!ra) {
      finding("unreadable", a, fmt::format("arena {}: not in the target's memory", to_hex(a)));
      break;
    }
    if (ra->magic != MEMS_ARENA_MAGIC) {
      finding("bad-magic", a, fmt::format("arena {}: magic {:#x} is not AREN", to_hex(a), ra->magic));
      break;
    }
    if (ra->prev != prev.value)
      finding("broken-back-link", a + offsetof(mems_arena, prev),
              fmt::format("arena {}: prev is {}, expected {}", to_hex(a), to_hex(ra->prev), to_hex(prev)));
    auto where = segment_index.find(ra->segment);
    const Segment* seg = nullptr;
    if (where != segment_index.end())
      seg = &heap.nodes[where->second.first].segments[where->second.second];
    if (!seg || seg->type != SegmentType::kProcess || !seg->is_arena() || seg->arena != a)
      finding("arena-link", a + offsetof(mems_arena, segment),
              fmt::format("arena {}: its segment {} is not an arena PROCESS segment of the main chain "
                          "pointing back",
                          to_hex(a), to_hex(ra->segment)));
    else if (seg->pstart.value != ra->pstart || seg->vstart != ra->vstart || seg->size != ra->size)
      finding("arena-geometry", a,
              fmt::format("arena {}: range does not match its segment {}", to_hex(a), to_hex(seg->address)));
    if (ra->size != MEMS_ARENA_SIZE || ra->pool_count != MEMS_POOLS_PER_ARENA)
      finding("arena-geometry", a,
              fmt::format("arena {}: size {} with {} pools, expected {} with {}", to_hex(a), ra->size,
                          ra->pool_count, MEMS_ARENA_SIZE, MEMS_POOLS_PER_ARENA));
    if (ra->pstart % MEMS_POOL_SIZE != 0)
      finding("misaligned-arena", a + offsetof(mems_arena, pstart),
              fmt::format("arena {}: start {} is not pool aligned", to_hex(a), to_hex(ra->pstart)));
    uint32_t carved = ra->pools_carved;
    if (carved > ra->pool_count || carved > MEMS_POOLS_PER_ARENA) {
      finding("bad-pools-carved", a + offsetof(mems_arena, pools_carved),
              fmt::format("arena {}: {} pools carved of {}", to_hex(a), carved, ra->pool_count));
      carved = std::min<uint32_t>(ra->pool_count, MEMS_POOLS_PER_ARENA);
    }
    const size_t index = heap.arenas.size();
    PoolArena arena;
    arena.address = a;
    arena.segment = Address(ra->segment);
    arena.vstart = ra->vstart;
    arena.pstart = Address(ra->pstart);
    arena.size = ra->size;
    arena.pool_count = ra->pool_count;
    arena.pools_carved = ra->pools_carved;
    arena.pools_free = ra->pools_free;
    if (ra->pstart % MEMS_POOL_SIZE == 0)
      for (uint32_t i = 0; i < carved; ++i) read_pool(arena, index, i);

    // The arena's EMPTY pools and its free_pools list must agree.
    uint32_t empty = 0;
    for (const auto& p : arena.pools) empty += p.state == PoolState::kEmpty;
    Walk fw(carved + 1);
    uint32_t listed = 0;
    for (Address p = Address(ra->free_pools); !p.is_null();) {
      if (fw.visit(p) != Walk::Step::kOk) {
        finding("free-pools-cycle", p, fmt::format("arena {}: free pool list too long or cyclic", to_hex(a)));
        break;
      }
      auto rp = raw_pools.find(p.value);
      if (rp == raw_pools.end() || rp->second.arena != a.value || rp->second.state != MEMS_POOL_STATE_EMPTY) {
        finding("bad-free-pool", p,
                fmt::format("arena {}: free pool list holds {}, which is not an EMPTY pool of this arena",
                            to_hex(a), to_hex(p)));
        break;
      }
      ++listed;
      p = Address(rp->second.next);
    }
    if (listed != empty)
      finding("free-pools-mismatch", a + offsetof(mems_arena, free_pools),
              fmt::format("arena {}: {} EMPTY pools but {} on its free pool list", to_hex(a), empty, listed));
    if (ra->pools_free != empty + (ra->pool_count - std::min(ra->pool_count, ra->pools_carved)))
      finding("counter-mismatch", a + offsetof(mems_arena, pools_free),
              fmt::format("arena {}: pools_free is {}, expected {} EMPTY + {} uncarved", to_hex(a),
                          ra->pools_free, empty, ra->pool_count - std::min(ra->pool_count, ra->pools_carved)));
    arena_index[a.value] = index;
    raw_arenas.push_back(*ra);
    heap.arenas.push_back(std::move(arena));
    prev = a;
    a = Address(ra->next);
  }
}

void Builder::read_pool(PoolArena& arena, size_t index, uint32_t i) {
  Address p = arena.pstart + uint64_t{i} * MEMS_POOL_SIZE;
  auto h = read<mems_pool_header>(p);
  if (!h) {
    finding("unreadable", p, fmt::format("pool {}: header not in the target's memory", to_hex(p)));
    return;
  }
  if (h->magic != MEMS_POOL_MAGIC) {
    finding("bad-magic", p, fmt::format("pool {}: magic {:#x} is not POOL", to_hex(p), h->magic));
    return;
  }
  if (h->arena != arena.address.value || h->index != i)
    finding("bad-pool-header", p,
            fmt::format("pool {}: arena {} index {}, expected {} index {}", to_hex(p), to_hex(h->arena),
                        h->index, to_hex(arena.address), i));
  Pool pool;
  pool.address = p;
  pool.arena = index;
  pool.index = i;
  pool.state = state_of(h->state);
  pool.class_index = h->class_index;
  pool.block_size = h->block_size;
  pool.used = h->used;
  pool.capacity = h->capacity;
  pool.next_offset = h->next_offset;
  std::copy(std::begin(h->in_use), std::end(h->in_use), pool.in_use.begin());
  for (uint64_t word : h->in_use) pool.bitmap_used += static_cast<uint32_t>(std::popcount(word));
  raw_pools[p.value] = *h;
  pool_index[p.value] = {index, arena.pools.size()};

  auto push = [&] { arena.pools.push_back(std::move(pool)); };
  if (pool.state == PoolState::kEmpty) return push();
  if (pool.state == PoolState::kInvalid) {
    finding("bad-pool-state", p + offsetof(mems_pool_header, state),
            fmt::format("pool {}: state {} is not EMPTY, USED or FULL", to_hex(p), h->state));
    return push();
  }
  if (h->class_index >= MEMS_POOL_CLASS_COUNT) {
    finding("bad-pool-class", p + offsetof(mems_pool_header, class_index),
            fmt::format("pool {}: class {} out of range", to_hex(p), h->class_index));
    pool.state = PoolState::kInvalid;
    return push();
  }
  const uint32_t bs = MEMS_POOL_CLASS_STEP * (h->class_index + 1);
  const uint32_t cap = (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / bs;
  if (h->block_size != bs || h->capacity != cap)
    finding("bad-pool-geometry", p + offsetof(mems_pool_header, block_size),
            fmt::format("pool {}: block size {} capacity {}, class {} has {} and {}", to_hex(p), h->block_size,
                        h->capacity, h->class_index, bs, cap));
  pool.block_size = bs;
  pool.capacity = cap;
  uint32_t touched = 0;
  if (h->next_offset < MEMS_POOL_HEADER_SIZE || (h->next_offset - MEMS_POOL_HEADER_SIZE) % bs != 0 ||
      (h->next_offset - MEMS_POOL_HEADER_SIZE) / bs > cap) {
    finding("bad-next-offset", p + offsetof(mems_pool_header, next_offset),
            fmt::format("pool {}: next_offset {} is not a block boundary", to_hex(p), h->next_offset));
    touched = cap;
  } else {
    touched = (h->next_offset - MEMS_POOL_HEADER_SIZE) / bs;
  }
  const uint64_t touched_end = p.value + MEMS_POOL_HEADER_SIZE + uint64_t{touched} * bs;
  if (pool.bitmap_used != h->used)
    finding("bitmap-mismatch", p + offsetof(mems_pool_header, used),
            fmt::format("pool {}: used {}, but {} bits are set in its bitmap", to_hex(p), h->used,
                        pool.bitmap_used));
  // A USED pool with no block in use is its class's kept pool (at most one per
  // class, checked with the class lists); a FULL one fails the check below.
  for (uint32_t k = touched; k < kMaxBlocks; ++k)
    if (bit_set(*h, k)) {
      finding("bitmap-mismatch", p + offsetof(mems_pool_header, in_use),
              fmt::format("pool {}: block {} is marked in use but was never handed out", to_hex(p), k));
      break;
    }
  Walk fw(touched + 1);
  bool complete = true;
  for (Address b = Address(h->freelist); !b.is_null();) {
    check_cancel(cancel);
    if (fw.visit(b) != Walk::Step::kOk) {
      finding("free-list-cycle", b, fmt::format("pool {}: free list too long or cyclic", to_hex(p)));
      complete = false;
      break;
    }
    if (b.value < p.value + MEMS_POOL_HEADER_SIZE || b.value >= touched_end ||
        (b.value - p.value - MEMS_POOL_HEADER_SIZE) % bs != 0) {
      finding("free-list-stray", b,
              fmt::format("pool {}: free list entry {} is not a handed-out block of this pool (class {}, "
                          "block size {})",
                          to_hex(p), to_hex(b), h->class_index, bs));
      complete = false;
      break;
    }
    uint32_t k = static_cast<uint32_t>((b.value - p.value - MEMS_POOL_HEADER_SIZE) / bs);
    if (bit_set(*h, k))
      finding("free-and-used", b,
              fmt::format("pool {}: block {} is on the free list and marked in use", to_hex(p), to_hex(b)));
    pool.free_blocks.push_back(b);
    auto next = target.read_u64(b);
    if (!next) {
      finding("unreadable", b, fmt::format("pool {}: free block {} cannot be read", to_hex(p), to_hex(b)));
      complete = false;
      break;
    }
    b = Address(*next);
  }
  if (complete && pool.free_blocks.size() + h->used != touched)
    finding("free-count-mismatch", p,
            fmt::format("pool {}: {} free + {} used != {} blocks handed out so far", to_hex(p),
                        pool.free_blocks.size(), h->used, touched));
  if ((pool.state == PoolState::kFull) != (h->used == cap))
    finding("bad-pool-state", p + offsetof(mems_pool_header, state),
            fmt::format("pool {}: state {} with {} of {} blocks used", to_hex(p), pool_state_name(pool.state),
                        h->used, cap));
  push();
}

void Builder::walk_class_lists() {
  uint64_t carved = 0;
  for (const auto& a : heap.arenas) carved += a.pools.size();
  std::unordered_set<uint64_t> listed;
  for (uint32_t cls = 0; cls < MEMS_POOL_CLASS_COUNT; ++cls) {
    Walk w(carved + 1);
    Address prev;
    uint32_t kept = 0;  // USED pools of the class with no block in use
    for (Address p = Address(raw.classes[cls]); !p.is_null();) {
      check_cancel(cancel);
      if (w.visit(p) != Walk::Step::kOk) {
        finding("class-list-cycle", p, fmt::format("class {} list: too long or cyclic", cls));
        break;
      }
      auto rp = raw_pools.find(p.value);
      if (rp == raw_pools.end()) {
        finding("class-list-stray", p, fmt::format("class {} list: {} is not a carved pool", cls, to_hex(p)));
        break;
      }
      const mems_pool_header& h = rp->second;
      if (h.class_index != cls || h.state != MEMS_POOL_STATE_USED)
        finding("class-list-wrong-pool", p,
                fmt::format("class {} list: pool {} is of class {} in state {}", cls, to_hex(p), h.class_index,
                            pool_state_name(state_of(h.state))));
      if (h.prev != prev.value)
        finding("broken-back-link", p + offsetof(mems_pool_header, prev),
                fmt::format("class {} list: pool {} prev is {}, expected {}", cls, to_hex(p), to_hex(h.prev),
                            to_hex(prev)));
      if (h.used == 0 && h.state == MEMS_POOL_STATE_USED && ++kept == 2)
        finding("bad-pool-state", p + offsetof(mems_pool_header, used),
                fmt::format("class {} list: pool {} is a second pool with no block in use (a class keeps "
                            "at most one)",
                            cls, to_hex(p)));
      listed.insert(p.value);
      prev = p;
      p = Address(h.next);
    }
    const bool kept_bit = (raw.kept_pools >> cls) & 1;
    if (kept_bit != (kept > 0))
      finding("counter-mismatch", root_field(offsetof(mems_root, kept_pools)),
              fmt::format("root: kept_pools bit {} is {}, but class {} keeps {} pool{} with no block in use",
                          cls, kept_bit ? 1 : 0, cls, kept, kept == 1 ? "" : "s"));
  }
  if (raw.kept_pools >> MEMS_POOL_CLASS_COUNT)
    finding("counter-mismatch", root_field(offsetof(mems_root, kept_pools)),
            fmt::format("root: kept_pools {:#x} has bits beyond the {} classes", raw.kept_pools,
                        MEMS_POOL_CLASS_COUNT));
  for (const auto& a : heap.arenas)
    for (const auto& pool : a.pools)
      if (pool.state == PoolState::kUsed && !listed.count(pool.address.value))
        finding("pool-not-listed", pool.address,
                fmt::format("pool {}: USED (class {}) but not on its class list", to_hex(pool.address),
                            pool.class_index));

  // Arenas with a free pool are on the usable list, and only they.
  std::unordered_set<uint64_t> usable;
  Walk w(heap.arenas.size() + 1);
  Address prev;
  for (Address a = Address(raw.usable_arenas); !a.is_null();) {
    if (w.visit(a) != Walk::Step::kOk) {
      finding("usable-list-cycle", a, "usable arena list: too long or cyclic");
      break;
    }
    auto it = arena_index.find(a.value);
    if (it == arena_index.end()) {
      finding("usable-list-stray", a, fmt::format("usable arena list: {} is not on the arena list", to_hex(a)));
      break;
    }
    const mems_arena& ra = raw_arenas[it->second];
    if (ra.usable_prev != prev.value || ra.pools_free == 0)
      finding("usable-list-bad-entry", a,
              fmt::format("usable arena list: arena {} (usable_prev {}, {} free pools)", to_hex(a),
                          to_hex(ra.usable_prev), ra.pools_free));
    usable.insert(a.value);
    prev = a;
    a = Address(ra.usable_next);
  }
  for (size_t i = 0; i < heap.arenas.size(); ++i)
    if (raw_arenas[i].pools_free > 0 && !usable.count(heap.arenas[i].address.value))
      finding("usable-list-missing", heap.arenas[i].address,
              fmt::format("arena {}: has {} free pools but is not on the usable arena list",
                          to_hex(heap.arenas[i].address), raw_arenas[i].pools_free));
}

void Builder::check_pool_map() {
  uint64_t carved = 0;
  for (const auto& a : heap.arenas) carved += a.pools.size();
  Address at = root_field(offsetof(mems_root, pool_map_count));
  if (raw.pool_map_count != carved)
    finding("counter-mismatch", at,
            fmt::format("root: pool_map_count is {}, {} pools are carved", raw.pool_map_count, carved));
  uint64_t cap = raw.pool_map_capacity;
  if (cap == 0) {
    if (carved)
      finding("pool-map-missing", root_field(offsetof(mems_root, pool_map)),
              fmt::format("root: no pool map, yet {} pools are carved", carved));
    return;
  }
  if ((cap & (cap - 1)) != 0 || cap > (1ull << 24)) {
    finding("bad-pool-map", root_field(offsetof(mems_root, pool_map_capacity)),
            fmt::format("root: pool map capacity {} is not a power of two up to 2^24", cap));
    return;
  }
  std::vector<uint64_t> entries(cap);
  if (!target.read_exact(Address(raw.pool_map), entries.data(), cap * 8)) {
    finding("unreadable", Address(raw.pool_map),
            fmt::format("pool map {}: {} entries not in the target's memory", to_hex(raw.pool_map), cap));
    return;
  }
  std::unordered_set<uint64_t> in_map;
  for (uint64_t e : entries)
    if (e) in_map.insert(e);
  for (const auto& a : heap.arenas)
    for (const auto& pool : a.pools)
      if (!in_map.count(pool.address.value))
        finding("pool-map-missing", pool.address,
                fmt::format("pool {}: carved but missing from the pool map", to_hex(pool.address)));
  if (in_map.size() != raw.pool_map_count)
    finding("counter-mismatch", at,
            fmt::format("root: pool_map_count is {}, the map holds {} entries", raw.pool_map_count,
                        in_map.size()));
}

// Thread caches (layout version 2): the list, each cache's counters, and each
// cached block: the start of a block of a carved pool of the cache's class,
// in use for its pool, cached once. Valid blocks are attributed to their
// pool (Pool::cached_blocks), so the figures net of caches follow.
void Builder::walk_tcaches() {
  Walk w(raw.tcaches > 4096 ? 4097 : raw.tcaches + 64);
  Address prev;
  std::unordered_set<uint64_t> seen_blocks;
  uint64_t walked = 0;
  for (Address t = Address(raw.tcache_head); !t.is_null();) {
    check_cancel(cancel);
    auto step = w.visit(t);
    if (step != Walk::Step::kOk) {
      finding(step == Walk::Step::kCycle ? "tcache-cycle" : "walk-limit", t,
              step == Walk::Step::kCycle
                  ? fmt::format("thread cache list: {} is reached a second time (cycle)", to_hex(t))
                  : fmt::format("thread cache list: walk stopped after {} caches", w.steps() - 1));
      break;
    }
    auto rt = read<mems_tcache>(t);
    if (!rt) {
      finding("unreadable", t, fmt::format("thread cache {}: not in the target's memory", to_hex(t)));
      break;
    }
    if (rt->magic != MEMS_TCACHE_MAGIC) {
      finding("bad-magic", t, fmt::format("thread cache {}: magic {:#x} is not TCCH", to_hex(t), rt->magic));
      break;
    }
    ++walked;
    if (rt->prev != prev.value)
      finding("broken-back-link", t + offsetof(mems_tcache, prev),
              fmt::format("thread cache {}: prev is {}, expected {}", to_hex(t), to_hex(rt->prev), to_hex(prev)));
    ThreadCache tc;
    tc.address = t;
    tc.thread = rt->thread;
    tc.busy = rt->busy != 0;
    tc.blocks = rt->blocks;
    tc.bytes = rt->bytes;
    tc.classes.resize(MEMS_POOL_CLASS_COUNT);
    if (tc.busy)
      heap.notes.push_back(fmt::format("thread cache {} (thread {}) was being changed when the target stopped: "
                                       "expect inconsistencies in it",
                                       to_hex(t), rt->thread));
    heap.root.cached_blocks += rt->blocks;
    heap.root.cached_bytes += rt->bytes;
    uint64_t blocks = 0, bytes = 0;
    for (uint32_t cls = 0; cls < MEMS_POOL_CLASS_COUNT; ++cls) {
      uint32_t n = rt->count[cls];
      if (n > MEMS_TCACHE_SLOTS) {
        finding("tcache-bad-count", t + offsetof(mems_tcache, count) + 4 * cls,
                fmt::format("thread cache {}: class {} holds {} blocks, at most {} fit", to_hex(t), cls, n,
                            MEMS_TCACHE_SLOTS));
        n = MEMS_TCACHE_SLOTS;
      }
      const uint32_t bs = MEMS_POOL_CLASS_STEP * (cls + 1);
      for (uint32_t i = 0; i < n; ++i) {
        Address b(rt->slots[cls][i]);
        tc.classes[cls].push_back(b);
        ++blocks;
        bytes += bs;
        const uint64_t base = b.value & ~uint64_t{MEMS_POOL_SIZE - 1};
        auto where = pool_index.find(base);
        const mems_pool_header* h = nullptr;
        if (where != pool_index.end()) {
          auto rp = raw_pools.find(base);
          if (rp != raw_pools.end()) h = &rp->second;
        }
        const uint64_t off = b.value - base;
        const bool is_block = h && h->state != MEMS_POOL_STATE_EMPTY && h->class_index == cls &&
                              off >= MEMS_POOL_HEADER_SIZE && (off - MEMS_POOL_HEADER_SIZE) % bs == 0 &&
                              (off - MEMS_POOL_HEADER_SIZE) / bs < h->capacity;
        if (!is_block) {
          finding("tcache-stray", b,
                  fmt::format("thread cache {}: class {} entry {} is not a block of a class {} pool", to_hex(t),
                              cls, to_hex(b), cls));
          continue;
        }
        const uint32_t k = static_cast<uint32_t>((off - MEMS_POOL_HEADER_SIZE) / bs);
        if (!bit_set(*h, k)) {
          finding("tcache-not-in-use", b,
                  fmt::format("thread cache {}: block {} is cached but not in use in pool {}", to_hex(t), to_hex(b),
                              to_hex(base)));
          continue;
        }
        if (!seen_blocks.insert(b.value).second) {
          finding("tcache-duplicate", b, fmt::format("thread cache {}: block {} is cached twice", to_hex(t), to_hex(b)));
          continue;
        }
        heap.arenas[where->second.first].pools[where->second.second].cached_blocks.push_back(b);
      }
    }
    if (rt->blocks != blocks || rt->bytes != bytes)
      finding("counter-mismatch", t + offsetof(mems_tcache, blocks),
              fmt::format("thread cache {}: counters say {} blocks of {} bytes, its slots hold {} of {}", to_hex(t),
                          rt->blocks, rt->bytes, blocks, bytes));
    heap.tcaches.push_back(std::move(tc));
    prev = t;
    t = Address(rt->next);
  }
  if (walked != raw.tcaches)
    finding("counter-mismatch", root_field(offsetof(mems_root, tcaches)),
            fmt::format("root: tcaches is {}, {} thread caches on the list", raw.tcaches, walked));
  for (const auto& a : heap.arenas)
    for (const auto& pool : a.pools)
      if (pool.cached_blocks.size() > pool.used)
        finding("counter-mismatch", pool.address + offsetof(mems_pool_header, used),
                fmt::format("pool {}: {} blocks in use, yet {} of its blocks are in thread caches",
                            to_hex(pool.address), pool.used, pool.cached_blocks.size()));
}

}  // namespace heapscope::mems
