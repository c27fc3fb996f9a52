// The free lists of a glibc heap: every thread's tcache, each arena's
// fastbins and its unsorted, small and large bins; then each chunk's state.
// Lists are hostile input: every walk has a step bound and cycle detection,
// and each anomaly becomes a finding at the node where it shows.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "glibc/builder.h"

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

void Builder::find_tcaches() {
  if (!l.has_tcache) return;
  const uint64_t want = (l.tcache_struct_size + l.size_sz + l.malloc_alignment - 1) &
                        ~(l.malloc_alignment - 1);
  auto is_candidate = [&](Address chunk) {
    Chunk* c = chunk_at(chunk);
    return c && c->state == ChunkState::kInUse && c->size == want;
  };
  std::unordered_set<uint64_t> found;
  auto add = [&](Address chunk, int tid) {
    if (!found.insert(chunk.value).second) return;
    Chunk* c = chunk_at(chunk);
    heap.tcaches.push_back({chunk + 2 * l.size_sz, tid, c->arena});
  };
  // Each thread's `tcache` TLS variable lies in the static TLS block: just
  // below the thread pointer on x86-64 (TLS variant II), just above it
  // (after the 16-byte TCB) on aarch64 (variant I).
  constexpr uint64_t kTlsScan = 16384;
  const bool tls_above = target.arch() == Arch::kAArch64;
  bool some_tp_unknown = target.threads().empty();
  for (const auto& t : target.threads()) {
    some_tp_unknown = some_tp_unknown || t.thread_pointer.is_null();
    if (t.thread_pointer.is_null()) continue;
    const Region* r = target.find_region(tls_above ? t.thread_pointer : t.thread_pointer - 8);
    if (!r) continue;
    Address lo = tls_above ? t.thread_pointer
                           : t.thread_pointer - std::min<uint64_t>(kTlsScan, t.thread_pointer - r->range.begin);
    Address hi = tls_above ? t.thread_pointer + std::min<uint64_t>(kTlsScan, r->range.end - t.thread_pointer)
                           : t.thread_pointer;
    std::vector<uint64_t> words((hi - lo) / 8);
    size_t n = target.read(lo, {reinterpret_cast<std::byte*>(words.data()), words.size() * 8}) / 8;
    for (size_t i = 0; i < n; ++i) {
      uint64_t w = words[i];
      if (w & (l.malloc_alignment - 1) || w < 2 * l.size_sz) continue;
      if (is_candidate(Address(w - 2 * l.size_sz))) add(Address(w - 2 * l.size_sz), t.tid);
    }
  }
  // Without threads (or for a thread whose TLS was not found), the first
  // chunk of an arena's first heap is the tcache of the thread that made it.
  for (const auto& ar : heap.arenas) {
    if (ar.heaps.empty()) continue;
    const Address hb = ar.heaps.front().range.begin;
    auto it = std::lower_bound(heap.chunks.begin(), heap.chunks.end(), hb,
                               [](const Chunk& c, Address x) { return c.address < x; });
    while (it != heap.chunks.end() && it->state == ChunkState::kMetadata && it->arena == ar.index) ++it;
    if (it == heap.chunks.end() || !is_candidate(it->address)) continue;
    if (found.count(it->address.value)) continue;
    // Confirm its shape: every entry null or a 16-aligned heap address.
    bool ok = true;
    for (int i = 0; i < l.tcache_bins && ok; ++i) {
      auto e = target.read_u64(it->address + 2 * l.size_sz + l.tcache_bins * l.tcache_counts_width + 8 * i);
      ok = e && (*e == 0 || ((*e & (l.malloc_alignment - 1)) == 0 && in_some_heap(Address(*e))));
    }
    if (ok) add(it->address, 0);
  }
  // A thread pointer unknown (qemu-user's cores have no NT_ARM_TLS) and the
  // tcache allocated lazily (2.43+: not its arena's first chunk): know a
  // tcache by its shape, a chunk of its size whose every non-empty bin
  // points at the data of an in-use-looking chunk of that bin's size, with a
  // count that says it holds some.
  if (some_tp_unknown) {
    std::vector<uint16_t> counts(static_cast<size_t>(l.tcache_bins));
    std::vector<uint64_t> entries(static_cast<size_t>(l.tcache_bins));
    for (size_t k = 0; k < heap.chunks.size(); ++k) {
      const Chunk& c = heap.chunks[k];
      if (c.state != ChunkState::kInUse || c.size != want || found.count(c.address.value)) continue;
      const Address base = c.address + 2 * l.size_sz;
      if (l.tcache_counts_width != 2 || !target.read_exact(base, counts.data(), counts.size() * 2) ||
          !target.read_exact(base + l.tcache_bins * 2, entries.data(), entries.size() * 8))
        continue;
      int held = 0;
      bool ok = true;
      for (int i = 0; i < l.tcache_bins && ok; ++i) {
        uint64_t e = entries[static_cast<size_t>(i)];
        if (e == 0) continue;
        Chunk* t = (e & (l.malloc_alignment - 1)) || e < 2 * l.size_sz ? nullptr : chunk_at(Address(e - 2 * l.size_sz));
        uint64_t small = l.min_chunk + static_cast<uint64_t>(i) * l.malloc_alignment;
        uint64_t large_min = l.min_chunk + static_cast<uint64_t>(l.tcache_small_bins) * l.malloc_alignment;
        uint16_t n = counts[static_cast<size_t>(i)];
        ok = t && t->state == ChunkState::kInUse &&
             (i < l.tcache_small_bins ? t->size == small : t->size >= large_min) &&
             (l.tcache_counts_free_slots ? n < heap.mp.tcache_count : n > 0);
        ++held;
      }
      if (ok && held > 0) add(c.address, 0);
    }
  }
  for (const auto& t : heap.tcaches) chunk_at(t.address - 2 * l.size_sz)->state = ChunkState::kMetadata;
  std::sort(heap.tcaches.begin(), heap.tcaches.end(), [](const Tcache& a, const Tcache& b) {
    return a.arena != b.arena ? a.arena < b.arena : a.address < b.address;
  });
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
    uint64_t demangled = stored ^ (pos.value >> 12);
    as_mangled += valid(demangled);
    as_plain += valid(stored);
  };
  for (const auto& t : heap.tcaches) {
    for (int i = 0; i < l.tcache_bins; ++i) {
      auto e = target.read_u64(t.address + l.tcache_bins * l.tcache_counts_width + 8 * i);
      if (!e || *e == 0) continue;
      if (auto next = target.read_u64(Address(*e))) score(Address(*e), *next, 2 * l.size_sz);
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

ChunkState state_of(ListKind k) {
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
  ListWalk(FreeList& fl, std::vector<Finding>& double_listed)
      : fl_(fl), state_(state_of(fl.kind)), double_listed_(double_listed) {}

  // False when c is already on this list: the walk must stop.
  bool enter(Chunk& c) {
    if (c.state != ChunkState::kInUse) {
      if (!tracking_) {
        members_.insert(fl_.chunks.begin(), fl_.chunks.end());
        tracking_ = true;
      }
      if (members_.count(c.address)) return false;
      double_listed_.push_back(
          {"double-listed", c.address, fl_.arena,
           fmt::format("chunk {} is on a {} list but is already {} (double free?)", to_hex(c.address),
                       list_kind_name(fl_.kind), state_name(c.state))});
    } else {
      c.state = state_;
    }
    return true;
  }
  void append(const Chunk& c) {
    fl_.chunks.push_back(c.address);
    if (tracking_) members_.insert(c.address);
  }

 private:
  FreeList& fl_;
  ChunkState state_;
  std::vector<Finding>& double_listed_;
  bool tracking_ = false;
  std::unordered_set<Address> members_;
};

}  // namespace

void Builder::walk_lists() {
  // Each node takes its list's state as it is met (the first list to hold a
  // chunk names it); a chunk met twice in one list is a cycle.
  std::vector<Finding> double_listed;
  const uint64_t align_mask = l.malloc_alignment - 1;
  // tcache: entries point at user data; `next` is mangled with its own address.
  for (const auto& t : heap.tcaches) {
    check_cancel(cancel);
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
      ListWalk walk(fl, double_listed);
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
        auto stored = target.read_u64(entry);
        if (!stored) {
          bad("unreadable", fmt::format("tcache entry {} cannot be read", to_hex(entry)));
          break;
        }
        e = demangle(entry, *stored);
      }
      if (fl.chunks.size() != fl.expected_count)
        fl.findings.push_back({"tcache-count", entries + 8 * i, t.arena,
                               fmt::format("tcache bin {} holds {} chunks but counts[{}] is {}", i,
                                           fl.chunks.size(), i, fl.expected_count)});
      if (!fl.chunks.empty() || !fl.findings.empty()) heap.lists.push_back(std::move(fl));
    }
  }
  for (const auto& ar : heap.arenas) {
    check_cancel(cancel);
    // fastbins: chunk pointers; fd mangled with the address of the fd field.
    for (int i = 0; i < l.nfastbins; ++i) {
      Address slot = ar.address + l.ms_fastbins + 8 * i;
      FreeList fl{ListKind::kFast, ar.index, i, 0, slot};
      fl.min_size = fl.max_size = l.min_chunk + i * l.malloc_alignment;
      uint64_t p = target.read_u64(slot).value_or(0);
      ListWalk walk(fl, double_listed);
      while (p != 0) {
        Address at(p);
        auto bad = [&](std::string kind, std::string detail) {
          fl.findings.push_back({std::move(kind), at, ar.index, std::move(detail)});
        };
        if (p & align_mask) {
          bad("fast-unaligned", fmt::format("fastbin {} entry {} is not aligned (malloc(): unaligned fastbin chunk detected)", i, to_hex(at)));
          break;
        }
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
        Address pos = at + 2 * l.size_sz;
        auto stored = target.read_u64(pos);
        if (!stored) break;
        p = demangle(pos, *stored);
      }
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
      if (!fd || !bk) continue;
      Address prev = bin, cur(*fd);
      ListWalk walk(fl, double_listed);
      while (cur != bin) {
        auto bad = [&](std::string k, std::string detail) {
          fl.findings.push_back({std::move(k), cur, ar.index, std::move(detail)});
        };
        Chunk* c = chunk_at(cur);
        if (!c) {
          bad("bin-stray", fmt::format("bin {} points at {}, which is not a chunk", i, to_hex(cur)));
          break;
        }
        if (!walk.enter(*c)) {
          bad("bin-cycle", fmt::format("bin {} loops back to {} without returning to the bin", i, to_hex(cur)));
          break;
        }
        auto c_bk = target.read_u64(cur + 3 * l.size_sz);
        if (!c_bk || *c_bk != prev.value)
          bad("bin-backlink", fmt::format("chunk {}'s bk is {} but the previous node is {} (corrupted double-linked list)", to_hex(cur), to_hex(c_bk.value_or(0)), to_hex(prev)));
        if (c->size < fl.min_size || c->size > fl.max_size)
          bad("bin-size", fmt::format("chunk {} of size {:#x} is in bin {} (sizes {:#x}..{:#x})", to_hex(cur), uint64_t{c->size}, i, fl.min_size, fl.max_size));
        if (c->arena != ar.index)
          bad("bin-arena", fmt::format("chunk {} belongs to arena {} but is in a bin of arena {}", to_hex(cur), int{c->arena}, ar.index));
        walk.append(*c);
        auto next = target.read_u64(cur + 2 * l.size_sz);
        if (!next) break;
        prev = cur;
        cur = Address(*next);
      }
      if (cur == bin && bk && Address(*bk) != prev)
        fl.findings.push_back({"bin-backlink", bin, ar.index,
                               fmt::format("bin {}'s bk is {} but its last chunk is {}", i, to_hex(*bk), to_hex(prev))});
      if (!fl.chunks.empty() || !fl.findings.empty()) heap.lists.push_back(std::move(fl));
    }
  }
  for (const auto& fl : heap.lists)
    heap.findings.insert(heap.findings.end(), fl.findings.begin(), fl.findings.end());
  heap.findings.insert(heap.findings.end(), double_listed.begin(), double_listed.end());
}

void Builder::classify() {
  // List nodes took their states in walk_lists. A chunk whose successor has PREV_INUSE clear is free: it must be in a bin.
  auto& cs = heap.chunks;
  for (size_t i = 0; i + 1 < cs.size(); ++i) {
    Chunk& c = cs[i];
    const Chunk& next = cs[i + 1];
    // An unknown run's flag bits are garbage: they say nothing of c.
    if (c.end() != next.address || c.arena != next.arena || next.state == ChunkState::kMmapped ||
        next.state == ChunkState::kUnknown || c.state == ChunkState::kUnknown)
      continue;
    bool free_by_neighbour = !(next.flags & kPrevInuse);
    if (free_by_neighbour && c.state == ChunkState::kInUse) {
      c.state = ChunkState::kFreeUnlisted;
      finding("free-unlisted", c.address, c.arena,
              fmt::format("chunk {} is free (next chunk's PREV_INUSE is clear) but on no list", to_hex(c.address)));
    } else if (!free_by_neighbour && (c.state == ChunkState::kUnsorted || c.state == ChunkState::kSmall ||
                                      c.state == ChunkState::kLarge)) {
      finding("prev-inuse", next.address, next.arena,
              fmt::format("chunk {} is in a bin but the next chunk {} has PREV_INUSE set", to_hex(c.address), to_hex(next.address)));
    }
  }
}

}  // namespace heapscope::glibc
