// mems leaks as a view of the union's leak analysis (union_leaks.cc): the
// mems model's PROCESS segments and pool blocks with their classes, and the
// mems allocators' own memory, which is no root.
#include "heapscope/analysis/mems_leaks.h"

#include <algorithm>

#include "mems_layout.h"

namespace heapscope {

namespace {

std::vector<MemsObject> collect_objects(const mems::SegmentHeap& h) {
  std::vector<MemsObject> out;
  for (size_t n = 0; n < h.nodes.size(); ++n)
    for (size_t s = 0; s < h.nodes[n].segments.size(); ++s) {
      const mems::Segment& seg = h.nodes[n].segments[s];
      if (seg.type != mems::SegmentType::kProcess || seg.is_arena() || seg.size == 0) continue;
      MemsObject o;
      o.kind = MemsObject::Kind::kSegment;
      o.begin = seg.pstart;
      o.size = seg.size;
      o.node = n;
      o.segment = s;
      out.push_back(o);
    }
  for (size_t a = 0; a < h.arenas.size(); ++a)
    for (size_t p = 0; p < h.arenas[a].pools.size(); ++p) {
      const mems::Pool& pool = h.arenas[a].pools[p];
      if (!pool.counted() || pool.block_size == 0) continue;
      uint32_t blocks = std::min<uint32_t>(pool.capacity, (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / pool.block_size);
      // Blocks in a thread cache are in use for the pool, free for the program.
      std::vector<Address> cached = pool.cached_blocks;
      std::sort(cached.begin(), cached.end());
      for (uint32_t k = 0; k < blocks; ++k) {
        if (!pool.block_in_use(k) || std::binary_search(cached.begin(), cached.end(), pool.block(k))) continue;
        MemsObject o;
        o.kind = MemsObject::Kind::kBlock;
        o.begin = pool.block(k);
        o.size = pool.block_size;
        o.arena = a;
        o.pool = p;
        o.block = k;
        out.push_back(o);
      }
    }
  std::sort(out.begin(), out.end(), [](const MemsObject& x, const MemsObject& y) { return x.begin < y.begin; });
  // A corrupt heap may describe overlapping objects: keep the first of each
  // overlap, so the lookup by address stays a function.
  std::vector<MemsObject> kept;
  kept.reserve(out.size());
  for (const auto& o : out)
    if (kept.empty() || kept.back().begin.value + kept.back().size <= o.begin.value) kept.push_back(o);
  return kept;
}

}  // namespace

std::vector<AddressRange> mems_own_memory(const mems::SegmentHeap& h) {
  std::vector<AddressRange> owned = h.meta_ranges;
  for (const auto& node : h.nodes) owned.push_back({node.pstart, node.pstart + node.length});
  if (!h.root.pool_map.is_null() && h.root.pool_map_capacity && h.root.pool_map_capacity < (1ull << 40)) {
    uint64_t page = h.root.page_size ? h.root.page_size : 4096;
    uint64_t bytes = (h.root.pool_map_capacity * 8 + page - 1) / page * page;
    owned.push_back({h.root.pool_map, h.root.pool_map + bytes});
  }
  owned.push_back({h.root.address, h.root.address + sizeof(mems_root)});
  for (const auto& c : h.tcaches) owned.push_back({c.address, c.address + MEMS_TCACHE_SIZE});
  std::sort(owned.begin(), owned.end(), [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  return owned;
}

MemsLeakAnalysis mems_leaks_of(const mems::Model& model, const LeakAnalysis& leaks, bool glibc_scanned) {
  MemsLeakAnalysis out;
  out.glibc_scanned = glibc_scanned;
  out.objects = collect_objects(model.walk);
  out.classes.resize(out.objects.size(), LeakClass::kNotNode);
  for (size_t k = 0; k < out.objects.size(); ++k) {
    const MemsObject& o = out.objects[k];
    const Block* b = model.block_at(o.begin);
    if (!b || b->size != o.size) continue;
    const LeakClass c = leaks.classes[static_cast<size_t>(b - model.blocks.data())];
    switch (c) {
      case LeakClass::kReachable: out.reachable.add(o); break;
      case LeakClass::kPossible: out.possible.add(o); break;
      case LeakClass::kDirect: out.direct.add(o); break;
      case LeakClass::kIndirect: out.indirect.add(o); break;
      default: break;
    }
    out.classes[k] = c;
  }
  return out;
}

}  // namespace heapscope
