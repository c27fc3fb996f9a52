#include "heapscope/analysis/frag.h"

#include <algorithm>
#include <bit>
#include <map>

#include "heapscope/mems/heap.h"

namespace heapscope {

using glibc::Chunk;
using glibc::ChunkState;

int size_bucket(uint64_t size) { return size == 0 ? 0 : 63 - std::countl_zero(size); }

void SizeHistogram::add(uint64_t size) { buckets[static_cast<size_t>(size_bucket(size))].add(size); }

void SizeHistogram::add(const SizeHistogram& h) {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i].add(h.buckets[i]);
}

uint64_t SizeHistogram::chunks() const {
  uint64_t n = 0;
  for (const auto& b : buckets) n += b.chunks;
  return n;
}

bool is_free_class(ChunkState s) {
  switch (s) {
    case ChunkState::kTcache: case ChunkState::kFast: case ChunkState::kUnsorted:
    case ChunkState::kSmall: case ChunkState::kLarge: case ChunkState::kTop:
      return true;
    default:
      return false;
  }
}

namespace {

// Chunks malloc_consolidate() may merge: fast chunks and chunks in a bin.
// tcache chunks look in use to malloc; free_unlisted ones are on no list and
// unlinking them would abort glibc, so they stop a run too.
bool consolidatable(ChunkState s) {
  return s == ChunkState::kFast || s == ChunkState::kUnsorted || s == ChunkState::kSmall ||
         s == ChunkState::kLarge;
}

// mtrim(): the whole pages of a bin chunk past sizeof(struct malloc_chunk).
// glibc 2.36 malloc.c: paligned_mem = ALIGN_UP(p + sizeof(malloc_chunk), ps);
// released only when size > ps - 1 + sizeof(malloc_chunk) and what is left
// past paligned_mem exceeds ps - 1.
std::optional<AddressRange> madvise_range(Address p, uint64_t size, uint64_t ps,
                                          uint64_t malloc_chunk_size) {
  const uint64_t psm1 = ps - 1;
  if (size <= psm1 + malloc_chunk_size) return std::nullopt;
  uint64_t paligned = (p.value + malloc_chunk_size + psm1) & ~psm1;
  uint64_t lead = paligned - p.value;
  if (lead >= size) return std::nullopt;
  uint64_t left = size - lead;
  if (left <= psm1) return std::nullopt;
  return AddressRange{Address(paligned), Address(paligned + (left & ~psm1))};
}

}  // namespace

FragReport compute_frag(const glibc::Heap& heap, uint64_t page_size, const CancelToken& cancel) {
  FragReport r;
  r.page_size = page_size;
  const uint64_t min_chunk = heap.layout ? heap.layout->min_chunk : 32;
  const uint64_t size_sz = heap.layout ? heap.layout->size_sz : 8;
  const uint64_t malloc_chunk_size = 6 * size_sz;  // prev_size, size, fd, bk, fd/bk_nextsize
  for (const auto& a : heap.arenas) {
    FragFigures f;
    f.arena = a.index;
    r.arenas.push_back(f);
  }
  auto arena_ok = [&](int i) { return i >= 0 && static_cast<size_t>(i) < r.arenas.size(); };

  // Classes, largest free chunk, histograms.
  for (const auto& c : heap.blocks) {
    if (c.owner == glibc::kMmappedArena) {
      r.mmapped.add(c.size);
      continue;
    }
    if (!arena_ok(c.owner)) continue;
    FragFigures& f = r.arenas[static_cast<size_t>(c.owner)];
    if (is_free_class(glibc::state_of(c))) {
      f.free[glibc::state_of(c)].add(c.size);
      f.free_bytes += c.size;
      if (c.size > f.largest_free) {
        f.largest_free = c.size;
        f.largest_free_at = c.address;
        f.largest_free_state = glibc::state_of(c);
      }
      if (c.kind != ChunkState::kTop) f.free_sizes.add(c.size);
    } else if (c.kind == ChunkState::kInUse) {
      f.in_use_sizes.add(c.size);
    }
  }

  // malloc_trim(0): consolidate runs of adjacent chunks joined by fast chunks.
  // Chunks are in address order; adjacency is c.end() == next.address within
  // one arena.
  const auto& cs = heap.blocks;
  std::vector<std::vector<TrimRange>> ranges(r.arenas.size());
  std::vector<uint64_t> top_grow(r.arenas.size(), 0);
  auto release_bin_chunk = [&](int arena, Address p, uint64_t size) {
    if (auto rr = madvise_range(p, size, page_size, malloc_chunk_size)) {
      r.arenas[static_cast<size_t>(arena)].trim_bins += rr->size();
      ranges[static_cast<size_t>(arena)].push_back({*rr, arena, false});
    }
  };
  size_t i = 0;
  while (i < cs.size()) {
    if ((i & 0xffff) == 0) check_cancel(cancel);
    const Chunk& c = cs[i];
    if (!arena_ok(c.owner) || !consolidatable(glibc::state_of(c))) {
      ++i;
      continue;
    }
    // A piece: chunks merged by consolidation. It grows while the next chunk
    // is adjacent, consolidatable, and either side of the joint is fast.
    Address begin = c.address;
    uint64_t size = c.size;
    bool has_fast = c.kind == ChunkState::kFast;
    uint64_t fast_chunks = has_fast ? 1 : 0;
    ChunkState last = glibc::state_of(c);
    size_t j = i + 1;
    while (j < cs.size() && cs[j].owner == c.owner && cs[j].address == begin + size &&
           consolidatable(glibc::state_of(cs[j])) &&
           (last == ChunkState::kFast || cs[j].kind == ChunkState::kFast)) {
      size += cs[j].size;
      if (cs[j].kind == ChunkState::kFast) has_fast = true, ++fast_chunks;
      last = glibc::state_of(cs[j]);
      ++j;
    }
    FragFigures& f = r.arenas[static_cast<size_t>(c.owner)];
    if (has_fast) f.fast_consolidated += fast_chunks;
    // A fast chunk whose next chunk is top merges into top
    // (malloc_consolidate: nextchunk == av->top).
    bool into_top = last == ChunkState::kFast && j < cs.size() && cs[j].owner == c.owner &&
                    cs[j].kind == ChunkState::kTop && cs[j].address == begin + size;
    if (into_top) {
      f.fast_into_top += size;
      top_grow[static_cast<size_t>(c.owner)] += size;
    } else if (has_fast) {
      release_bin_chunk(c.owner, begin, size);  // now one unsorted chunk
    } else {
      for (size_t k = i; k < j; ++k) release_bin_chunk(c.owner, cs[k].address, cs[k].size);
    }
    i = j;
  }
  // systrim(0) on the main arena's top, grown by the fast runs it absorbed.
  // It runs only when the main heap is contiguous (sbrk): a non-contiguous
  // main arena's brk is not at its top's end.
  for (const auto& a : heap.arenas) {
    if (!a.main || !arena_ok(a.index)) continue;
    constexpr uint32_t kNonContiguousBit = 2;
    if (a.flags & kNonContiguousBit) continue;
    uint64_t top = a.top_size + top_grow[static_cast<size_t>(a.index)];
    Address top_end = a.top + a.top_size;
    if (top <= min_chunk + 1) continue;
    uint64_t extra = (top - min_chunk - 1) & ~(page_size - 1);
    if (extra == 0) continue;
    r.arenas[static_cast<size_t>(a.index)].trim_top = extra;
    ranges[static_cast<size_t>(a.index)].push_back({{top_end - extra, top_end}, a.index, true});
  }

  // Derived figures and totals.
  FragFigures& t = r.total;
  for (size_t k = 0; k < r.arenas.size(); ++k) {
    FragFigures& f = r.arenas[k];
    f.external_fragmentation =
        f.free_bytes ? 1.0 - static_cast<double>(f.largest_free) / static_cast<double>(f.free_bytes) : 0;
    for (size_t s = 0; s < f.free.by_state.size(); ++s) t.free.by_state[s].add(f.free.by_state[s]);
    t.free_bytes += f.free_bytes;
    if (f.largest_free > t.largest_free) {
      t.largest_free = f.largest_free;
      t.largest_free_at = f.largest_free_at;
      t.largest_free_state = f.largest_free_state;
    }
    t.free_sizes.add(f.free_sizes);
    t.in_use_sizes.add(f.in_use_sizes);
    t.trim_bins += f.trim_bins;
    t.trim_top += f.trim_top;
    t.fast_consolidated += f.fast_consolidated;
    t.fast_into_top += f.fast_into_top;
    for (auto& rr : ranges[k]) r.trim_ranges.push_back(rr);
  }
  t.external_fragmentation =
      t.free_bytes ? 1.0 - static_cast<double>(t.largest_free) / static_cast<double>(t.free_bytes) : 0;
  return r;
}

}  // namespace heapscope


namespace heapscope {

MemsFrag compute_mems_frag(const mems::SegmentHeap& heap) {
  MemsFrag f;
  for (const auto& n : heap.nodes) {
    MemsNodeFrag nf;
    nf.index = n.index;
    nf.pstart = n.pstart;
    nf.length = n.length;
    for (const auto& s : n.segments) {
      if (s.type == mems::SegmentType::kHole) {
        ++nf.holes;
        nf.hole_bytes += s.size;
        nf.largest_hole = std::max(nf.largest_hole, s.size);
      } else if (s.type == mems::SegmentType::kProcess && s.requested && s.requested < s.size) {
        nf.process_slack += s.size - s.requested;
      }
    }
    if (!n.segments.empty() && n.segments.back().type == mems::SegmentType::kHole)
      nf.tail_hole = n.segments.back().size;
    f.holes += nf.holes;
    f.hole_bytes += nf.hole_bytes;
    f.largest_hole = std::max(f.largest_hole, nf.largest_hole);
    f.tail_bytes += nf.tail_hole;
    f.process_slack += nf.process_slack;
    f.nodes.push_back(nf);
  }
  f.external_fragmentation =
      f.hole_bytes ? 1.0 - static_cast<double>(f.largest_hole) / static_cast<double>(f.hole_bytes) : 0;
  std::map<uint32_t, MemsClassFrag> classes;
  for (const auto& a : heap.arenas) {
    if (a.pool_count > a.pools_carved) f.uncarved_pools += a.pool_count - a.pools_carved;
    for (const auto& p : a.pools) {
      if (p.state == mems::PoolState::kEmpty) {
        ++f.empty_pools;
        continue;
      }
      if (!p.counted()) continue;
      MemsClassFrag& c = classes[p.class_index];
      c.class_index = p.class_index;
      c.block_size = p.block_size;
      ++c.pools;
      // blocks in thread caches are free for the program (mems_pool_get_stats)
      const uint64_t used = p.used > p.cached_blocks.size() ? p.used - p.cached_blocks.size() : 0;
      uint64_t free = p.capacity > used ? p.capacity - used : 0;
      c.free_blocks += free;
      c.free_bytes += free * p.block_size;
      f.pool_free_bytes += free * p.block_size;
    }
  }
  for (auto& [k, c] : classes) f.classes.push_back(c);
  return f;
}

}  // namespace heapscope
