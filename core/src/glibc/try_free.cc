#include "glibc/try_free.h"

#include <fmt/format.h>

#include "heapscope/error.h"

namespace heapscope::glibc {

namespace {

constexpr uint64_t kPrevInuse = 1, kIsMmapped = 2, kNonMainArena = 4, kFlagBits = 7;
constexpr uint64_t kHeaderSize = 16;                          // CHUNK_HDR_SZ
constexpr uint64_t kDefaultMaxFast = 0x80;                    // DEFAULT_MXFAST, 64-bit
constexpr uint64_t kMmapThresholdMax = 32ull << 20;           // DEFAULT_MMAP_THRESHOLD_MAX, 64-bit
constexpr uint64_t kConsolidationThreshold = 65536;           // FASTBIN_CONSOLIDATION_THRESHOLD
constexpr uint32_t kNonContiguous = 2;                        // NONCONTIGUOUS_BIT of malloc_state.flags
constexpr uint64_t kMinLargeSize = 0x400;                     // MIN_LARGE_SIZE, 64-bit

// Raised when free() would read an address that is not mapped.
struct Unmapped {
  Address at;
};

class FreeSimulation {
 public:
  FreeSimulation(const Heap& h, const Target& t, const TryFreeInputs& in, TryFreeReport& r)
      : h_(h), t_(t), in_(in), r_(r), l_(*h.layout) {}

  void run() {
    try {
      libc_free();
    } catch (const Unmapped& u) {
      r_.outcome = TryFreeOutcome::kCrash;
      r_.message = fmt::format("SIGSEGV: free() reads {}, which is not mapped", to_hex(u.at));
    }
  }

 private:
  uint64_t word(Address at) const {
    auto v = t_.read_u64(at);
    if (!v) throw Unmapped{at};
    return *v;
  }
  bool at_least(int minor) const { return l_.major > 2 || (l_.major == 2 && l_.minor >= minor); }
  // One check in glibc's order; false when it fails (the report says so).
  bool check(std::string name, bool ok, std::string detail, std::string_view message = "") {
    r_.checks.push_back({std::move(name), ok, std::move(detail)});
    if (!ok && !message.empty()) {
      r_.outcome = TryFreeOutcome::kAbort;
      r_.message = std::string(message);
    }
    return ok;
  }

  void libc_free() {
    if (r_.pointer.is_null()) {
      r_.outcome = TryFreeOutcome::kNothing;
      r_.notes.push_back("free(NULL) does nothing");
      return;
    }
    const Address p = r_.chunk;
    const uint64_t size_field = word(p + 8);
    r_.size_field = size_field;
    r_.size = size_field & ~kFlagBits;
    if (size_field & kIsMmapped) return munmap_chunk(p, size_field);
    const Arena* av = arena_for_chunk(p, size_field);
    if (!av) return;
    r_.arena = av->index;
    int_free(*av, p, r_.size);
  }

  // __libc_free's mmapped branch, then munmap_chunk().
  void munmap_chunk(Address p, uint64_t size_field) {
    const uint64_t size = size_field & ~kFlagBits;
    const uint64_t prev_size = word(p);
    // glibc 2.42+ keeps an mmapped chunk's size one header short of its
    // mapping (as the matrix's 2.43 and 2.44 cores show).
    const uint64_t block = p.value - prev_size, total = prev_size + size + (at_least(42) ? kHeaderSize : 0);
    const uint64_t mask = in_.page_size - 1;
    const uint64_t in_page = (p.value + kHeaderSize) & mask;
    const bool power_of_two = (in_page & (in_page - 1)) == 0;  // glibc's powerof2(0) is true
    if (!check("the mapping (chunk - prev_size, prev_size + size) is whole pages, and the pointer's offset in its page a power of two",
               ((block | total) & mask) == 0 && power_of_two,
               fmt::format("block {:#x}, length {:#x}, offset in page {:#x}", block, total, in_page),
               "munmap_chunk(): invalid pointer"))
      return;
    r_.outcome = TryFreeOutcome::kMunmap;
    r_.merged = Address(block);
    r_.merged_size = total;
    // __libc_free raises the dynamic threshold before unmapping.
    if (size_field > h_.mp.mmap_threshold && size_field <= kMmapThresholdMax)
      r_.notes.push_back(fmt::format("mmap_threshold rises from {:#x} to {:#x} and trim_threshold to {:#x} "
                                     "(unless M_MMAP_THRESHOLD or a tunable fixed them)",
                                     h_.mp.mmap_threshold, size, 2 * size));
  }

  // arena_for_chunk(): NON_MAIN_ARENA sends free() to the heap_info at the
  // start of the chunk's HEAP_MAX_SIZE-aligned heap.
  const Arena* arena_for_chunk(Address p, uint64_t size_field) {
    if (h_.arenas.empty()) return nullptr;
    if (!(size_field & kNonMainArena)) return &h_.arenas.front();
    const Address heap_info(p.value & ~(l_.heap_max_size - 1));
    const uint64_t ar_ptr = word(heap_info + l_.hi_ar_ptr);
    for (const auto& a : h_.arenas)
      if (a.address.value == ar_ptr) return &a;
    r_.outcome = TryFreeOutcome::kCrash;
    r_.message = fmt::format("NON_MAIN_ARENA is set, and the heap_info at {} names {:#x}, which is no arena: "
                             "free() would use it as one (undefined; most likely SIGSEGV)",
                             to_hex(heap_info), ar_ptr);
    return nullptr;
  }

  const Tcache* thread_tcache() const {
    int tid = in_.tid;
    if (!tid && !t_.threads().empty()) tid = t_.threads().front().tid;
    for (const auto& tc : h_.tcaches)
      if (tc.tid == tid) return &tc;
    // No thread owner known (a static binary's TLS not found): one tcache is this thread's.
    if (h_.tcaches.size() == 1 && h_.tcaches.front().tid == 0) return &h_.tcaches.front();
    return nullptr;
  }

  uint64_t tcache_count(const Tcache& tc, uint64_t idx) const {
    const Address at = tc.address + idx * l_.tcache_counts_width;
    uint64_t raw = l_.tcache_counts_width == 2 ? t_.read_value<uint16_t>(at).value_or(0)
                                                : t_.read_value<uint8_t>(at).value_or(0);
    if (l_.tcache_counts_free_slots) return raw <= h_.mp.tcache_count ? h_.mp.tcache_count - raw : 0;
    return raw;
  }

  // The tcache part of _int_free (2.26+): the double-free check by key
  // (2.29+), then tcache_put when the bin has room. True when it decided.
  bool tcache_part(Address p, uint64_t size) {
    if (!l_.has_tcache) return false;
    const Tcache* tc = thread_tcache();
    const uint64_t idx = (size - l_.min_chunk + l_.malloc_alignment - 1) / l_.malloc_alignment;
    if (!tc) {
      r_.notes.push_back("no tcache found for the freeing thread: the tcache step is skipped (as before the thread's first malloc)");
      return false;
    }
    if (idx >= h_.mp.tcache_bins) return false;
    const Address e = p + kHeaderSize;
    if (at_least(29)) {
      const uint64_t key = word(e + l_.tcache_entry_key);
      std::optional<uint64_t> expected = at_least(34) ? in_.tcache_key : std::optional<uint64_t>(tc->address.value);
      bool marked = expected ? key == *expected : false;
      if (!expected) {
        // Key unknown: a chunk already on this thread's bin is what a matching key means.
        for (const auto& l : h_.lists)
          if (l.kind == ListKind::kTcache && l.tid == tc->tid && static_cast<uint64_t>(l.bin) == idx)
            for (Address c : l.chunks) marked = marked || c == p;
        r_.notes.push_back("tcache_key is not known here: the key check is taken as true for a chunk on the bin");
      }
      check("e->key is not tcache_key (the mark of a chunk in a tcache)", !marked,
            expected ? fmt::format("key {:#x}, tcache_key {:#x}", key, *expected) : fmt::format("key {:#x}", key));
      if (marked && walk_tcache_bin(*tc, idx, e)) return true;
    }
    const uint64_t count = tcache_count(*tc, idx);
    if (!check(fmt::format("tcache bin {} has room (counts[{}] < mp_.tcache_count)", idx, idx),
               count < h_.mp.tcache_count, fmt::format("{} of {}", count, h_.mp.tcache_count)))
      return false;
    r_.outcome = TryFreeOutcome::kTcache;
    r_.bin = static_cast<int>(idx);
    r_.tid = tc->tid;
    r_.count = count;
    r_.capacity = h_.mp.tcache_count;
    return true;
  }

  // The marked chunk: glibc walks the bin looking for it. True when it aborts.
  bool walk_tcache_bin(const Tcache& tc, uint64_t idx, Address e) {
    Address tmp(word(tc.address + l_.tcache_bins * l_.tcache_counts_width + 8 * idx));
    for (uint64_t cnt = 0; !tmp.is_null(); ++cnt) {
      if (at_least(33) && cnt >= h_.mp.tcache_count)
        return !check("the bin has at most mp_.tcache_count entries", false, fmt::format("bin {}", idx),
                      "free(): too many chunks detected in tcache");
      if (at_least(32) && (tmp.value & (l_.malloc_alignment - 1)))
        return !check("each entry of the bin is aligned", false, fmt::format("entry {}", to_hex(tmp)),
                      "free(): unaligned chunk detected in tcache 2");
      if (tmp == e)
        return !check("the chunk is not already in the bin", false,
                      fmt::format("found at position {} of tcache bin {}", cnt + 1, idx),
                      "free(): double free detected in tcache 2");
      const uint64_t next = word(tmp);
      tmp = Address(h_.safe_linking ? next ^ (tmp.value >> 12) : next);  // REVEAL_PTR
      if (cnt > 1u << 20) break;  // a cycle glibc would walk forever (before 2.33)
    }
    check("the chunk is not already in the bin", true, fmt::format("not on tcache bin {}", idx));
    return false;
  }

  void int_free(const Arena& av, Address p, uint64_t size) {
    if (at_least(42)) {
      // 2.42's free(): alignment first, then the size with the end's overflow.
      if (!check("the chunk is aligned", (p.value & (l_.malloc_alignment - 1)) == 0,
                 fmt::format("chunk {}", to_hex(p)), "free(): invalid pointer"))
        return;
      if (!check("size is at least MINSIZE, a multiple of MALLOC_ALIGNMENT, and the chunk's end does not wrap",
                 size >= l_.min_chunk && (size & (l_.malloc_alignment - 1)) == 0 && p.value <= -size,
                 fmt::format("size {:#x}", size), "free(): invalid size"))
        return;
      if (tcache_part(p, size) || r_.outcome == TryFreeOutcome::kAbort) return;
      return merge_or_fast(av, p, size);
    }
    if (!check("the chunk is aligned and its size does not wrap around the address space",
               p.value <= -size && (p.value & (l_.malloc_alignment - 1)) == 0,
               fmt::format("chunk {}, size {:#x}", to_hex(p), size), "free(): invalid pointer"))
      return;
    if (!check("size is at least MINSIZE and a multiple of MALLOC_ALIGNMENT",
               size >= l_.min_chunk && (size & (l_.malloc_alignment - 1)) == 0, fmt::format("size {:#x}", size),
               "free(): invalid size"))
      return;
    if (tcache_part(p, size) || r_.outcome == TryFreeOutcome::kAbort) return;
    merge_or_fast(av, p, size);
  }

  void merge_or_fast(const Arena& av, Address p, uint64_t size) {
    const uint64_t max_fast = in_.max_fast.value_or(kDefaultMaxFast);
    if (l_.nfastbins > 0 && size <= max_fast) return fast_part(av, p, size);
    merge_part(av, p, size);
  }

  bool next_size_sane(const Arena& av, uint64_t next_field, std::string_view which) {
    return check("the next chunk's size is more than CHUNK_HDR_SZ and less than the arena's system_mem",
                 next_field > kHeaderSize && (next_field & ~kFlagBits) < av.system_mem,
                 fmt::format("next size field {:#x}, system_mem {:#x}", next_field, av.system_mem),
                 fmt::format("free(): invalid next size ({})", which));
  }

  void fast_part(const Arena& av, Address p, uint64_t size) {
    const uint64_t next_field = word(p + size + 8);
    if (!next_size_sane(av, next_field, "fast")) return;
    const uint64_t idx = (size >> 4) - 2;  // fastbin_index, 64-bit
    const uint64_t old = word(av.address + l_.ms_fastbins + 8 * idx);
    if (!check(fmt::format("the chunk is not the top of fastbin {}", idx), old != p.value,
               fmt::format("fastbin {} starts at {:#x}", idx, old), "double free or corruption (fasttop)"))
      return;
    r_.outcome = TryFreeOutcome::kFast;
    r_.bin = static_cast<int>(idx);
  }

  // unlink_chunk() of a free neighbour being merged. False when it aborts.
  bool unlink(Address c, std::string_view which) {
    const uint64_t csize = word(c + 8) & ~kFlagBits;
    if (!check(fmt::format("the {} free chunk's size equals the prev_size after it", which),
               csize == word(c + csize), fmt::format("chunk {}, size {:#x}", to_hex(c), csize),
               "corrupted size vs. prev_size"))
      return false;
    const uint64_t fd = word(c + 16), bk = word(c + 24);
    if (!check(fmt::format("the {} free chunk's list links point back to it (fd->bk, bk->fd)", which),
               word(Address(fd) + 24) == c.value && word(Address(bk) + 16) == c.value,
               fmt::format("fd {:#x}, bk {:#x}", fd, bk), "corrupted double-linked list"))
      return false;
    if (csize >= kMinLargeSize && word(c + 32) != 0) {
      const uint64_t fdn = word(c + 32), bkn = word(c + 40);
      if (!check(fmt::format("the {} free chunk's size links point back to it", which),
                 word(Address(fdn) + 40) == c.value && word(Address(bkn) + 32) == c.value,
                 fmt::format("fd_nextsize {:#x}, bk_nextsize {:#x}", fdn, bkn),
                 "corrupted double-linked list (not small)"))
        return false;
    }
    return true;
  }

  void merge_part(const Arena& av, Address p, uint64_t size) {
    const Address next = p + size;
    if (!check("the chunk is not the top chunk", p != av.top, fmt::format("top {}", to_hex(av.top)),
               "double free or corruption (top)"))
      return;
    if (!(av.flags & kNonContiguous) &&
        !check("the next chunk lies before the end of the top chunk", next.value < av.top.value + av.top_size,
               fmt::format("next chunk {}, top ends at {:#x}", to_hex(next), av.top.value + av.top_size),
               "double free or corruption (out)"))
      return;
    const uint64_t next_field = word(next + 8);
    if (!check("the next chunk's PREV_INUSE says this chunk is in use", next_field & kPrevInuse,
               fmt::format("next size field {:#x}", next_field), "double free or corruption (!prev)"))
      return;
    if (!next_size_sane(av, next_field, "normal")) return;
    Address begin = p;
    uint64_t merged = size;
    const uint64_t own_field = *r_.size_field;
    if (!(own_field & kPrevInuse)) {
      const uint64_t prev_size = word(p);
      const Address prev = p - prev_size;
      if (at_least(29) &&
          !check("the free chunk before has the size prev_size says", (word(prev + 8) & ~kFlagBits) == prev_size,
                 fmt::format("prev_size {:#x}, chunk {} has size {:#x}", prev_size, to_hex(prev),
                             word(prev + 8) & ~kFlagBits),
                 "corrupted size vs. prev_size while consolidating"))
        return;
      if (!unlink(prev, "previous")) return;
      begin = prev;
      merged += prev_size;
      r_.notes.push_back(fmt::format("merges with the free chunk before it, {} (size {:#x})", to_hex(prev), prev_size));
    }
    const uint64_t next_size = next_field & ~kFlagBits;
    if (next == av.top) {
      merged += next_size;
      r_.outcome = TryFreeOutcome::kTop;
    } else {
      const bool next_in_use = word(next + next_size + 8) & kPrevInuse;
      if (!next_in_use) {
        if (!unlink(next, "next")) return;
        merged += next_size;
        r_.notes.push_back(fmt::format("merges with the free chunk after it, {} (size {:#x})", to_hex(next), next_size));
      }
      // The unsorted bin's head is bins[0] viewed as a chunk (its fd at bins[0]).
      const Address unsorted = av.address + l_.ms_bins - 16;
      const uint64_t fwd = word(unsorted + 16);
      if (!check("the unsorted bin's first chunk links back to the bin", word(Address(fwd) + 24) == unsorted.value,
                 fmt::format("first chunk {:#x}", fwd), "free(): corrupted unsorted chunks"))
        return;
      r_.outcome = TryFreeOutcome::kUnsorted;
    }
    r_.merged = begin;
    r_.merged_size = merged;
    if (merged >= kConsolidationThreshold) {
      r_.notes.push_back("the merged size reaches FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB): fastbins are consolidated");
      const uint64_t top_size = r_.outcome == TryFreeOutcome::kTop ? merged : av.top_size;
      if (av.main && top_size >= h_.mp.trim_threshold)
        r_.notes.push_back(fmt::format("top ({:#x}) is at least trim_threshold ({:#x}): systrim() gives memory back",
                                       top_size, h_.mp.trim_threshold));
      else if (!av.main)
        r_.notes.push_back("heap_trim() may shrink this arena's heap");
    }
  }

  const Heap& h_;
  const Target& t_;
  const TryFreeInputs& in_;
  TryFreeReport& r_;
  const Layout& l_;
};

}  // namespace

std::string_view try_free_outcome_name(TryFreeOutcome o) {
  switch (o) {
    case TryFreeOutcome::kNothing: return "nothing";
    case TryFreeOutcome::kAbort: return "abort";
    case TryFreeOutcome::kCrash: return "crash";
    case TryFreeOutcome::kTcache: return "tcache";
    case TryFreeOutcome::kFast: return "fast";
    case TryFreeOutcome::kUnsorted: return "unsorted";
    case TryFreeOutcome::kTop: return "top";
    case TryFreeOutcome::kMunmap: return "munmap";
  }
  return "?";
}

TryFreeReport try_free(const Heap& heap, const Target& target, Address pointer, const TryFreeInputs& inputs) {
  TryFreeReport r;
  r.pointer = pointer;
  r.chunk = Address(pointer.value - kHeaderSize);  // mem2chunk
  r.version = heap.version;
  if (const Chunk* c = heap.chunk_at(r.chunk)) r.known_state = state_name(state_of(*c));
  if (!heap.layout) throw UserError{"heap try-free needs glibc's layout, which is not known here"};
  FreeSimulation(heap, target, inputs, r).run();
  return r;
}

}  // namespace heapscope::glibc
