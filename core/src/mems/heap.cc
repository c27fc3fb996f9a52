#include "heapscope/mems/heap.h"

#include <algorithm>

#include "heapscope/error.h"
#include "heapscope/mems/stats.h"
#include "mems/builder.h"

namespace heapscope::mems {

std::string_view type_name(SegmentType t) {
  switch (t) {
    case SegmentType::kHole: return "HOLE";
    case SegmentType::kProcess: return "PROCESS";
    case SegmentType::kInvalid: break;
  }
  return "INVALID";
}

std::string_view pool_state_name(PoolState s) {
  switch (s) {
    case PoolState::kEmpty: return "EMPTY";
    case PoolState::kUsed: return "USED";
    case PoolState::kFull: return "FULL";
    case PoolState::kInvalid: break;
  }
  return "INVALID";
}

std::optional<SegmentHeap::Place> SegmentHeap::find_virtual(uint64_t v) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].contains_virtual(v)) continue;
    const auto& segs = nodes[i].segments;
    for (size_t j = 0; j < segs.size(); ++j)
      if (segs[j].contains_virtual(v)) return Place{i, j};
  }
  return std::nullopt;
}

size_t SegmentHeap::segment_total() const {
  size_t n = 0;
  for (const auto& node : nodes) n += node.segments.size();
  return n;
}

size_t SegmentHeap::pool_total() const {
  size_t n = 0;
  for (const auto& a : arenas) n += a.pools.size();
  return n;
}

uint64_t Builder::limit_for(uint64_t counter) const {
  constexpr uint64_t kCap = 1ull << 26;
  uint64_t slots = 0;
  if (raw.meta_page_bytes > MEMS_META_PAGE_HEADER_SIZE && raw.meta_page_bytes <= (1ull << 30) &&
      raw.meta_pages <= (1ull << 20))
    slots = raw.meta_pages * ((raw.meta_page_bytes - MEMS_META_PAGE_HEADER_SIZE) / MEMS_META_SLOT_SIZE);
  uint64_t by_counter = counter > kCap ? kCap : counter * 2 + 1024;
  return std::min(kCap, std::max(by_counter, slots + 16));
}

void Builder::read_root() {
  Root& r = heap.root;
  auto got = read<mems_root>(r.address);
  if (!got) throw UserError{fmt::format("mems_root at {} cannot be read", to_hex(r.address))};
  raw = *got;
  if (raw.layout_version != MEMS_LAYOUT_VERSION)
    throw UserError{fmt::format("mems_root at {} has layout version {}; this heapscope reads version {}",
                                to_hex(r.address), raw.layout_version, MEMS_LAYOUT_VERSION)};
  if (raw.root_size != sizeof(mems_root))
    throw UserError{fmt::format("mems_root at {} has root size {}, expected {} for layout version {}",
                                to_hex(r.address), raw.root_size, sizeof(mems_root),
                                MEMS_LAYOUT_VERSION)};
  r.layout_version = raw.layout_version;
  r.initialized = raw.initialized != 0;
  r.busy = raw.busy != 0;
  r.page_size = raw.page_size;
  r.virt_base = raw.virt_base;
  r.virt_next = raw.virt_next;
  r.head = Address(raw.head);
  r.tail = Address(raw.tail);
  r.next_seq = raw.next_seq;
  r.pages = raw.pages;
  r.nodes = raw.nodes;
  r.segments = raw.segments;
  r.process_segments = raw.process_segments;
  r.process_bytes = raw.process_bytes;
  r.hole_segments = raw.hole_segments;
  r.hole_bytes = raw.hole_bytes;
  r.meta_head = Address(raw.meta_head);
  r.meta_pages = raw.meta_pages;
  r.meta_page_bytes = raw.meta_page_bytes;
  r.meta_slot_size = raw.meta_slot_size;
  r.meta_free = Address(raw.meta_free);
  r.meta_slots_used = raw.meta_slots_used;
  r.pool_size = raw.pool_size;
  r.arena_size = raw.arena_size;
  r.pool_header_size = raw.pool_header_size;
  r.pool_class_count = raw.pool_class_count;
  r.arena_head = Address(raw.arena_head);
  r.usable_arenas = Address(raw.usable_arenas);
  r.pool_map = Address(raw.pool_map);
  r.pool_map_capacity = raw.pool_map_capacity;
  r.pool_map_count = raw.pool_map_count;
  r.arenas = raw.arenas;
  r.pools = raw.pools;
  r.blocks_used = raw.blocks_used;
  r.blocks_free = raw.blocks_free;
  r.bytes_used = raw.bytes_used;
  r.classes.clear();
  for (uint64_t c : raw.classes) r.classes.push_back(Address(c));
  r.errors = raw.errors;
  r.kept_pools = raw.kept_pools;
  r.tcache_head = Address(raw.tcache_head);
  r.tcaches = raw.tcaches;

  if (r.busy)
    heap.notes.push_back(
        "the target stopped while a thread was changing the mems structures (busy): expect "
        "inconsistencies");
  if (!r.initialized) {
    heap.notes.push_back("mems is not initialized (mems_init not called, or mems_finish called)");
    if (raw.head || raw.nodes || raw.arena_head || raw.meta_head || raw.pool_map)
      finding("root-not-empty", r.address, "root: not initialized, yet it names nodes, arenas or metadata");
    return;
  }
  bool page_ok = raw.page_size >= 1024 && raw.page_size <= (1ull << 30) &&
                 (raw.page_size & (raw.page_size - 1)) == 0;
  if (!page_ok) {
    finding("bad-root", root_field(offsetof(mems_root, page_size)),
            fmt::format("root: page size {} is not a power of two between 1 KiB and 1 GiB; using 4096",
                        raw.page_size));
    raw.page_size = 4096;
    r.page_size = 4096;
  }
  if (raw.virt_base != MEMS_VIRT_BASE)
    finding("bad-root", root_field(offsetof(mems_root, virt_base)),
            fmt::format("root: virt_base {}, expected {}", raw.virt_base, MEMS_VIRT_BASE));
  if (raw.pool_size != MEMS_POOL_SIZE || raw.arena_size != MEMS_ARENA_SIZE ||
      raw.pool_header_size != MEMS_POOL_HEADER_SIZE || raw.pool_class_count != MEMS_POOL_CLASS_COUNT ||
      raw.meta_slot_size != MEMS_META_SLOT_SIZE)
    finding("bad-root", root_field(offsetof(mems_root, pool_size)),
            fmt::format("root: pool geometry or metadata slot size differs from layout version {}'s constants",
                        MEMS_LAYOUT_VERSION));
}

namespace {
void counter(Builder& b, const char* name, size_t offset, uint64_t stored, uint64_t walked) {
  if (stored == walked) return;
  b.finding("counter-mismatch", b.root_field(offset),
            fmt::format("root: {} is {}, the structures give {}", name, stored, walked));
}
}  // namespace

void Builder::check_counters() {
  SegmentStats s = segment_stats(heap);
  counter(*this, "pages", offsetof(mems_root, pages), raw.pages, s.pages);
  counter(*this, "nodes", offsetof(mems_root, nodes), raw.nodes, s.nodes);
  counter(*this, "segments", offsetof(mems_root, segments), raw.segments, s.segments);
  counter(*this, "process_segments", offsetof(mems_root, process_segments), raw.process_segments,
          s.process_segments);
  counter(*this, "process_bytes", offsetof(mems_root, process_bytes), raw.process_bytes, s.process_bytes);
  counter(*this, "hole_segments", offsetof(mems_root, hole_segments), raw.hole_segments, s.hole_segments);
  counter(*this, "hole_bytes", offsetof(mems_root, hole_bytes), raw.hole_bytes, s.hole_bytes);
  PoolStats p = pool_stats(heap);
  // The root's block counters include the blocks in thread caches; the
  // program's figures (pool_stats) do not.
  uint64_t cached = 0, cached_bytes = 0;
  for (const auto& a : heap.arenas)
    for (const auto& pool : a.pools) {
      cached += pool.cached_blocks.size();
      cached_bytes += pool.cached_blocks.size() * uint64_t{pool.block_size};
    }
  counter(*this, "arenas", offsetof(mems_root, arenas), raw.arenas, p.arenas);
  counter(*this, "pools", offsetof(mems_root, pools), raw.pools, p.pools);
  counter(*this, "blocks_used", offsetof(mems_root, blocks_used), raw.blocks_used, p.blocks_used + cached);
  counter(*this, "blocks_free", offsetof(mems_root, blocks_free), raw.blocks_free, p.blocks_free - cached);
  counter(*this, "bytes_used", offsetof(mems_root, bytes_used), raw.bytes_used, p.bytes_used + cached_bytes);
  if (p.arenas != arena_segments)
    finding("arena-count-mismatch", heap.root.address,
            fmt::format("{} arena{} on the arena list but {} PROCESS segment{} flagged as arenas",
                        p.arenas, p.arenas == 1 ? "" : "s", arena_segments, arena_segments == 1 ? "" : "s"));
  uint64_t mapped = s.pages * raw.page_size;
  if (mapped != s.process_bytes + s.hole_bytes)
    finding("bytes-mismatch", heap.root.address,
            fmt::format("PROCESS {} + HOLE {} bytes != {} bytes mapped for nodes", s.process_bytes,
                        s.hole_bytes, mapped));
}

void Builder::walk_meta() {
  Walk w(limit_for(raw.meta_pages));
  Address prev;
  uint64_t pages = 0;
  for (Address m = Address(raw.meta_head); !m.is_null();) {
    check_cancel(cancel);
    auto step = w.visit(m);
    if (step == Walk::Step::kCycle) {
      finding("meta-cycle", m, fmt::format("metadata pages: page {} is reached a second time (cycle)", to_hex(m)));
      break;
    }
    if (step == Walk::Step::kLimit) {
      finding("walk-limit", m, fmt::format("metadata pages: walk stopped after {} pages", w.steps() - 1));
      break;
    }
    auto page = read<mems_meta_page>(m);
    if (!page) {
      finding("unreadable", m, fmt::format("metadata page {}: not in the target's memory", to_hex(m)));
      break;
    }
    if (page->magic != MEMS_META_PAGE_MAGIC || page->slot_size != MEMS_META_SLOT_SIZE) {
      finding("bad-magic", m, fmt::format("metadata page {}: bad header (magic {:#x}, slot size {})",
                                          to_hex(m), page->magic, page->slot_size));
      break;
    }
    if (page->prev != prev.value)
      finding("broken-back-link", m + offsetof(mems_meta_page, prev),
              fmt::format("metadata page {}: prev is {}, expected {}", to_hex(m), to_hex(page->prev),
                          to_hex(prev)));
    ++pages;
    heap.meta_ranges.push_back({m, m + page->bytes});
    prev = m;
    m = Address(page->next);
  }
  heap.meta_pages_walked = pages;
  if (pages != raw.meta_pages)
    finding("counter-mismatch", root_field(offsetof(mems_root, meta_pages)),
            fmt::format("root: meta_pages is {}, the list holds {}", raw.meta_pages, pages));

  uint64_t total = pages * ((raw.meta_page_bytes > MEMS_META_PAGE_HEADER_SIZE
                                 ? raw.meta_page_bytes - MEMS_META_PAGE_HEADER_SIZE
                                 : 0) /
                            MEMS_META_SLOT_SIZE);
  Walk fw(total + 1);
  uint64_t nfree = 0;
  bool complete = true;
  for (Address s = Address(raw.meta_free); !s.is_null();) {
    check_cancel(cancel);
    auto step = fw.visit(s);
    if (step != Walk::Step::kOk) {
      finding("meta-cycle", s, "free metadata slot list: too long or cyclic");
      complete = false;
      break;
    }
    auto slot = read<mems_free_slot>(s);
    if (!slot || slot->magic != MEMS_FREE_SLOT_MAGIC) {
      finding("bad-magic", s, fmt::format("free metadata slot {}: not a free slot", to_hex(s)));
      complete = false;
      break;
    }
    ++nfree;
    s = Address(slot->next);
  }
  uint64_t walked_used = heap.nodes.size() + heap.segment_total() + heap.arenas.size();
  if (complete && nfree + raw.meta_slots_used != total)
    finding("meta-slots-mismatch", root_field(offsetof(mems_root, meta_slots_used)),
            fmt::format("metadata slots: {} free + {} used != {} slots in {} pages", nfree,
                        raw.meta_slots_used, total, pages));
  if (raw.meta_slots_used != walked_used)
    finding("counter-mismatch", root_field(offsetof(mems_root, meta_slots_used)),
            fmt::format("root: meta_slots_used is {}, but the walk found {} nodes + segments + arenas",
                        raw.meta_slots_used, walked_used));
}

SegmentHeap SegmentHeap::build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  auto heap = build_if_present(target, symbols, cancel);
  if (!heap) throw UserError{"no mems allocator in the target (symbol mems_root not found)"};
  return std::move(*heap);
}

std::optional<SegmentHeap> build_if_present(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  auto loc = locate_root(target, symbols, cancel);
  if (!loc) return std::nullopt;
  SegmentHeap heap;
  heap.root.address = loc->address;
  heap.root.found_by_symbol = loc->by_symbol;
  heap.notes = loc->notes;
  Builder b{target, cancel, heap};
  b.read_root();
  if (!heap.root.initialized) return heap;
  b.walk_chain();
  b.walk_arenas();
  b.walk_class_lists();
  b.walk_tcaches();
  b.check_pool_map();
  b.walk_meta();
  b.check_counters();
  return heap;
}

}  // namespace heapscope::mems
