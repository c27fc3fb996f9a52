#include "heapscope/mems/stats.h"

#include <fmt/format.h>

#include <map>

#include "heapscope/error.h"

namespace heapscope::mems {

SegmentStats segment_stats(const SegmentHeap& h) {
  SegmentStats s;
  s.nodes = h.nodes.size();
  for (const auto& n : h.nodes) {
    s.pages += n.pages;
    for (const auto& seg : n.segments) {
      ++s.segments;
      if (seg.type == SegmentType::kProcess) {
        ++s.process_segments;
        s.process_bytes += seg.size;
      } else if (seg.type == SegmentType::kHole) {
        ++s.hole_segments;
        s.hole_bytes += seg.size;
      }
    }
  }
  return s;
}

PoolStats pool_stats(const SegmentHeap& h) {
  PoolStats s;
  std::map<uint32_t, ClassStats> classes;
  s.arenas = h.arenas.size();
  for (const auto& a : h.arenas) {
    for (const auto& p : a.pools) {
      ++s.pools_carved;
      if (p.state == PoolState::kEmpty) ++s.pools_empty;
      if (!p.counted()) continue;
      // Blocks in thread caches are free for the program (mems_pool_get_stats).
      const uint64_t cached = p.cached_blocks.size();
      const uint64_t used = p.used > cached ? p.used - cached : 0;
      uint64_t free_blocks = p.capacity > used ? p.capacity - used : 0;
      ++s.pools;
      s.blocks_used += used;
      s.blocks_free += free_blocks;
      s.bytes_used += used * p.block_size;
      ClassStats& c = classes[p.class_index];
      c.class_index = p.class_index;
      c.block_size = p.block_size;
      ++c.pools;
      c.blocks_used += used;
      c.blocks_free += free_blocks;
    }
  }
  for (auto& [k, c] : classes) s.classes.push_back(c);
  return s;
}

SegmentStats root_segment_counters(const Root& r) {
  return {r.pages, r.nodes, r.segments, r.process_segments, r.process_bytes, r.hole_segments, r.hole_bytes};
}

PoolStats root_pool_counters(const Root& r) {
  PoolStats s;
  s.arenas = r.arenas;
  s.pools = r.pools;
  // net of what the thread caches say they hold, as mems_pool_get_stats
  s.blocks_used = r.blocks_used - r.cached_blocks;
  s.blocks_free = r.blocks_free + r.cached_blocks;
  s.bytes_used = r.bytes_used - r.cached_bytes;
  return s;
}

std::optional<Translation> try_translate(const SegmentHeap& h, uint64_t vaddr) {
  auto place = h.find_virtual(vaddr);
  if (!place) return std::nullopt;
  const Segment& seg = h.nodes[place->node].segments[place->segment];
  if (seg.type != SegmentType::kProcess) return std::nullopt;
  Translation t;
  t.vaddr = vaddr;
  t.physical = seg.pstart + (vaddr - seg.vstart);
  t.node = place->node;
  t.segment = place->segment;
  t.seg = &seg;
  return t;
}

Translation translate(const SegmentHeap& h, uint64_t vaddr) {
  if (auto t = try_translate(h, vaddr)) return *t;
  auto place = h.find_virtual(vaddr);
  if (!place) {
    if (h.nodes.empty())
      throw UserError{fmt::format("MeMS virtual address {} is outside every node (the main chain is empty)",
                                  to_hex(vaddr))};
    const auto& last = h.nodes.back();
    throw UserError{fmt::format("MeMS virtual address {} is outside every node (nodes cover [{}, {}))",
                                to_hex(vaddr), to_hex(h.nodes.front().vstart), to_hex(last.vstart + last.length))};
  }
  const Segment& seg = h.nodes[place->node].segments[place->segment];
  throw UserError{fmt::format("MeMS virtual address {} is inside a {} (node {}, segment {}, virtual [{}, {})): "
                              "not allocated",
                              to_hex(vaddr), type_name(seg.type), place->node, place->segment,
                              to_hex(seg.vstart), to_hex(seg.vend()))};
}

}  // namespace heapscope::mems
