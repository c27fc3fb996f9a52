// analyze_mems_leaks: heap leaks' marking over one graph whose vertices are
// the in-use glibc chunks and the MeMS objects, then the direct/indirect
// split of the leaked part.
#include "heapscope/analysis/mems_leaks.h"

#include <algorithm>

#include "analysis/pointer_scan.h"
#include "heapscope/analysis/refs.h"
#include "mems_layout.h"

namespace heapscope {

namespace {

using analysis::kNoNode;

enum Mark : uint8_t { kNot, kUnvisited, kSeed, kReach, kPoss, kDirect, kIndirect };

// r minus every hole (sorted by begin, may overlap), appended to out.
void subtract(AddressRange r, const std::vector<AddressRange>& holes, std::vector<AddressRange>& out) {
  Address cur = r.begin;
  for (const auto& h : holes) {
    if (h.end <= cur) continue;
    if (h.begin >= r.end) break;
    if (h.begin > cur) out.push_back({cur, h.begin});
    cur = std::max(cur, h.end);
  }
  if (cur < r.end) out.push_back({cur, r.end});
}

// Finds the MeMS object a word points into, by physical or virtual address.
class ObjectIndex {
 public:
  explicit ObjectIndex(const mems::Heap& h, const std::vector<MemsObject>& objects) : objects_(objects) {
    for (uint32_t i = 0; i < objects.size(); ++i) {
      const MemsObject& o = objects[i];
      lo_ = std::min(lo_, o.begin.value);
      hi_ = std::max(hi_, o.begin.value + o.size);
      if (o.kind != MemsObject::Kind::kSegment) continue;
      const mems::Segment& s = h.nodes[o.node].segments[o.segment];
      by_virtual_.push_back({s.vstart, s.size, i});
      vlo_ = std::min(vlo_, s.vstart);
      vhi_ = std::max(vhi_, s.vend());
    }
    std::sort(by_virtual_.begin(), by_virtual_.end(), [](const V& a, const V& b) { return a.start < b.start; });
  }

  uint32_t find(uint64_t v, bool* start) const {
    if (v >= lo_ && v < hi_) {
      auto it = std::upper_bound(objects_.begin(), objects_.end(), v,
                                 [](uint64_t x, const MemsObject& o) { return x < o.begin.value; });
      if (it != objects_.begin()) {
        --it;
        if (v - it->begin.value < it->size) {
          *start = v == it->begin.value;
          return static_cast<uint32_t>(it - objects_.begin());
        }
      }
    }
    if (v >= vlo_ && v < vhi_) {
      auto it = std::upper_bound(by_virtual_.begin(), by_virtual_.end(), v,
                                 [](uint64_t x, const V& s) { return x < s.start; });
      if (it != by_virtual_.begin()) {
        --it;
        if (v - it->start < it->size) {
          *start = v == it->start;
          return it->object;
        }
      }
    }
    return kNoNode;
  }

 private:
  struct V {
    uint64_t start, size;
    uint32_t object;
  };
  const std::vector<MemsObject>& objects_;
  std::vector<V> by_virtual_;
  uint64_t lo_ = UINT64_MAX, hi_ = 0, vlo_ = UINT64_MAX, vhi_ = 0;
};

std::vector<MemsObject> collect_objects(const mems::Heap& h) {
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

MemsLeakAnalysis analyze_mems_leaks(const Target& target, const mems::Heap& h, const glibc::Heap* glibc,
                                    const CancelToken& cancel) {
  static const glibc::Heap kNoHeap;
  const glibc::Heap& gh = glibc ? *glibc : kNoHeap;
  MemsLeakAnalysis out;
  out.glibc_scanned = glibc != nullptr;
  out.objects = collect_objects(h);
  const auto& objects = out.objects;
  const auto& cs = gh.blocks;
  const uint32_t g = static_cast<uint32_t>(cs.size());
  analysis::NodeIndex chunks(gh);
  ObjectIndex mems_index(h, objects);

  // Vertices: chunk i is i, MeMS object k is g + k.
  std::vector<uint8_t> mark(g + objects.size(), kUnvisited);
  for (uint32_t i = 0; i < g; ++i)
    if (!chunks.is_node(i)) mark[i] = kNot;
  auto find = [&](uint64_t v, bool* start) -> uint32_t {
    uint32_t n = chunks.find(v, start);
    if (n != kNoNode) return n;
    n = mems_index.find(v, start);
    return n == kNoNode ? kNoNode : g + n;
  };
  auto scan = [&](uint32_t n, auto& visit) {
    if (n < g) return analysis::for_each_chunk_word(target, gh, cs[n], cancel, visit);
    const MemsObject& o = objects[n - g];
    for_each_word(target, {o.begin, o.begin + o.size}, cancel, visit);
  };

  // Roots: heap leaks' roots without the mems allocators' own memory.
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
  Roots roots = find_roots(target, gh);

  std::vector<uint32_t> queue;
  auto definite = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = find(v, &start);
    if (n == kNoNode) return;
    uint8_t& m = mark[n];
    if (start) {
      if (m == kUnvisited || m == kSeed) m = kReach, queue.push_back(n);
    } else if (m == kUnvisited) {
      m = kSeed;
    }
  };
  for (const auto& r : roots.registers) definite(0, r.value);
  for (const auto& r : roots.ranges) {
    std::vector<AddressRange> pieces;
    subtract(r.range, owned, pieces);
    for (auto p : pieces) for_each_word(target, p, cancel, definite);
  }
  auto drain = [&](auto& visit) {
    while (!queue.empty()) {
      uint32_t n = queue.back();
      queue.pop_back();
      scan(n, visit);
    }
  };
  drain(definite);

  auto possible = [&](uint64_t, uint64_t v) {
    bool start;
    uint32_t n = find(v, &start);
    if (n == kNoNode) return;
    if (mark[n] == kUnvisited || mark[n] == kSeed) mark[n] = kPoss, queue.push_back(n);
  };
  for (uint32_t i = 0; i < mark.size(); ++i)
    if (mark[i] == kSeed) mark[i] = kPoss, queue.push_back(i);
  drain(possible);

  // The leaked subgraph, chunks and objects alike: a MeMS object held only
  // by a leaked malloc'ed struct is an indirect leak.
  std::vector<uint32_t> leaked;
  for (uint32_t i = 0; i < mark.size(); ++i)
    if (mark[i] == kUnvisited) leaked.push_back(i);
  std::vector<uint32_t> first(leaked.size() + 1), edges;
  for (size_t k = 0; k < leaked.size(); ++k) {
    first[k] = static_cast<uint32_t>(edges.size());
    auto edge = [&](uint64_t, uint64_t v) {
      bool start;
      uint32_t n = find(v, &start);
      if (n == kNoNode || mark[n] != kUnvisited || n == leaked[k]) return;
      edges.push_back(static_cast<uint32_t>(std::lower_bound(leaked.begin(), leaked.end(), n) - leaked.begin()));
    };
    scan(leaked[k], edge);
  }
  first[leaked.size()] = static_cast<uint32_t>(edges.size());
  std::vector<uint8_t> direct = analysis::direct_members(first, edges, cancel);
  for (size_t k = 0; k < leaked.size(); ++k) mark[leaked[k]] = direct[k] ? kDirect : kIndirect;

  out.classes.resize(objects.size());
  for (size_t k = 0; k < objects.size(); ++k) {
    LeakClass c = LeakClass::kNotNode;
    switch (mark[g + k]) {
      case kReach: c = LeakClass::kReachable; out.reachable.add(objects[k]); break;
      case kPoss: c = LeakClass::kPossible; out.possible.add(objects[k]); break;
      case kDirect: c = LeakClass::kDirect; out.direct.add(objects[k]); break;
      case kIndirect: c = LeakClass::kIndirect; out.indirect.add(objects[k]); break;
      default: break;
    }
    out.classes[k] = c;
  }
  return out;
}

}  // namespace heapscope
