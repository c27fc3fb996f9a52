// The free lists of a glibc heap: every thread's tcache, each arena's
// fastbins and its unsorted, small and large bins; then each chunk's state.
// Lists are hostile input: every walk has a step bound and cycle detection,
// and each anomaly becomes a finding at the node where it shows.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "glibc/builder.h"
#include "glibc/list_chase.h"

namespace heapscope::glibc {

namespace {
constexpr uint64_t kPrevInuse = 1;
constexpr int kUnsortedBin = 1;
constexpr int kFirstLargeBin = 64;
}  // namespace

int bin_index_for_size(uint64_t sz) {
  if (sz < 1024) return static_cast<int>(sz >> 4);  // smallbin_index, 64-bit
  if ((sz >> 6) <= 48) return static_cast<int>(48 + (sz >> 6));
  if ((sz >> 9) <= 20) return static_cast<int>(91 + (sz >> 9));
  if ((sz >> 12) <= 10) return static_cast<int>(110 + (sz >> 12));
  if ((sz >> 15) <= 4) return static_cast<int>(119 + (sz >> 15));
  if ((sz >> 18) <= 2) return static_cast<int>(124 + (sz >> 18));
  return 126;
}

std::pair<uint64_t, uint64_t> bin_size_range(int bin) {
  if (bin <= kUnsortedBin) return {0, UINT64_MAX};
  if (bin < kFirstLargeBin) return {uint64_t(bin) << 4, uint64_t(bin) << 4};
  if (bin > 126) return {UINT64_MAX, UINT64_MAX};  // bin 127 exists but is never used
  // Large bins: the bounds where bin_index_for_size steps, computed once.
  static const auto bounds = [] {
    std::array<uint64_t, 128> lo{};
    for (uint64_t sz = 1024; sz < (1ull << 21); sz += 16) {
      int b = bin_index_for_size(sz);
      if (lo[b] == 0) lo[b] = sz;
    }
    return lo;
  }();
  uint64_t hi = bin == 126 ? UINT64_MAX : bounds[bin + 1] - 16;
  return {bounds[bin], hi};
}

void Builder::decide_mangling() {
  mangled = l.safe_linking;
  // Distributions back-port safe-linking (into releases before 2.32) and a
  // nearest-row guess may be wrong either way: trust the data over the version.
  int as_mangled = 0, as_plain = 0;
  auto score = [&](Address pos, uint64_t stored, uint64_t header_delta) {
    auto valid = [&](uint64_t p) {
      return p == 0 || ((p & (l.malloc_alignment - 1)) == 0 && p >= header_delta &&
                        chunk_at(Address(p - header_delta)) != nullptr);
    };
    uint64_t demangled = reveal_link(pos, stored);
    as_mangled += valid(demangled);
    as_plain += valid(stored);
  };
  for (const auto* set : {&heap.tcaches, &provisional}) {
    for (const auto& t : *set) {
      for (int i = 0; i < l.tcache_bins; ++i) {
        auto e = target.read_u64(t.address + l.tcache_bins * l.tcache_counts_width + 8 * i);
        if (!e || *e == 0) continue;
        if (auto next = target.read_u64(Address(*e))) score(Address(*e), *next, 2 * l.size_sz);
      }
    }
  }
  for (const auto& ar : heap.arenas) {
    for (int i = 0; i < l.nfastbins; ++i) {
      auto head = target.read_u64(ar.address + l.ms_fastbins + 8 * i);
      if (!head || *head == 0) continue;
      Address pos = Address(*head) + 2 * l.size_sz;
      if (auto fd = target.read_u64(pos)) score(pos, *fd, 0);
    }
  }
  if (as_plain > as_mangled) mangled = false;
  if (as_mangled > as_plain) mangled = true;
}

namespace {

ChunkState state_for_list(ListKind k) {
  switch (k) {
    case ListKind::kTcache: return ChunkState::kTcache;
    case ListKind::kFast: return ChunkState::kFast;
    case ListKind::kUnsorted: return ChunkState::kUnsorted;
    case ListKind::kSmall: return ChunkState::kSmall;
    case ListKind::kLarge: return ChunkState::kLarge;
  }
  return ChunkState::kInUse;
}

// The nodes of one list as it is walked. A node takes the list's state; one
// that already has a state is either this list's own node met again (a
// cycle) or another list's (a chunk on two lists). Only then is a set of
// this list's nodes needed, so a sound heap never builds one.
class ListWalk {
 public:
  // bound: how many nodes the list can have at most (the heap's chunks).
  // chased: the list's nodes as chase_chains found them (or none).
  ListWalk(FreeList& fl, std::vector<Address> chased, size_t bound, std::vector<Finding>& double_listed,
           const CancelToken& cancel)
      : fl_(fl), state_(state_for_list(fl.kind)), double_listed_(double_listed), cancel_(cancel),
        nodes_((fl.chunks = std::move(chased)), bound) {}

  // The chase's node `d` after the one being checked, or null.
  Address ahead(size_t d) const { return nodes_.ahead(d); }

  // False when c is already on this list: the walk must stop.
  bool enter(Chunk& c) {
    if (c.kind != ChunkState::kInUse) {
      if (!tracking_) {
        members_.insert(nodes_.met().begin(), nodes_.met().end());
        tracking_ = true;
      }
      if (members_.count(c.address)) return false;
      double_listed_.push_back(
          {"double-listed", c.address, fl_.arena,
           fmt::format("chunk {} is on a {} list but is already {} (double free?)", to_hex(c.address),
                       list_kind_name(fl_.kind), state_name(state_of(c)))});
    } else {
      c.kind = state_;
    }
    return true;
  }
  void append(const Chunk& c) {
    // A list of millions of chunks is a long loop: Ctrl-C must reach it.
    if ((nodes_.met().size() & 0xffff) == 0xffff) check_cancel(cancel_);
    nodes_.meet(c.address);
    if (tracking_) members_.insert(c.address);
  }
  // The walk has ended: fl.chunks is the list as met.
  void finish() { nodes_.finish(); }

 private:
  FreeList& fl_;
  ChunkState state_;
  std::vector<Finding>& double_listed_;
  const CancelToken& cancel_;
  bool tracking_ = false;
  std::unordered_set<Address> members_;
  ListNodes nodes_;  // over fl_.chunks
};

}  // namespace

// tcache: entries point at user data; `next` is mangled with its own address.
void Builder::walk_tcache(const Tcache& t, std::vector<Finding>& double_listed) {
  check_cancel(cancel);
  const uint64_t align_mask = l.malloc_alignment - 1;
  const Address counts = t.address, entries = t.address + l.tcache_bins * l.tcache_counts_width;
  for (int i = 0; i < l.tcache_bins; ++i) {
    FreeList fl{ListKind::kTcache, t.arena, i, t.tid, entries + 8 * i};
    if (i < l.tcache_small_bins) {
      fl.min_size = fl.max_size = l.min_chunk + i * l.malloc_alignment;
    } else {
      // 2.42+ large tcache bins: each holds a range of sizes above the small ones.
      fl.min_size = l.min_chunk + l.tcache_small_bins * l.malloc_alignment;
      fl.max_size = UINT64_MAX;
    }
    const uint16_t slot_value = target.read_value<uint16_t>(counts + 2 * i).value_or(0);
    fl.expected_count = slot_value;
    if (l.tcache_counts_free_slots) {
      // num_slots[i] is the room left: chunks held = mp_.tcache_count - num_slots[i].
      if (slot_value > heap.mp.tcache_count) {
        fl.findings.push_back({"tcache-count", counts + 2 * i, t.arena,
                               fmt::format("tcache bin {} has {} free slots, more than mp_.tcache_count {}", i,
                                           slot_value, heap.mp.tcache_count)});
        fl.expected_count = 0;
      } else {
        fl.expected_count = heap.mp.tcache_count - slot_value;
      }
    }
    uint64_t e = target.read_u64(entries + 8 * i).value_or(0);
    ListWalk walk(fl, {}, heap.blocks.size(), double_listed, cancel);
    while (e != 0) {
      Address entry(e);
      auto bad = [&](std::string kind, std::string detail) {
        fl.findings.push_back({std::move(kind), entry, t.arena, std::move(detail)});
      };
      if (e & align_mask) {
        bad("tcache-unaligned", fmt::format("tcache entry {} is not aligned (malloc(): unaligned tcache chunk detected)", to_hex(entry)));
        break;
      }
      Chunk* c = chunk_at(entry - 2 * l.size_sz);
      if (!c) {
        bad("tcache-stray", fmt::format("tcache entry {} is not the data of any chunk", to_hex(entry)));
        break;
      }
      if (!walk.enter(*c)) {
        bad("tcache-cycle", fmt::format("tcache list {} loops back to {}", i, to_hex(entry)));
        break;
      }
      if (c->size < fl.min_size || c->size > fl.max_size)
        bad("tcache-size", fmt::format("chunk {} of size {:#x} is in tcache bin {} (size {:#x})", to_hex(c->address), uint64_t{c->size}, i, fl.min_size));
      walk.append(*c);
      auto stored = node_word(entry);
      if (!stored) {
        bad("unreadable", fmt::format("tcache entry {} cannot be read", to_hex(entry)));
        break;
      }
      e = demangle(entry, *stored);
    }
    walk.finish();
    if (fl.chunks.size() != fl.expected_count)
      fl.findings.push_back({"tcache-count", entries + 8 * i, t.arena,
                             fmt::format("tcache bin {} holds {} chunks but counts[{}] is {}", i,
                                         fl.chunks.size(), i, fl.expected_count)});
    if (!fl.chunks.empty() || !fl.findings.empty()) heap.lists.push_back(std::move(fl));
  }
}

void Builder::walk_lists() {
  // Each node takes its list's state as it is met (the first list to hold a
  // chunk names it); a chunk met twice in one list is a cycle.
  std::vector<Finding> double_listed;
  const uint64_t align_mask = l.malloc_alignment - 1;
  heap_words = std::make_unique<HeapWords>(target, heap.arenas);
  auto by_arena = [](const Tcache& a, const Tcache& b) {
    return a.arena != b.arena ? a.arena < b.arena : a.address < b.address;
  };
  std::sort(heap.tcaches.begin(), heap.tcaches.end(), by_arena);
  for (const auto& t : heap.tcaches) walk_tcache(t, double_listed);
  // Every arena's fastbins and bins chased at once (unless a second thread
  // did while the heaps were walked, reading links as they are), in the
  // order walked below.
  std::vector<std::vector<Address>> chased = std::move(chased_ahead);
  if (chased.empty() || chased_mangled != mangled)
    chased = chase_chains(chain_starts(mangled), l.malloc_alignment, heap.blocks.size(), target, heap_words.get(),
                          cancel);
  size_t next_chased = 0;
  // With the chase's nodes ahead of a walk, their lines and index words load
  // kNodesAhead nodes early and their blocks half as early (a block's
  // position needs its index word first). False when the chase has no
  // node after the current one.
  constexpr size_t kNodesAhead = 12;
  auto read_ahead = [&](const ListWalk& w) {
    if (Address far = w.ahead(kNodesAhead); !far.is_null()) prefetch_node(far);
    if (Address near = w.ahead(kNodesAhead / 2); !near.is_null()) prefetch_block(near);
    return !w.ahead(1).is_null();
  };
  for (const auto& ar : heap.arenas) {
    check_cancel(cancel);
    // fastbins: chunk pointers; fd mangled with the address of the fd field.
    for (int i = 0; i < l.nfastbins; ++i) {
      Address slot = ar.address + l.ms_fastbins + 8 * i;
      FreeList fl{ListKind::kFast, ar.index, i, 0, slot};
      fl.min_size = fl.max_size = l.min_chunk + i * l.malloc_alignment;
      uint64_t p = target.read_u64(slot).value_or(0);
      ListWalk walk(fl, std::move(chased[next_chased++]), heap.blocks.size(), double_listed, cancel);
      while (p != 0) {
        Address at(p);
        auto bad = [&](std::string kind, std::string detail) {
          fl.findings.push_back({std::move(kind), at, ar.index, std::move(detail)});
        };
        if (p & align_mask) {
          bad("fast-unaligned", fmt::format("fastbin {} entry {} is not aligned (malloc(): unaligned fastbin chunk detected)", i, to_hex(at)));
          break;
        }
        // The next node's address first, so its lines load meanwhile.
        const Address pos = at + 2 * l.size_sz;
        const auto stored = node_word(pos);
        if (!read_ahead(walk) && stored) prefetch_node(Address(demangle(pos, *stored)));
        Chunk* c = chunk_at(at);
        if (!c) {
          bad("fast-stray", fmt::format("fastbin {} entry {} is not a chunk", i, to_hex(at)));
          break;
        }
        if (!walk.enter(*c)) {
          bad("fast-cycle", fmt::format("fastbin {} loops back to {}", i, to_hex(at)));
          break;
        }
        if (c->size != fl.min_size)
          bad("fast-size", fmt::format("chunk {} of size {:#x} is in fastbin {} (size {:#x}) (malloc(): memory corruption (fast))", to_hex(at), uint64_t{c->size}, i, fl.min_size));
        walk.append(*c);
        if (!stored) break;
        p = demangle(pos, *stored);
      }
      walk.finish();
      if (!fl.chunks.empty() || !fl.findings.empty()) heap.lists.push_back(std::move(fl));
    }
    // Bins 1 (unsorted) .. NBINS-1: circular, doubly linked through fd/bk.
    for (int i = 1; i < l.nbins; ++i) {
      const Address bin = ar.address + l.ms_bins + (i - 1) * 2 * l.size_sz - 2 * l.size_sz;
      ListKind kind = i == kUnsortedBin ? ListKind::kUnsorted
                      : i < kFirstLargeBin ? ListKind::kSmall
                                           : ListKind::kLarge;
      FreeList fl{kind, ar.index, i, 0, bin + 2 * l.size_sz};
      std::tie(fl.min_size, fl.max_size) = bin_size_range(i);
      auto fd = target.read_u64(bin + 2 * l.size_sz);
      auto bk = target.read_u64(bin + 3 * l.size_sz);
      std::vector<Address> chased_nodes = std::move(chased[next_chased++]);
      if (!fd || !bk) continue;
      Address prev = bin, cur(*fd);
      ListWalk walk(fl, std::move(chased_nodes), heap.blocks.size(), double_listed, cancel);
      while (cur != bin) {
        auto bad = [&](std::string k, std::string detail) {
          fl.findings.push_back({std::move(k), cur, ar.index, std::move(detail)});
        };
        // The next node's address first, so its lines load meanwhile.
        const auto next = node_word(cur + 2 * l.size_sz);
        if (!read_ahead(walk) && next) prefetch_node(Address(*next));
        Chunk* c = chunk_at(cur);
        if (!c) {
          bad("bin-stray", fmt::format("bin {} points at {}, which is not a chunk", i, to_hex(cur)));
          break;
        }
        if (!walk.enter(*c)) {
          bad("bin-cycle", fmt::format("bin {} loops back to {} without returning to the bin", i, to_hex(cur)));
          break;
        }
        auto c_bk = node_word(cur + 3 * l.size_sz);
        if (!c_bk || *c_bk != prev.value)
          bad("bin-backlink", fmt::format("chunk {}'s bk is {} but the previous node is {} (corrupted double-linked list)", to_hex(cur), to_hex(c_bk.value_or(0)), to_hex(prev)));
        if (c->size < fl.min_size || c->size > fl.max_size)
          bad("bin-size", fmt::format("chunk {} of size {:#x} is in bin {} (sizes {:#x}..{:#x})", to_hex(cur), uint64_t{c->size}, i, fl.min_size, fl.max_size));
        if (c->owner != ar.index)
          bad("bin-arena", fmt::format("chunk {} belongs to arena {} but is in a bin of arena {}", to_hex(cur), int{c->owner}, ar.index));
        walk.append(*c);
        if (!next) break;
        prev = cur;
        cur = Address(*next);
      }
      walk.finish();
      if (cur == bin && bk && Address(*bk) != prev)
        fl.findings.push_back({"bin-backlink", bin, ar.index,
                               fmt::format("bin {}'s bk is {} but its last chunk is {}", i, to_hex(*bk), to_hex(prev))});
      if (!fl.chunks.empty() || !fl.findings.empty()) heap.lists.push_back(std::move(fl));
    }
  }
  // A candidate that some list holds is a freed chunk, never a live tcache
  // (the tcache_perthread_struct of an exited thread, freed by
  // tcache_thread_shutdown, then perhaps reused and freed again).
  for (const auto& t : provisional) {
    Chunk* c = chunk_at(t.address - 2 * l.size_sz);
    if (!c || c->kind != ChunkState::kInUse) continue;
    c->kind = ChunkState::kMetadata;
    heap.tcaches.push_back(t);
    walk_tcache(t, double_listed);
  }
  std::sort(heap.tcaches.begin(), heap.tcaches.end(), by_arena);
  // Tcache lists first, in the tcaches' order; the arenas' lists as walked.
  std::stable_sort(heap.lists.begin(), heap.lists.end(), [](const FreeList& a, const FreeList& b) {
    const bool ta = a.kind == ListKind::kTcache, tb = b.kind == ListKind::kTcache;
    if (ta != tb) return ta;
    return ta && (a.arena != b.arena ? a.arena < b.arena : a.head < b.head);
  });
  for (const auto& fl : heap.lists)
    heap.findings.insert(heap.findings.end(), fl.findings.begin(), fl.findings.end());
  heap.findings.insert(heap.findings.end(), double_listed.begin(), double_listed.end());
}

std::vector<ChainStart> Builder::chain_starts(bool mangled_links) const {
  std::vector<ChainStart> starts;
  for (const auto& ar : heap.arenas) {
    for (int i = 0; i < l.nfastbins; ++i)
      starts.push_back(
          {target.read_u64(ar.address + l.ms_fastbins + 8 * i).value_or(0), 2 * l.size_sz, 0, mangled_links});
    for (int i = 1; i < l.nbins; ++i) {
      const Address bin = ar.address + l.ms_bins + (i - 1) * 2 * l.size_sz - 2 * l.size_sz;
      starts.push_back({target.read_u64(bin + 2 * l.size_sz).value_or(bin.value), 2 * l.size_sz, bin.value, false});
    }
  }
  return starts;
}

void Builder::classify() {
  // List nodes took their states in walk_lists. A chunk whose successor has PREV_INUSE clear is free: it must be in a bin.
  auto& cs = heap.blocks;
  for (size_t i = 0; i + 1 < cs.size(); ++i) {
    Chunk& c = cs[i];
    const Chunk& next = cs[i + 1];
    // An unknown run's flag bits are garbage: they say nothing of c.
    if (c.end() != next.address || c.owner != next.owner || next.kind == ChunkState::kMmapped ||
        next.kind == ChunkState::kUnknown || c.kind == ChunkState::kUnknown)
      continue;
    bool free_by_neighbour = !(next.bits & kPrevInuse);
    if (free_by_neighbour && c.kind == ChunkState::kInUse) {
      c.kind = ChunkState::kFreeUnlisted;
      finding("free-unlisted", c.address, c.owner,
              fmt::format("chunk {} is free (next chunk's PREV_INUSE is clear) but on no list", to_hex(c.address)));
    } else if (!free_by_neighbour && (c.kind == ChunkState::kUnsorted || c.kind == ChunkState::kSmall ||
                                      c.kind == ChunkState::kLarge)) {
      finding("prev-inuse", next.address, next.owner,
              fmt::format("chunk {} is in a bin but the next chunk {} has PREV_INUSE set", to_hex(c.address), to_hex(next.address)));
    }
  }
}

}  // namespace heapscope::glibc
