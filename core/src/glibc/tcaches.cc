// Which tcache_perthread_structs are live, and whose. A thread has at most
// one tcache: the one its `tcache` TLS variable points to. That variable is
// in libc's block of static TLS, at the same distance from the thread
// pointer in every thread; the distance is found from the data (the one at
// which the threads' words are their tcaches), so that a stale pointer in a
// reused stack or TLS block, or a freed struct, is never taken for a live
// tcache. Only when some thread's TLS cannot be read does a structure count
// by where it lies or by its shape, and then only if no free list holds it.
#include <algorithm>
#include <unordered_set>

#include "glibc/builder.h"

namespace heapscope::glibc {

namespace {

// The words of each thread's TLS window, nearest the thread pointer first:
// below it on x86-64 (TLS variant II), above its 16-byte TCB on aarch64
// (variant I). 16 KiB holds libc's block in any real program.
constexpr uint64_t kTlsWindow = 16384;

struct TlsWindow {
  int tid = 0;
  std::vector<uint64_t> words;  // words[i]: the i-th word away from the thread pointer
};

std::vector<TlsWindow> read_tls_windows(const Target& target, bool& some_unread) {
  std::vector<TlsWindow> out;
  const bool above = target.arch() == Arch::kAArch64;
  some_unread = target.threads().empty();
  for (const auto& t : target.threads()) {
    const Address tp = t.thread_pointer;
    const Region* r = tp.is_null() ? nullptr : target.find_region(above ? tp : tp - 8);
    if (!r) {
      some_unread = true;
      continue;
    }
    // Within the region holding the thread pointer: no wrap, no other mapping.
    const uint64_t room = above ? r->range.end - tp : tp - r->range.begin;
    const uint64_t n = std::min(kTlsWindow, room) / 8;
    TlsWindow w{t.tid, std::vector<uint64_t>(n)};
    const Address lo = above ? tp : tp - n * 8;
    size_t got = target.read(lo, {reinterpret_cast<std::byte*>(w.words.data()), n * 8}) / 8;
    if (got < n) {
      some_unread = true;
      continue;
    }
    if (!above) std::reverse(w.words.begin(), w.words.end());
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

bool Builder::plausible_tcache(Address data) const {
  const uint64_t cap = heap.mp.tcache_count ? heap.mp.tcache_count : UINT16_MAX;
  for (int i = 0; i < l.tcache_bins; ++i) {
    uint64_t n = 0;
    const Address at = data + static_cast<uint64_t>(i) * l.tcache_counts_width;
    if (l.tcache_counts_width == 2) n = target.read_value<uint16_t>(at).value_or(UINT64_MAX);
    else n = target.read_value<uint8_t>(at).value_or(UINT64_MAX);
    if (n > cap) return false;
    auto e = target.read_u64(data + l.tcache_bins * l.tcache_counts_width + 8 * i);
    if (!e) return false;
    if (*e != 0 && ((*e & (l.malloc_alignment - 1)) || *e < 2 * l.size_sz ||
                    heap.index.at(heap.blocks, *e - 2 * l.size_sz) == BlockIndex::kNone))
      return false;
  }
  return true;
}

void Builder::find_tcaches() {
  if (!l.has_tcache) return;
  const uint64_t want = (l.tcache_struct_size + l.size_sz + l.malloc_alignment - 1) &
                        ~(l.malloc_alignment - 1);
  const uint64_t header = 2 * l.size_sz;
  // Before the lists are walked every chunk off the top looks in use.
  auto chunk_of = [&](uint64_t data) -> Chunk* {
    if (data & (l.malloc_alignment - 1) || data < header) return nullptr;
    Chunk* c = chunk_at(Address(data - header));
    return c && c->kind == ChunkState::kInUse && c->size == want ? c : nullptr;
  };
  bool some_unread = false;
  const std::vector<TlsWindow> windows = read_tls_windows(target, some_unread);

  // The slot: the word index at which the most threads hold a tcache-sized
  // chunk, each its own, and no thread holds another heap address (the slot
  // holds a tcache, null, or before 2.43's first malloc a dummy in libc).
  // Ties go to the slot whose structs look most like tcaches, then to the
  // nearest the thread pointer.
  size_t longest = 0;
  for (const auto& w : windows) longest = std::max(longest, w.words.size());
  std::vector<uint32_t> support(longest), plausible(longest);
  std::vector<uint8_t> refuted(longest);
  for (const auto& w : windows) {
    for (size_t i = 0; i < w.words.size(); ++i) {
      const uint64_t v = w.words[i];
      if (v == 0 || refuted[i]) continue;
      if (chunk_of(v)) {
        ++support[i];
        plausible[i] += plausible_tcache(Address(v));
      } else if (heap.index.containing(heap.blocks, v) != BlockIndex::kNone) {
        refuted[i] = 1;
      }
    }
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < longest; ++i)
    if (support[i] > 0 && !refuted[i]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return support[a] != support[b] ? support[a] > support[b] : plausible[a] > plausible[b];
  });
  std::optional<size_t> slot;
  for (size_t i : order) {
    std::unordered_set<uint64_t> owned;
    bool distinct = true;
    for (const auto& w : windows)
      if (i < w.words.size() && chunk_of(w.words[i])) distinct = distinct && owned.insert(w.words[i]).second;
    if (distinct) {
      slot = i;
      break;
    }
  }
  if (slot) {
    for (const auto& w : windows) {
      if (*slot >= w.words.size()) {
        some_unread = true;
        continue;
      }
      if (Chunk* c = chunk_of(w.words[*slot])) {
        heap.tcaches.push_back({Address(w.words[*slot]), w.tid, c->owner});
        c->kind = ChunkState::kMetadata;
      }
    }
    if (!some_unread) return;
  }

  // Some thread's slot is unknown. The first chunk of an arena's first heap
  // is the tcache of the thread that made the arena (up to 2.42), if it
  // looks like one; with a thread pointer unknown (qemu-user's cores have no
  // NT_ARM_TLS) and 2.43's lazily allocated tcaches, any chunk of its size
  // whose every non-empty bin points at a chunk of that bin's size, with a
  // count that says it holds some. These are only candidates: walk_lists
  // drops any that a free list holds.
  std::unordered_set<uint64_t> taken;
  for (const auto& t : heap.tcaches) taken.insert(t.address.value);
  auto propose = [&](const Chunk& c) {
    if (taken.insert(c.address.value + header).second)
      provisional.push_back({c.address + header, 0, c.owner});
  };
  for (const auto& ar : heap.arenas) {
    if (ar.heaps.empty()) continue;
    const Address hb = ar.heaps.front().range.begin;
    auto it = std::lower_bound(heap.blocks.begin(), heap.blocks.end(), hb,
                               [](const Chunk& c, Address x) { return c.address < x; });
    while (it != heap.blocks.end() && it->kind == ChunkState::kMetadata && it->owner == ar.index) ++it;
    if (it == heap.blocks.end() || !chunk_of(it->address.value + header)) continue;
    // Every entry null or a 16-aligned heap address.
    bool ok = true;
    for (int i = 0; i < l.tcache_bins && ok; ++i) {
      auto e = target.read_u64(it->address + header + l.tcache_bins * l.tcache_counts_width + 8 * i);
      ok = e && (*e == 0 || ((*e & (l.malloc_alignment - 1)) == 0 && in_some_heap(Address(*e))));
    }
    if (ok) propose(*it);
  }
  const bool tp_unknown = target.threads().empty() ||
                          std::any_of(target.threads().begin(), target.threads().end(),
                                      [](const Thread& t) { return t.thread_pointer.is_null(); });
  if (!tp_unknown || l.tcache_counts_width != 2) return;
  std::vector<uint16_t> counts(static_cast<size_t>(l.tcache_bins));
  std::vector<uint64_t> entries(static_cast<size_t>(l.tcache_bins));
  const uint64_t large_min = l.min_chunk + static_cast<uint64_t>(l.tcache_small_bins) * l.malloc_alignment;
  for (size_t k = 0; k < heap.blocks.size(); ++k) {
    if ((k & 0xffff) == 0xffff) check_cancel(cancel);
    const Chunk& c = heap.blocks[k];
    if (c.kind != ChunkState::kInUse || c.size != want || taken.count(c.address.value + header)) continue;
    const Address base = c.address + header;
    if (!target.read_exact(base, counts.data(), counts.size() * 2) ||
        !target.read_exact(base + l.tcache_bins * 2, entries.data(), entries.size() * 8))
      continue;
    int held = 0;
    bool ok = true;
    for (int i = 0; i < l.tcache_bins && ok; ++i) {
      const uint64_t e = entries[static_cast<size_t>(i)];
      if (e == 0) continue;
      const Chunk* t = e < header || (e & (l.malloc_alignment - 1)) ? nullptr : chunk_at(Address(e - header));
      const uint64_t small = l.min_chunk + static_cast<uint64_t>(i) * l.malloc_alignment;
      const uint16_t n = counts[static_cast<size_t>(i)];
      ok = t && t->kind == ChunkState::kInUse &&
           (i < l.tcache_small_bins ? t->size == small : t->size >= large_min) &&
           (l.tcache_counts_free_slots ? n < heap.mp.tcache_count : n > 0);
      ++held;
    }
    if (ok && held > 0) propose(c);
  }
}

}  // namespace heapscope::glibc
