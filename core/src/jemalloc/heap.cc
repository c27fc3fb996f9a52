// The walk: emap leaves -> every extent's descriptor -> slab regions by
// bitmap, large allocations, free extents; then the arenas' bases (metadata)
// and thread caches. Corrupt input becomes findings; every loop is bounded.
#include "heapscope/jemalloc/heap.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "jemalloc/roots.h"
#include "model/tiling.h"
#include "util/mapped_range.h"

namespace heapscope::jemalloc {

namespace {

enum Kind : uint8_t {
  kRegion, kFreeRegion, kTcache, kLarge, kLargePad, kSlabTail,
  kDirty, kMuzzy, kRetained, kBase, kUnknownExtent, kTcacheStack,
};
// Regions and large allocations start at the program's pointer: no header.
constexpr BlockKind kKinds[] = {
    {"region", BlockState::kInUse, 0, true},
    {"free region", BlockState::kFree, 0, false},
    {"tcache", BlockState::kCached, 0, true},
    {"large", BlockState::kInUse, 0, true},
    {"large pad", BlockState::kMetadata, 0, false},  // cache-oblivious offset and its page
    {"slab tail", BlockState::kMetadata, 0, false},  // a slab's bytes past its last region
    {"dirty", BlockState::kFree, 0, false},
    {"muzzy", BlockState::kFree, 0, false},
    {"retained", BlockState::kFree, 0, false},
    {"base", BlockState::kMetadata, 0, false},
    {"extent", BlockState::kUnknown, 0, false},  // an extent the walk could not read
    // A thread cache's bin stacks: one region (or large allocation) jemalloc
    // allocates for itself and counts as allocated; below each stack's head
    // it keeps stale pointers to blocks since handed out again.
    {"tcache stack", BlockState::kInUse, 0, true, 0, true},
};
static_assert(std::size(kKinds) <= kMaxBlockKinds);

enum ExtentState : unsigned { kActive = 0, kStateDirty = 1, kStateMuzzy = 2, kStateRetained = 3 };

// Bounds for hostile input: no real process comes near them.
constexpr uint64_t kMaxExtents = uint64_t{1} << 26;
constexpr int kMaxBaseBlocks = 1 << 20;
constexpr int kMaxTcaches = 1 << 16;
constexpr uint32_t kMaxCachedPerBin = 1 << 13;

uint64_t bits_field(uint64_t bits, int shift, int width) {
  return (bits >> shift) & ((uint64_t{1} << width) - 1);
}

class Walker {
 public:
  Walker(const Target& t, const Roots& r, const CancelToken& c, Heap& h)
      : target_(t), roots_(r), l_(*r.layout), cancel_(c), heap_(h) {}

  void run() {
    read_arenas();
    read_tcaches();
    read_emap();
    read_bases();
    check_counters();
    finish();
  }

 private:
  void finding(std::string kind, Address at, int owner, std::string detail) {
    if (heap_.findings.size() < 10000)
      heap_.findings.push_back({std::move(kind), at, owner, std::move(detail)});
  }

  int owner_of(unsigned arena_ind) {
    auto [it, fresh] = owner_index_.try_emplace(arena_ind, int(heap_.owners.size()));
    if (fresh) {
      Address desc;
      if (auto a = arena_addr_.find(arena_ind); a != arena_addr_.end()) desc = a->second;
      heap_.owners.push_back({fmt::format("arena {}", arena_ind), desc, 0});
    }
    return it->second;
  }

  void add(Address at, uint64_t size, int owner, Kind kind) {
    if (size == 0) return;
    if (size > kMaxBlockSize) {
      finding("block-too-large", at, owner, fmt::format("{} bytes: more than a block can say", size));
      return;
    }
    heap_.blocks.emplace_back(at, size, owner, uint8_t(kind), 0);
    if (owner != kNoOwner) heap_.owners[owner].system_bytes += size;
  }

  void read_arenas() {
    if (roots_.arenas.is_null()) return;
    std::vector<uint64_t> slots(l_.arena_limit);
    size_t got = target_.read(roots_.arenas, std::as_writable_bytes(std::span(slots)));
    for (size_t i = 0; i < got / 8; ++i) {
      if (slots[i] == 0) continue;
      Address arena(slots[i]);
      auto ind = target_.read_value<uint32_t>(arena + l_.arena_ind);
      if (!ind || *ind != i) {
        finding("bad-arena", arena, kNoOwner, fmt::format("je_arenas[{}] does not hold arena {}", i, i));
        continue;
      }
      arena_addr_[unsigned(i)] = arena;
      owner_of(unsigned(i));
      if (auto base = target_.read_u64(arena + l_.arena_base)) bases_.emplace_back(unsigned(i), Address(*base));
    }
  }

  // Every thread's cache, through the list each arena keeps of the tcaches
  // bound to it (config stats). A pointer in a cache bin is free for the
  // program and allocated for jemalloc's counters.
  void read_tcaches() {
    for (auto [ind, arena] : arena_addr_) {
      auto first = target_.read_u64(arena + l_.arena_tcache_ql);
      if (!first || *first == 0) continue;
      std::unordered_set<uint64_t> seen;
      uint64_t slow = *first;
      for (int steps = 0;; ++steps) {
        check_cancel(cancel_);
        if (steps >= kMaxTcaches || !seen.insert(slow).second) {
          finding("tcache-list-cycle", Address(slow), owner_of(ind), "the arena's tcache list does not close");
          break;
        }
        read_tcache(Address(slow), ind);
        auto next = target_.read_u64(Address(slow + l_.tcache_slow_link));
        if (!next) {
          finding("bad-tcache", Address(slow), owner_of(ind), "unreadable tcache list link");
          break;
        }
        slow = *next;
        if (slow == *first) break;
      }
    }
  }

  void read_tcache(Address slow, unsigned ind) {
    auto tcache = target_.read_u64(slow + l_.tcache_slow_tcache);
    if (!tcache || *tcache == 0) {
      finding("bad-tcache", slow, owner_of(ind), "tcache_slow without its tcache");
      return;
    }
    // The lowest head lies inside the one allocation that holds every bin's
    // stack (a higher one may sit at its very end when its bin is empty).
    uint64_t lowest_head = 0;
    for (int b = 0; b < l_.tcache_nbins_max; ++b) {
      Address bin = Address(*tcache) + l_.tcache_bins + uint64_t(b) * l_.cache_bin_size;
      auto head = target_.read_u64(bin + l_.cache_bin_stack_head);
      auto empty = target_.read_value<uint16_t>(bin + l_.cache_bin_low_bits_empty);
      if (!head || !empty) {
        finding("bad-tcache", bin, owner_of(ind), fmt::format("cache bin {} unreadable", b));
        break;
      }
      if (*head != 0 && (lowest_head == 0 || *head < lowest_head)) lowest_head = *head;
      // The stack grows down to stack_head from the address whose low 16 bits are low_bits_empty.
      uint32_t count = uint16_t(*empty - uint16_t(*head)) / 8;
      if (count == 0) continue;
      if (count > kMaxCachedPerBin) {
        finding("bad-cache-bin", bin, owner_of(ind), fmt::format("cache bin {} claims {} items", b, count));
        continue;
      }
      std::vector<uint64_t> items(count);
      if (!target_.read_exact(Address(*head), items.data(), count * 8)) {
        finding("bad-cache-bin", bin, owner_of(ind), fmt::format("cache bin {}'s stack is unreadable", b));
        continue;
      }
      for (uint64_t p : items)
        if (!cached_.insert(p).second)
          finding("tcache-duplicate", Address(p), owner_of(ind), "cached twice (a double free)");
    }
    if (lowest_head != 0) stack_heads_.push_back(lowest_head);
  }

  // The emap's leaves name every extent, once per page for slabs and at
  // both ends for the others: collect the distinct descriptors.
  void read_emap() {
    const uint64_t entries = rtree_entries(l_);
    std::vector<uint64_t> root(entries);
    if (!target_.read_exact(roots_.emap + l_.rtree_root, root.data(), entries * 8)) {
      finding("bad-emap", roots_.emap, kNoOwner, "the extent map's root is unreadable");
      return;
    }
    std::vector<uint64_t> edatas;
    std::vector<uint64_t> leaf(entries);
    for (uint64_t i = 0; i < entries; ++i) {
      if (root[i] == 0) continue;
      check_cancel(cancel_);
      if (!target_.read_exact(Address(root[i]), leaf.data(), entries * 8)) {
        finding("bad-emap", Address(root[i]), kNoOwner, fmt::format("extent map leaf {} is unreadable", i));
        continue;
      }
      uint64_t last = 0;
      for (uint64_t w : leaf) {
        if (w == 0) continue;
        uint64_t e = leaf_edata(l_, w).value;
        if (e == last || e == 0) continue;
        last = e;
        edatas.push_back(e);
        if (edatas.size() > kMaxExtents) {
          finding("too-many-extents", roots_.emap, kNoOwner, "the extent map names more extents than heapscope reads");
          return;
        }
      }
    }
    std::sort(edatas.begin(), edatas.end());
    edatas.erase(std::unique(edatas.begin(), edatas.end()), edatas.end());
    // In address order, so that the blocks come out sorted.
    std::vector<std::pair<uint64_t, uint64_t>> by_address;  // extent address, descriptor
    by_address.reserve(edatas.size());
    for (uint64_t e : edatas) {
      auto addr = target_.read_u64(Address(e + l_.edata_addr));
      by_address.emplace_back(addr ? *addr : 0, e);
    }
    std::sort(by_address.begin(), by_address.end());
    for (size_t k = 0; k < by_address.size(); ++k) {
      if ((k & 1023) == 0) check_cancel(cancel_);
      read_extent(Address(by_address[k].second));
    }
  }

  void read_extent(Address edata) {
    std::byte raw[256];
    if (l_.edata_size > sizeof raw || !target_.read_exact(edata, raw, l_.edata_size)) {
      finding("bad-edata", edata, kNoOwner, "extent descriptor unreadable");
      return;
    }
    auto word = [&](uint64_t off) {
      uint64_t v;
      std::memcpy(&v, raw + off, 8);
      return v;
    };
    uint64_t bits = word(l_.edata_bits), addr = word(l_.edata_addr);
    uint64_t base = addr & ~(l_.page - 1), size = word(l_.edata_size_esn) & ~(l_.page - 1);
    unsigned ind = unsigned(bits_field(bits, l_.bits_arena_shift, l_.bits_arena_width));
    unsigned state = unsigned(bits_field(bits, l_.bits_state_shift, l_.bits_state_width));
    bool slab = bits_field(bits, l_.bits_slab_shift, 1);
    unsigned szind = unsigned(bits_field(bits, l_.bits_szind_shift, l_.bits_szind_width));
    int owner = owner_of(ind);
    if (size == 0 || base + size < base || (base + size) >> l_.lg_vaddr) {
      finding("bad-extent", edata, owner, fmt::format("extent at {} of {} bytes", to_hex(base), size));
      return;
    }
    if (!util::mapped_without_gap(target_, Address(base), size)) {
      finding("extent-unmapped", Address(base), owner,
              fmt::format("extent of {} bytes (descriptor {}) is not in mapped memory: left out", size, to_hex(edata)));
      return;
    }
    switch (state) {
      case kActive:
        if (slab) read_slab(edata, raw, Address(base), size, ind, szind, owner);
        else read_large(edata, Address(base), size, Address(addr), ind, szind, owner);
        return;
      case kStateDirty: add(Address(base), size, owner, kDirty); return;
      case kStateMuzzy: add(Address(base), size, owner, kMuzzy); return;
      case kStateRetained: add(Address(base), size, owner, kRetained); return;
      default:
        finding("extent-in-transition", Address(base), owner,
                fmt::format("extent state {} (being split or merged)", state));
        add(Address(base), size, owner, kUnknownExtent);
    }
  }

  void read_slab(Address edata, const std::byte* raw, Address base, uint64_t size, unsigned ind, unsigned szind,
                 int owner) {
    uint64_t reg = szind < unsigned(l_.nbins) ? size_class(l_, szind) : 0;
    uint64_t nregs = reg ? size / reg : 0;
    if (reg == 0 || nregs == 0 || nregs > uint64_t(l_.bitmap_words) * 64) {
      finding("bad-slab", edata, owner, fmt::format("slab of {} bytes with size class {}", size, szind));
      add(base, size, owner, kUnknownExtent);
      return;
    }
    uint64_t bits;
    std::memcpy(&bits, raw + l_.edata_bits, 8);
    uint64_t nfree = bits_field(bits, l_.bits_nfree_shift, l_.bits_nfree_width), free_seen = 0;
    sharded_bins_ |= bits_field(bits, l_.bits_binshard_shift, l_.bits_binshard_width) != 0;
    for (uint64_t r = 0; r < nregs; ++r) {
      uint64_t group;
      std::memcpy(&group, raw + l_.edata_slab_bitmap + (r / 64) * 8, 8);
      bool is_free = (group >> (r % 64)) & 1;  // jemalloc stores free as 1 (bitmap.h)
      Address at = base + r * reg;
      free_seen += is_free;
      Kind kind = is_free ? kFreeRegion : kRegion;
      if (cached_.erase(at.value)) {
        if (is_free) finding("tcache-free-region", at, owner, "a cached region is free in its slab too");
        kind = kTcache;
      }
      add(at, reg, owner, kind);
      if (kind != kFreeRegion) ++allocated_[{ind, szind}];
    }
    if (free_seen != nfree)
      finding("slab-nfree", edata, owner,
              fmt::format("slab of {}-byte regions: bitmap has {} free, nfree says {}", reg, free_seen, nfree));
    add(base + nregs * reg, size - nregs * reg, owner, kSlabTail);
  }

  // A large extent is one allocation; cache-oblivious builds start it at a
  // random cache line of its first page and add that page to the extent.
  void read_large(Address edata, Address base, uint64_t size, Address user, unsigned ind, unsigned szind,
                  int owner) {
    uint64_t usize = size_class(l_, szind);
    if (szind < unsigned(l_.nbins) || usize == 0 || user < base || user - base > size ||
        usize > size - (user - base)) {
      finding("bad-large", edata, owner,
              fmt::format("large extent at {} of {} bytes: size class {} at {}", to_hex(base), size, szind, to_hex(user)));
      add(base, size, owner, kUnknownExtent);
      return;
    }
    add(base, user - base, owner, kLargePad);
    add(user, usize, owner, cached_.erase(user.value) ? kTcache : kLarge);
    ++allocated_[{ind, szind}];
    add(user + usize, size - (user - base) - usize, owner, kLargePad);
  }

  // Metadata: each base is a list of blocks mapped for jemalloc's own use.
  void read_bases() {
    if (std::none_of(bases_.begin(), bases_.end(), [&](auto& b) { return b.second == roots_.b0; }) &&
        !roots_.b0.is_null())
      bases_.emplace_back(0u, roots_.b0);
    std::unordered_set<uint64_t> seen;
    for (auto [ind, base] : bases_) {
      auto first = target_.read_u64(base + l_.base_blocks);
      if (!first) {
        finding("bad-base", base, owner_of(ind), "base unreadable");
        continue;
      }
      uint64_t block = *first;
      for (int steps = 0; block != 0; ++steps) {
        check_cancel(cancel_);
        if (steps >= kMaxBaseBlocks || !seen.insert(block).second) {
          finding("base-cycle", Address(block), owner_of(ind), "the base's block list does not end");
          break;
        }
        auto size = target_.read_u64(Address(block + l_.base_block_size));
        auto next = target_.read_u64(Address(block + l_.base_block_next));
        if (!size || !next || *size < l_.base_block_header || block + *size < block ||
            !util::mapped_without_gap(target_, Address(block), *size)) {
          finding("bad-base-block", Address(block), owner_of(ind), "base block unreadable, too small or unmapped");
          break;
        }
        add(Address(block), *size, owner_of(ind), kBase);
        block = *next;
      }
    }
  }

  // jemalloc's own counters against the walk: per arena and size class,
  // the bin's curregs (small) or the arena's large allocations less its
  // large frees (large) count what the walk found allocated, cached
  // included. Bins split in shards (opt.bin_shards) lie elsewhere: not read.
  void check_counters() {
    for (auto [ind, arena] : arena_addr_) {
      check_cancel(cancel_);
      for (unsigned szind = 0; szind < unsigned(l_.nsizes); ++szind) {
        std::optional<uint64_t> theirs;
        if (szind < unsigned(l_.nbins)) {
          if (sharded_bins_) continue;
          theirs = target_.read_u64(arena + l_.arena_bins + szind * l_.bin_size + l_.bin_curregs);
        } else {
          Address stats = arena + l_.arena_lstats + (szind - l_.nbins) * l_.lstats_size;
          auto nmalloc = target_.read_u64(stats + l_.lstats_nmalloc);
          auto ndalloc = target_.read_u64(stats + l_.lstats_ndalloc);
          if (nmalloc && ndalloc) theirs = *nmalloc - *ndalloc;
        }
        auto it = allocated_.find({ind, szind});
        uint64_t ours = it == allocated_.end() ? 0 : it->second;
        if (theirs && *theirs != ours)
          finding("counter-mismatch", arena, owner_of(ind),
                  fmt::format("size class {} ({} bytes): jemalloc counts {} allocated, the walk found {}", szind,
                              size_class(l_, szind), *theirs, ours));
      }
    }
  }

  void finish() {
    for (uint64_t p : cached_)
      finding("tcache-stray", Address(p), kNoOwner, "a cached pointer that is no region or large allocation");
    sort_and_tile(heap_, 10000);
    mark_tcache_stacks();
  }

  void mark_tcache_stacks() {
    auto& blocks = heap_.blocks;
    for (uint64_t head : stack_heads_) {
      auto it = std::upper_bound(blocks.begin(), blocks.end(), Address(head),
                                 [](Address a, const Block& b) { return a < b.address; });
      if (it == blocks.begin()) continue;
      Block& b = *std::prev(it);
      if (Address(head) < b.end() && (b.kind == kRegion || b.kind == kLarge)) b.kind = kTcacheStack;
    }
  }

  const Target& target_;
  const Roots& roots_;
  const Layout& l_;
  const CancelToken& cancel_;
  Heap& heap_;
  std::map<unsigned, Address> arena_addr_;
  std::unordered_map<unsigned, int> owner_index_;
  std::vector<std::pair<unsigned, Address>> bases_;
  std::unordered_set<uint64_t> cached_;
  std::vector<uint64_t> stack_heads_;  // each thread cache's lowest bin stack head
  std::map<std::pair<unsigned, unsigned>, uint64_t> allocated_;  // (arena, size class): in use + cached
  bool sharded_bins_ = false;
};

}  // namespace

std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel) {
  auto roots = find_roots(target, symbols, cancel);
  if (!roots) return nullptr;
  auto heap = std::make_unique<Heap>();
  heap->allocator = "jemalloc";
  heap->version = roots->version;
  heap->kinds = kKinds;
  heap->emap = roots->emap;
  heap->arenas = roots->arenas;
  heap->version_known = roots->version_known;
  heap->found_by_structure = roots->by_structure;
  for (const auto& note : roots->notes) heap->findings.push_back({"note", roots->emap, kNoOwner, note});
  Walker(target, *roots, cancel, *heap).run();
  heap->build_index();
  return heap;
}

}  // namespace heapscope::jemalloc
