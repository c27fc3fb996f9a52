// heapscope_fuzz_mems_seeds DIR: writes seed inputs for fuzz_mems (see
// mems_input.h). The real libmems runs in this process with a few allocation
// patterns; after each, its state is copied out of our own memory (the root,
// metadata pages, node mappings, the pool map, thread caches) into an input,
// with a few globals and a stack holding some of the allocations (so that
// mems leaks has reachable and unreachable ones). Damaged seeds are clean
// ones with one field rewritten: a cycle in the main chain, a segment that
// overruns its node, a pool free list leaving its pool, and a few more.
// Each region carries its bytes up to its last non-zero byte only, which
// keeps the seeds small.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "mems.h"
#include "mems_input.h"

using namespace heapscope;
using fuzz::MemsRegion;
using fuzz::MemsRegionKind;

namespace {

constexpr uint64_t kStack = 0x10000;  // below every mapping of a real process
constexpr uint32_t kStackBytes = 0x200;
constexpr uint32_t kGlobals = 0x100;   // bytes after the root in the module data

template <typename T>
const T* at(uint64_t a) {
  return reinterpret_cast<const T*>(static_cast<uintptr_t>(a));
}

// A region holding [address, address + length) of our memory, trimmed
// after its last non-zero 8-byte word.
MemsRegion copy_region(uint64_t address, uint64_t length, MemsRegionKind kind) {
  MemsRegion r;
  r.address = address;
  r.length = static_cast<uint32_t>(length);
  r.kind = kind;
  const auto* p = at<std::byte>(address);
  uint64_t used = length & ~uint64_t{7};
  while (used >= 8) {
    uint64_t w;
    std::memcpy(&w, p + used - 8, 8);
    if (w) break;
    used -= 8;
  }
  r.data.assign(p, p + used);
  return r;
}

struct Snapshot {
  std::vector<MemsRegion> regions;

  // Writes an 8-byte value at a target address inside one of the regions
  // (the region's data grows to cover it). False when no region holds it.
  bool put(uint64_t address, uint64_t value, size_t width = 8) {
    for (auto& r : regions) {
      if (address < r.address || address + width > r.address + r.length) continue;
      uint64_t off = address - r.address;
      if (r.data.size() < off + width) r.data.resize(off + width);
      std::memcpy(r.data.data() + off, &value, width);
      return true;
    }
    return false;
  }
  uint64_t get(uint64_t address) const {
    for (const auto& r : regions) {
      if (address < r.address || address + 8 > r.address + r.length) continue;
      uint64_t off = address - r.address, v = 0;
      if (off < r.data.size()) std::memcpy(&v, r.data.data() + off, std::min<uint64_t>(8, r.data.size() - off));
      return v;
    }
    return 0;
  }
};

// The allocator's state as it is now, with `globals` (values a program keeps
// in its data, after the root) and `stack` (values on its one thread's stack).
Snapshot snapshot(const std::vector<uint64_t>& globals, const std::vector<uint64_t>& stack) {
  Snapshot s;
  const struct mems_root& root = mems_root;
  MemsRegion data;
  data.address = reinterpret_cast<uint64_t>(&mems_root);
  data.length = sizeof(mems_root) + kGlobals;
  data.kind = MemsRegionKind::kModuleData;
  data.data.resize(sizeof(mems_root) + globals.size() * 8);
  std::memcpy(data.data.data(), &root, sizeof root);
  if (!globals.empty()) std::memcpy(data.data.data() + sizeof root, globals.data(), globals.size() * 8);
  s.regions.push_back(std::move(data));
  if (!stack.empty()) {
    MemsRegion st;
    st.address = kStack;
    st.length = kStackBytes;
    st.kind = MemsRegionKind::kStack;
    st.data.resize(stack.size() * 8);
    std::memcpy(st.data.data(), stack.data(), stack.size() * 8);
    s.regions.push_back(std::move(st));
  }
  for (uint64_t m = root.meta_head; m; m = at<mems_meta_page>(m)->next)
    s.regions.push_back(copy_region(m, at<mems_meta_page>(m)->bytes, MemsRegionKind::kAnonymous));
  for (uint64_t n = root.head; n; n = at<mems_node>(n)->next)
    s.regions.push_back(copy_region(at<mems_node>(n)->pstart, at<mems_node>(n)->length, MemsRegionKind::kAnonymous));
  if (root.pool_map)
    s.regions.push_back(copy_region(root.pool_map, (root.pool_map_capacity * 8 + 4095) & ~uint64_t{4095},
                                    MemsRegionKind::kAnonymous));
  for (uint64_t t = root.tcache_head; t; t = at<mems_tcache>(t)->next)
    s.regions.push_back(copy_region(t, MEMS_TCACHE_SIZE, MemsRegionKind::kAnonymous));
  return s;
}

uint64_t u(const void* p) { return reinterpret_cast<uint64_t>(p); }

bool write_seed(const std::string& dir, const std::string& name, const Snapshot& s, int& written) {
  std::string bytes = fuzz::encode_mems_input(s.regions);
  if (!fuzz::decode_mems_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) {
    std::fprintf(stderr, "%s: the input does not decode (overlapping regions?)\n", name.c_str());
    return false;
  }
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) return false;
  std::printf("%-24s %6zu bytes, %zu regions\n", name.c_str(), bytes.size(), s.regions.size());
  ++written;
  return true;
}

// The address of field `off` of the i-th node / its j-th segment.
uint64_t node_at(size_t i) {
  uint64_t n = mems_root.head;
  while (i-- && n) n = at<mems_node>(n)->next;
  return n;
}
uint64_t segment_at(uint64_t node, size_t j) {
  uint64_t s = at<mems_node>(node)->seg_head;
  while (j-- && s) s = at<mems_segment>(s)->next;
  return s;
}

int run(const std::string& dir) {
  int written = 0, wanted = 0;
  auto seed = [&](const std::string& name, const Snapshot& s) {
    ++wanted;
    write_seed(dir, name, s, written);
  };

  // Before mems_init: the statically initialised root only.
  seed("uninitialized", snapshot({}, {}));

  // Initialised, nothing allocated.
  mems_init();
  seed("empty", snapshot({}, {}));
  mems_finish();

  // Segment allocator: several nodes, holes from frees (some merged), one
  // allocation reachable from a global, one from the stack, one by its
  // physical address, the others leaked.
  mems_init();
  {
    std::vector<void*> v;
    for (size_t size : {100, 2000, 5000, 300, 64, 9000, 40, 700, 3000}) v.push_back(mems_malloc(size));
    mems_free(v[1]);
    mems_free(v[4]);
    mems_free(v[3]);  // merges with the hole of v[4]
    mems_free(v[7]);
    // v[0] holds v[2]'s virtual address: reachable through a reachable segment
    *static_cast<uint64_t*>(mems_get(v[0])) = u(v[2]);
    Snapshot s = snapshot({u(v[0]), u(mems_get(v[5]))}, {u(v[6])});
    seed("segments", s);

    // Damaged: the last node's next is the first node (a cycle).
    Snapshot c = s;
    uint64_t last = mems_root.tail;
    c.put(last + offsetof(mems_node, next), mems_root.head);
    seed("bad-chain-cycle", c);
    // Damaged: a segment's size runs past its node.
    Snapshot o = s;
    uint64_t seg = segment_at(mems_root.head, 1);
    o.put(seg + offsetof(mems_segment, size), at<mems_segment>(seg)->size + 0x10000);
    seed("bad-segment-overrun", o);
    // Damaged: a PROCESS segment whose size spans most of the address space
    // (mems leaks scanned it page by page: a timeout found by fuzz_mems).
    Snapshot big = s;
    uint64_t seg0 = segment_at(mems_root.head, 0);
    big.put(seg0 + offsetof(mems_segment, size), 0x0fff000000000000);
    seed("bad-segment-huge", big);
    // Damaged: a sub-chain that loops back to its first segment, and a
    // node whose virtual start is far from where the previous one ends.
    Snapshot l = s;
    uint64_t n1 = node_at(1);
    l.put(at<mems_node>(n1)->seg_tail + offsetof(mems_segment, next), at<mems_node>(n1)->seg_head);
    l.put(n1 + offsetof(mems_node, vstart), UINT64_MAX - 0x100);
    seed("bad-subchain-cycle", l);
  }
  mems_finish();

  // Pool allocator: blocks of several classes, some freed to the thread
  // cache, one class's pool emptied (kept), a full pool, segment
  // allocations beside them.
  mems_init();
  {
    std::vector<void*> v;
    for (int i = 0; i < 40; ++i) v.push_back(mems_pool_alloc(64));   // class 3
    for (int i = 0; i < 7; ++i) v.push_back(mems_pool_alloc(512));   // class 31: one full pool
    for (int i = 0; i < 12; ++i) v.push_back(mems_pool_alloc(16));   // class 0
    for (int i = 0; i < 25; ++i) mems_pool_free(v[i]);
    for (int i = 40; i < 47; ++i) mems_pool_free(v[i]);
    mems_pool_flush();  // the class-31 pool empties and is kept
    for (int i = 25; i < 32; ++i) mems_pool_free(v[i]);  // cached again
    void* seg = mems_malloc(200);
    // a pool block holds the address of another block (reachable through it)
    *static_cast<uint64_t*>(v[48]) = u(v[50]);
    Snapshot s = snapshot({u(v[35]), u(v[48])}, {u(seg), u(v[36]) + 8});
    seed("pools", s);

    // Damaged: the first pool's free list leaves its pool, and a second
    // pool's free list points back at its own first block (a cycle).
    uint64_t arena = mems_root.arena_head;
    uint64_t pool0 = at<mems_arena>(arena)->pstart;
    Snapshot f = s;
    uint64_t fl = at<mems_pool_header>(pool0)->freelist;
    if (fl) f.put(fl, pool0 + MEMS_POOL_SIZE + 8);
    else f.put(pool0 + offsetof(mems_pool_header, freelist), pool0 + 40);
    seed("bad-pool-freelist", f);
    Snapshot cyc = s;
    if (fl) cyc.put(fl, fl);
    cyc.put(pool0 + offsetof(mems_pool_header, in_use), ~uint64_t{0});
    seed("bad-pool-freelist-cycle", cyc);
    // Damaged: a class list that loops, a thread cache entry outside every
    // pool, the usable arena list naming a stranger.
    Snapshot cl = s;
    cl.put(mems_root.classes[3] + offsetof(mems_pool_header, next), mems_root.classes[3]);
    if (mems_root.tcache_head) cl.put(mems_root.tcache_head + offsetof(mems_tcache, slots) + 3 * MEMS_TCACHE_SLOTS * 8, 0x12345);
    cl.put(u(&mems_root) + offsetof(struct mems_root, usable_arenas), mems_root.head);
    seed("bad-pool-lists", cl);
    // Damaged: an arena whose pool count and carved count are out of range,
    // and a pool whose class and next_offset are nonsense.
    Snapshot g = s;
    g.put(arena + offsetof(mems_arena, pools_carved), 0xffffffffull << 32 | 0xffffffffull);
    g.put(pool0 + MEMS_POOL_SIZE + offsetof(mems_pool_header, class_index), 0xfffffff0ull << 32 | 31);
    g.put(pool0 + offsetof(mems_pool_header, next_offset), 0xfffffff0, 4);
    seed("bad-pool-geometry", g);
    // Damaged: metadata page list and free slot list in cycles, a busy
    // root, and a pool map whose capacity does not match its mapping.
    Snapshot m = s;
    m.put(mems_root.meta_head + offsetof(mems_meta_page, next), mems_root.meta_head);
    if (mems_root.meta_free) m.put(mems_root.meta_free + 8, mems_root.meta_free);
    m.put(u(&mems_root) + offsetof(struct mems_root, busy), 1, 4);
    m.put(u(&mems_root) + offsetof(struct mems_root, pool_map_capacity), mems_root.pool_map_capacity * 2);
    seed("bad-meta-and-map", m);
  }
  mems_finish();
  std::printf("%d of %d seeds in %s\n", written, wanted, dir.c_str());
  return written == wanted ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  return run(argv[1]);
}
