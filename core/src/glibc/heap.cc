// Heap::build: locate glibc's roots, then walk arenas, heaps and chunks.
// Free lists and classification live in lists.cc.
#include "heapscope/glibc/heap.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "analysis/scan_threads.h"
#include "glibc/builder.h"
#include "glibc/locate.h"
#include "heapscope/error.h"
#include "util/memory_hints.h"

namespace heapscope::glibc {

namespace {
constexpr uint64_t kPrevInuse = 1, kIsMmapped = 2, kFlagMask = 7;  // the size field's flag bits we test
constexpr int kMaxHeapsPerArena = 1 << 16;
// The page size mmapped chunks are made of (x86-64 and aarch64 with 4 KiB pages).
constexpr uint64_t kMmapPage = 4096;
}  // namespace

std::string_view state_name(ChunkState s) {
  switch (s) {
    case ChunkState::kInUse: return "in_use";
    case ChunkState::kTcache: return "tcache";
    case ChunkState::kFast: return "fast";
    case ChunkState::kUnsorted: return "unsorted";
    case ChunkState::kSmall: return "small";
    case ChunkState::kLarge: return "large";
    case ChunkState::kTop: return "top";
    case ChunkState::kMmapped: return "mmapped";
    case ChunkState::kMetadata: return "metadata";
    case ChunkState::kFreeUnlisted: return "free_unlisted";
    case ChunkState::kUnknown: return "unknown";
  }
  return "?";
}

std::span<const BlockKind> chunk_kinds() {
  // Tcache chunks are free for the program but in use for glibc's own
  // counters (mallinfo2, malloc_info): heap stats matches glibc.
  static constexpr BlockKind kKinds[kChunkStateCount] = {
      {"in_use", BlockState::kInUse, 16, true, 8},
      {"tcache", BlockState::kCached, 16, true},
      {"fast", BlockState::kFree, 16},
      {"unsorted", BlockState::kFree, 16},
      {"small", BlockState::kFree, 16},
      {"large", BlockState::kFree, 16},
      {"top", BlockState::kTop, 16},
      {"mmapped", BlockState::kMapped, 16, true},
      {"metadata", BlockState::kMetadata, 16},
      {"free_unlisted", BlockState::kFree, 16},
      {"unknown", BlockState::kUnknown, 16},
  };
  return kKinds;
}

std::optional<ChunkState> parse_state(std::string_view name) {
  for (int i = 0; i < kChunkStateCount; ++i)
    if (state_name(static_cast<ChunkState>(i)) == name) return static_cast<ChunkState>(i);
  if (name == "in-use" || name == "inuse" || name == "used") return ChunkState::kInUse;
  return std::nullopt;
}

std::string_view list_kind_name(ListKind k) {
  switch (k) {
    case ListKind::kTcache: return "tcache";
    case ListKind::kFast: return "fast";
    case ListKind::kUnsorted: return "unsorted";
    case ListKind::kSmall: return "small";
    case ListKind::kLarge: return "large";
  }
  return "?";
}

void Builder::read_mp(Address a) {
  MallocPar& mp = heap.mp;
  mp.address = a;
  auto u64 = [&](uint64_t off) { return target.read_u64(a + off).value_or(0); };
  auto i32 = [&](uint64_t off) {
    return static_cast<uint64_t>(target.read_value<int32_t>(a + off).value_or(0));
  };
  mp.trim_threshold = u64(l.mp_trim_threshold);
  mp.top_pad = u64(l.mp_top_pad);
  mp.mmap_threshold = u64(l.mp_mmap_threshold);
  mp.hp_pagesize = l.mp_hp_pagesize >= 0 ? u64(static_cast<uint64_t>(l.mp_hp_pagesize)) : 0;
  mp.n_mmaps = i32(l.mp_n_mmaps);
  mp.n_mmaps_max = i32(l.mp_n_mmaps_max);
  mp.mmapped_mem = u64(l.mp_mmapped_mem);
  mp.sbrk_base = Address(u64(l.mp_sbrk_base));
  if (l.mp_tcache_bins >= 0) mp.tcache_bins = u64(static_cast<uint64_t>(l.mp_tcache_bins));
  if (l.mp_tcache_count >= 0) mp.tcache_count = u64(static_cast<uint64_t>(l.mp_tcache_count));
}

void Builder::read_arenas(Address main_arena) {
  std::unordered_set<uint64_t> seen;
  Address a = main_arena;
  for (int i = 0; i < kMaxArenas; ++i) {
    if (!seen.insert(a.value).second) {
      if (a != main_arena) finding("arena-ring", a, i - 1, "arena ring loops back before main_arena");
      break;
    }
    Arena ar;
    ar.index = i;
    ar.address = a;
    ar.main = (a == main_arena);
    auto u64 = [&](uint64_t off) { return target.read_u64(a + off); };
    auto top = u64(l.ms_top), sys = u64(l.ms_system_mem), next = u64(l.ms_next);
    if (!top || !sys || !next) {
      finding("arena-unreadable", a, i, fmt::format("arena {} at {} cannot be read", i, to_hex(a)));
      break;
    }
    ar.top = Address(*top);
    ar.system_mem = *sys;
    ar.max_system_mem = u64(l.ms_max_system_mem).value_or(0);
    ar.attached_threads = u64(l.ms_attached_threads).value_or(0);
    ar.flags = target.read_value<uint32_t>(a + l.ms_flags).value_or(0);
    if (auto ts = target.read_u64(ar.top + 8)) ar.top_size = *ts & ~kFlagMask;
    heap.arenas.push_back(std::move(ar));
    a = Address(*next);
    if (a == main_arena) break;
    if (!target.is_mapped(a)) {
      finding("arena-ring", a, i, fmt::format("arena {}'s next pointer {} is not mapped", i, to_hex(a)));
      break;
    }
  }
}

namespace {

// First chunk header at or after `p` whose user data is MALLOC_ALIGNMENT-aligned.
Address first_chunk_at(Address p, const Layout& l) {
  uint64_t mem = p.value + 2 * l.size_sz;
  uint64_t mis = mem & (l.malloc_alignment - 1);
  return mis ? p + (l.malloc_alignment - mis) : p;
}

// How far ahead of its chunk the heap walk asks for memory (bytes).
constexpr uint64_t kWalkAhead = 2048;

// Bytes of a heap segment, zero-copy when the target can give them in one
// piece, else copied once.
class SegmentBytes {
 public:
  SegmentBytes(const Target& t, AddressRange r) : begin_(r.begin) {
    t.will_read(r);
    auto v = t.view(r.begin, r.size());
    if (v.size() == r.size()) {
      span_ = v;
    } else {
      // Copy only what the target's regions can supply from the start: the
      // range comes from the target's own (untrusted) pointers.
      uint64_t avail = 0;
      while (avail < r.size()) {
        const Region* reg = t.find_region(r.begin + avail);
        if (!reg || !reg->readable) break;
        avail = std::min<uint64_t>(r.size(), reg->range.end - r.begin);
      }
      copy_.resize(avail);
      size_t n = t.read(r.begin, copy_);
      copy_.resize(n);
      span_ = copy_;
    }
  }
  std::optional<uint64_t> u64(Address a) const {
    uint64_t off = a.value - begin_.value;
    if (a < begin_ || off > span_.size() || span_.size() - off < 8) return std::nullopt;
    uint64_t v;
    std::memcpy(&v, span_.data() + off, 8);
    return v;
  }
  void prefetch(Address a) const {
    const uint64_t off = a.value - begin_.value;
    if (a >= begin_ && off < span_.size()) __builtin_prefetch(span_.data() + off);
  }

 private:
  Address begin_;
  std::span<const std::byte> span_;
  std::vector<std::byte> copy_;
};

// Where a walk broken at `bad` can resume: the first 16-aligned address
// after it from which kResyncChain chunks in a row have sane headers (size
// aligned and within the limit, no NON_MAIN_ARENA in the main arena, not mmapped, prev_size
// matching when PREV_INUSE is clear), or whose chain ends exactly at the
// limit. `limit` when there is none. The scan is capped so a heap of garbage
// costs at most kResyncCandidates * kResyncChain reads.
Address resync(const SegmentBytes& bytes, Address bad, Address limit, bool non_main, const Layout& l,
               const CancelToken& cancel) {
  constexpr int kResyncChain = 4;
  constexpr uint64_t kResyncCandidates = 1u << 22;
  auto sane = [&](Address c, uint64_t& size) {
    auto raw = bytes.u64(c + l.size_sz);
    if (!raw) return false;
    size = *raw & ~uint64_t{7};
    // Binned chunks of a non-main arena have NON_MAIN_ARENA clear too.
    if (((*raw & 4) && !non_main) || (*raw & 2)) return false;
    return size >= l.min_chunk && (size & (l.malloc_alignment - 1)) == 0 && size <= limit - c;
  };
  uint64_t tries = 0;
  for (Address c = bad + l.malloc_alignment; c < limit && limit - c >= l.min_chunk && tries < kResyncCandidates;
       c += l.malloc_alignment, ++tries) {
    if ((tries & 0xffff) == 0xffff) check_cancel(cancel);
    Address q = c;
    int ok = 0;
    uint64_t size = 0;
    while (ok < kResyncChain && sane(q, size)) {
      Address next = q + size;
      if (next < limit) {
        auto next_raw = bytes.u64(next + l.size_sz);
        auto next_prev = bytes.u64(next);
        if (!next_raw || !next_prev) break;
        if (!(*next_raw & 1) && *next_prev != size) break;
      }
      ++ok;
      q = next;
      if (q == limit) return c;
    }
    if (ok >= kResyncChain) return c;
  }
  return limit;
}

// Bytes the target can supply at all: a bound on any size it claims.
uint64_t readable_bytes(const Target& t) {
  uint64_t n = 0;
  for (const auto& r : t.regions())
    if (r.readable) n += r.range.size();
  return n;
}

}  // namespace

void Builder::walk_heaps() {
  // One allocation up front, for as many chunks as the arenas can hold (one
  // per min_chunk bytes, capped): regrowing a vector of millions of chunks
  // copies and faults it twice (a heap of small C++ objects averages fewer
  // than 64 bytes a chunk). Reserved pages never touched cost no memory.
  // system_mem is the target's word: no more than the memory it has.
  const uint64_t readable = readable_bytes(target);
  uint64_t system = 0;
  for (const auto& ar : heap.arenas) system = std::min(system + ar.system_mem, readable);
  heap.blocks.reserve(static_cast<size_t>(std::min<uint64_t>(system / std::max<uint64_t>(l.min_chunk, 16) + 64, 1ull << 26)));
  util::advise_huge_pages(heap.blocks);
  for (auto& ar : heap.arenas) {
    check_cancel(cancel);
    // 1. The arena's heaps, oldest first.
    if (ar.main) {
      Address end = ar.top + ar.top_size;
      if (ar.top_size > ar.system_mem || end < ar.top) {
        // A smashed top size (house of force): the heap ends where the
        // arena's memory does, within the mapping that holds the top.
        Address by_mem = heap.mp.sbrk_base + ar.system_mem;
        const Region* r = target.find_region(ar.top);
        end = by_mem > ar.top ? by_mem : (r ? r->range.end : ar.top);
        if (r && end > r->range.end) end = r->range.end;
      }
      if (heap.mp.sbrk_base.is_null() || ar.top < heap.mp.sbrk_base) {
        finding("main-heap", ar.top, ar.index, "main arena's top is not above mp_.sbrk_base");
        continue;
      }
      ar.heaps.push_back({{heap.mp.sbrk_base, end}, Address()});
    } else {
      uint64_t max = heap.mp.hp_pagesize ? heap.mp.hp_pagesize * 4 : l.heap_max_size;
      Address h = ar.top.align_down(max);
      std::vector<HeapSegment> chain;
      std::unordered_set<uint64_t> seen;
      while (!h.is_null() && chain.size() < kMaxHeapsPerArena && seen.insert(h.value).second) {
        auto ar_ptr = target.read_pointer(h + l.hi_ar_ptr);
        auto prev = target.read_pointer(h + l.hi_prev);
        auto size = target.read_u64(h + l.hi_heap_size);
        if (!ar_ptr || !prev || !size) {
          finding("heap-info", h, ar.index, fmt::format("heap_info at {} cannot be read", to_hex(h)));
          break;
        }
        if (*ar_ptr != ar.address) {
          finding("heap-info", h, ar.index,
                  fmt::format("heap_info at {} names arena {} instead of {}", to_hex(h),
                              to_hex(*ar_ptr), to_hex(ar.address)));
          break;
        }
        if (*size > max || *size < l.hi_size) {
          finding("heap-info", h, ar.index, fmt::format("heap_info at {} has size {:#x}", to_hex(h), *size));
          break;
        }
        chain.push_back({{h, h + *size}, h});
        h = *prev;
      }
      std::reverse(chain.begin(), chain.end());
      ar.heaps = std::move(chain);
    }
    // 2. The chunks of each heap.
    for (size_t hi = 0; hi < ar.heaps.size(); ++hi) {
      const HeapSegment& seg = ar.heaps[hi];
      Address start = seg.range.begin;
      if (!ar.main) {
        start = start + l.hi_size;
        // The arena's malloc_state sits after the first heap's heap_info.
        if (hi == 0 && ar.address == seg.range.begin + l.hi_size) start = ar.address + l.ms_size;
      }
      Address first = first_chunk_at(start, l);
      std::vector<Chunk>& out = heap.blocks;
      const std::optional<uint64_t> tcache_key = heap.tcache_key;
      auto emit = [&](Address at, uint64_t size, ChunkState state, uint64_t raw) __attribute__((always_inline)) {
        if (size > kMaxChunkSize) {
          finding("bad-size", at, ar.index,
                  fmt::format("chunk at {} would span {:#x} bytes; only the first {:#x} are kept", to_hex(at),
                              size, kMaxChunkSize));
          size = kMaxChunkSize & ~uint64_t{15};
          state = ChunkState::kUnknown;
        }
        out.push_back({at, size, ar.index, state, static_cast<uint8_t>(raw & kFlagMask)});
      };
      const size_t seg_blocks = out.size();
      if (first > seg.range.begin) emit(seg.range.begin, first - seg.range.begin, ChunkState::kMetadata, 0);
      const bool has_top = seg.range.contains(ar.top);
      const Address limit = has_top ? ar.top : seg.range.end;
      SegmentBytes bytes(target, seg.range);
      // Before the chunk at `at` is emitted: its prev_size, when PREV_INUSE
      // is clear, against the chunk emitted last (see prev_size_exceptions).
      auto note_prev_size = [&](Address at, uint64_t raw) __attribute__((always_inline)) {
        if (raw & kPrevInuse) return;
        auto prev_size = bytes.u64(at);
        if (!prev_size) prev_size = target.read_u64(at);
        if (prev_size && out.size() > seg_blocks && out.back().end() == at && *prev_size == out.back().size)
          return;
        heap.prev_size_exceptions.push_back({at, prev_size.value_or(0)});
      };
      Address p = first;
      size_t walked = 0;
      while (p < limit) {
        if ((++walked & 0xffff) == 0) check_cancel(cancel);
        // The headers ahead load while this one is classified: the walk
        // is a chain of dependent loads through memory the hardware's
        // prefetcher stops following at each page boundary.
        bytes.prefetch(p + kWalkAhead);
        auto raw = bytes.u64(p + l.size_sz);
        if (!raw) {
          finding("unreadable", p, ar.index, fmt::format("chunk header at {} cannot be read", to_hex(p)));
          emit(p, limit - p, ChunkState::kUnknown, 0);
          break;
        }
        uint64_t size = *raw & ~kFlagMask;
        if (!has_top && size < l.min_chunk) {
          // The fencepost glibc leaves at the end of an old heap (sysmalloc).
          emit(p, seg.range.end - p, ChunkState::kMetadata, *raw);
          p = seg.range.end;
          break;
        }
        if (size < l.min_chunk || (size & (l.malloc_alignment - 1)) || size > limit - p) {
          finding("bad-size", p, ar.index,
                  fmt::format("chunk at {} has size {:#x}, which does not fit before {:#x}", to_hex(p),
                              *raw, limit.value));
          // Resynchronise: the next address from which a plausible chain of
          // chunks runs on; the bytes in between are unknown.
          Address r = resync(bytes, p, limit, !ar.main, l, cancel);
          emit(p, r - p, ChunkState::kUnknown, *raw);
          if (r < limit)
            finding("resync", r, ar.index,
                    fmt::format("walk resumed at {} after {:#x} unknown bytes from {}", to_hex(r), r - p,
                                to_hex(p)));
          p = r;
          continue;
        }
        note_prev_size(p, *raw);
        emit(p, size, ChunkState::kInUse, *raw);
        if (tcache_key && out.back().kind == ChunkState::kInUse && size >= 4 * l.size_sz)
          if (auto second = bytes.u64(p + 3 * l.size_sz); second && *second == *tcache_key)
            heap.tcache_key_holders.push_back(p);
        p = p + size;
      }
      // Free-ness: a chunk is free when the next chunk's PREV_INUSE is clear.
      // (tcache and fast chunks keep it set: they are found from their lists.)
      if (has_top) {
        if (p != ar.top && p < ar.top)
          finding("walk", p, ar.index, "heap walk stopped before reaching top");
        uint64_t top_size = ar.top_size;
        if (ar.top + top_size != seg.range.end) {
          finding("top-size", ar.top, ar.index,
                  fmt::format("top chunk at {} has size {:#x} but its heap ends at {}", to_hex(ar.top),
                              top_size, to_hex(seg.range.end)));
          top_size = seg.range.end > ar.top ? seg.range.end - ar.top : 0;
        }
        const uint64_t top_raw = bytes.u64(ar.top + 8).value_or(0);
        note_prev_size(ar.top, top_raw);
        emit(ar.top, top_size, ChunkState::kTop, top_raw);
      }
    }
  }
}

bool Builder::in_some_heap(Address a) const {
  for (const auto& ar : heap.arenas)
    for (const auto& h : ar.heaps)
      if (h.range.contains(a)) return true;
  return false;
}

namespace {

// The mapping an mmapped chunk's size field says it owns, when the field
// has glibc's form: up to 2.42 the whole mapping (whole pages); from 2.43
// the mapping less the chunk header (sysmalloc_mmap keeps CHUNK_HDR_SZ out
// of the size). Both forms are accepted whatever the version says
// (distributions back-port); the data decides. 0 when it has neither form.
uint64_t mmapped_extent(uint64_t size, uint64_t header) {
  constexpr uint64_t page = kMmapPage;
  if (size < page || size > kMaxChunkSize) return 0;
  if (size % page == 0) return size;
  if ((size + header) % page == 0) return size + header;
  return 0;
}

// Indices of k candidates whose extents sum to `excess`, for k up to 2: the
// ones mp_'s count says are not chunks. Empty when none or several fit.
std::vector<size_t> surplus(const std::vector<Chunk>& cands, size_t k, uint64_t excess) {
  std::vector<std::vector<size_t>> fits;
  for (size_t i = 0; i < cands.size() && fits.size() < 2; ++i) {
    if (k == 1 && cands[i].size == excess) fits.push_back({i});
    for (size_t j = i + 1; k == 2 && j < cands.size() && fits.size() < 2; ++j)
      if (cands[i].size + cands[j].size == excess) fits.push_back({i, j});
  }
  return fits.size() == 1 ? fits.front() : std::vector<size_t>{};
}

}  // namespace

void Builder::scan_mmapped() {
  // Candidates: anonymous writable mappings that hold no heap and no stack.
  std::vector<AddressRange> stacks;
  for (const auto& t : target.threads())
    if (auto* r = target.find_region(t.sp)) stacks.push_back(r->range);
  std::vector<const Region*> regions;
  for (const auto& r : target.regions()) {
    if (!r.writable() || !(r.perms & kPermRead) || !r.path.empty() || !r.readable) continue;
    if (std::find(stacks.begin(), stacks.end(), r.range) != stacks.end()) continue;
    if (!in_some_heap(r.range.begin)) regions.push_back(&r);
  }
  // Smallest first, and no further once mp_'s count and bytes are found: a
  // program's big buffers (a JIT's, a collector's) are looked at only when
  // some chunk is still missing, and then dropped again (done_reading).
  std::stable_sort(regions.begin(), regions.end(),
                   [](const Region* a, const Region* b) { return a->range.size() < b->range.size(); });
  constexpr uint64_t page = kMmapPage;
  std::vector<Chunk> cands;
  uint64_t bytes = 0;
  auto all_found = [&] { return cands.size() == heap.mp.n_mmaps && bytes == heap.mp.mmapped_mem; };
  for (const Region* rp : regions) {
    const Region& r = *rp;
    if (all_found()) break;
    check_cancel(cancel);
    // Offsets within the region, so that no address wraps (a region may end
    // at the top of the address space). An mmapped chunk starts a mapping:
    // prev_size 0, IS_MMAPPED alone among the flags.
    const uint64_t span = r.range.size();
    uint64_t off = r.range.begin.value % page ? page - r.range.begin.value % page : 0;
    // Every 16 MiB skimmed is dropped again: memory stays flat however big
    // the program's own mappings are.
    constexpr uint64_t kReleaseEvery = 16u << 20;
    uint64_t released = 0;
    size_t probes = 0;
    while (off < span && span - off >= page) {
      if ((++probes & 0xfff) == 0) check_cancel(cancel);
      if (off - released >= kReleaseEvery) {
        target.done_reading({r.range.begin + released, r.range.begin + off});
        released = off;
      }
      const Address p = r.range.begin + off;
      // Pages the process never touched hold no header: skip them whole (a
      // reserved but untouched mapping costs nothing, however large).
      const AddressRange held = target.next_populated({p, r.range.end});
      if (held.empty()) break;
      if (held.begin.align_down(page) > p) {
        off = held.begin.align_down(page).value - r.range.begin.value;
        continue;
      }
      uint64_t words[2];
      if (target.read_exact(p, words, sizeof words) && words[0] == 0 && (words[1] & kFlagMask) == kIsMmapped) {
        const uint64_t extent = mmapped_extent(words[1] & ~kFlagMask, 2 * l.size_sz);
        if (extent && extent <= span - off) {
          cands.push_back({p, extent, kMmappedArena, ChunkState::kMmapped, kIsMmapped});
          bytes += extent;
          off += extent;
          if (all_found()) break;
          continue;
        }
      }
      off += page;
    }
    target.done_reading({r.range.begin + released, r.range.end});
  }
  // More candidates than mp_ counts: the ones whose extents make up the
  // surplus bytes are some other code's data of the same shape.
  if (cands.size() > heap.mp.n_mmaps && bytes > heap.mp.mmapped_mem && cands.size() - heap.mp.n_mmaps <= 2) {
    auto drop = surplus(cands, cands.size() - heap.mp.n_mmaps, bytes - heap.mp.mmapped_mem);
    for (auto it = drop.rbegin(); it != drop.rend(); ++it) {
      bytes -= cands[*it].size;
      cands.erase(cands.begin() + static_cast<long>(*it));
    }
  }
  std::sort(cands.begin(), cands.end(), [](const Chunk& a, const Chunk& b) { return a.address < b.address; });
  heap.blocks.insert(heap.blocks.end(), cands.begin(), cands.end());
  // Each mmapped chunk is a mapping the allocator got from the system.
  for (const Chunk& c : cands) heap.system.push_back({c.address, c.end()});
  if (cands.size() != heap.mp.n_mmaps || bytes != heap.mp.mmapped_mem)
    finding("mmapped-count", heap.mp.address, -1,
            fmt::format("found {} mmapped chunks ({} bytes) but mp_ records {} ({} bytes)", cands.size(), bytes,
                        heap.mp.n_mmaps, heap.mp.mmapped_mem));
}

namespace {

// Merges the sorted runs [first, mid) and [mid, last) in place. Heaps of
// different arenas do not interleave: each step moves a whole stretch of
// the second run before the rest of the first with one rotation, which
// needs no buffer (std::inplace_merge takes one as large as a run: a
// peak of megabytes beside the chunks). Runs that alternate often (hostile
// input) finish with std::inplace_merge.
template <typename It, typename Less>
void merge_by_rotation(It first, It mid, It last, Less less) {
  for (int steps = 0; first != mid && mid != last; ++steps) {
    if (steps == 64) {
      std::inplace_merge(first, mid, last, less);
      return;
    }
    first = std::upper_bound(first, mid, *mid, less);  // already in place
    if (first == mid) return;
    It cut = std::lower_bound(mid, last, *first, less);  // all goes before *first
    first = std::rotate(first, mid, cut);
    mid = cut;
  }
}

// Each heap segment's chunks were appended in address order; merging those
// runs is much cheaper than sorting a million chunks from scratch.
void sort_runs(std::vector<Chunk>& cs) {
  auto less = [](const Chunk& x, const Chunk& y) { return x.address < y.address; };
  std::vector<size_t> bounds{0};
  for (size_t i = 1; i < cs.size(); ++i)
    if (cs[i].address < cs[i - 1].address) bounds.push_back(i);
  bounds.push_back(cs.size());
  if (bounds.size() > 64) {
    std::sort(cs.begin(), cs.end(), less);
    return;
  }
  for (size_t r = 1; r + 1 < bounds.size(); ++r)
    merge_by_rotation(cs.begin(), cs.begin() + static_cast<long>(bounds[r]),
                      cs.begin() + static_cast<long>(bounds[r + 1]), less);
}

}  // namespace

Heap Heap::build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  Located glibc = locate_glibc(target, symbols);
  Heap heap;
  heap.allocator = "glibc";
  heap.kinds = chunk_kinds();
  const LayoutMatch& match = glibc.layout;
  heap.version = glibc.version.text;
  heap.libc_module = glibc.image.module;
  heap.layout = match.layout;
  heap.layout_exact = match.exact;
  const Layout& l = *match.layout;
  const Roots& roots = glibc.roots;
  heap.found_by_symbols = roots.by_symbols;

  Builder b{target, l, cancel, heap};
  // glibc 2.34+ keeps the key in a static (before, a chunk's key is its
  // tcache's address, known only later): the walk notes the chunks holding it.
  if (auto a = symbols.find(heap.libc_module, "tcache_key"))
    if (auto v = target.read_u64(*a); v && *v) heap.tcache_key = *v;
  b.read_mp(roots.mp);
  b.read_arenas(roots.main_arena);
  // One long free list is a chain of memory latencies: a second thread
  // follows the lists while this one walks the heaps (list_chase.h).
  std::optional<ChaseAhead> ahead;
  if (analysis::helper_thread_allowed(target))
    ahead.emplace(b.chain_starts(l.safe_linking), l.malloc_alignment,
                  static_cast<size_t>(std::min<uint64_t>(readable_bytes(target) / l.min_chunk + 64, 1ull << 26)),
                  target);
  b.walk_heaps();
  b.scan_mmapped();
  sort_runs(heap.blocks);
  std::sort(heap.tcache_key_holders.begin(), heap.tcache_key_holders.end());
  std::sort(heap.prev_size_exceptions.begin(), heap.prev_size_exceptions.end(),
            [](const Heap::PrevSize& a, const Heap::PrevSize& b) { return a.chunk < b.chunk; });
  heap.prev_sizes_walked = true;
  heap.index = BlockIndex(heap.blocks);
  b.find_tcaches();
  b.decide_mangling();
  heap.safe_linking = b.mangled;
  if (ahead) {
    b.chased_ahead = ahead->take();
    b.chased_mangled = l.safe_linking;
  }
  b.walk_lists();
  b.classify();
  for (const Arena& a : heap.arenas)
    heap.owners.push_back({fmt::format("arena {}{}", a.index, a.main ? " (main)" : ""), a.address, a.system_mem});
  // The heaps' ranges beside the mmapped chunks' (scan_mmapped added those).
  for (const Arena& a : heap.arenas)
    for (const HeapSegment& hs : a.heaps) heap.system.push_back(hs.range);
  std::sort(heap.system.begin(), heap.system.end());
  if (!match.exact) {
    // The nearest row was validated by the walk itself: the arenas were
    // recognised with it, and every chunk header and list is checked. Say
    // plainly what that means for trusting the result.
    size_t problems = heap.findings.size();
    std::string verdict =
        problems == 0
            ? fmt::format("the walk is consistent with it ({} chunks, every list intact): the result "
                          "is probably right, but not verified for this version",
                          heap.blocks.size())
            : fmt::format("the walk found {} inconsistencies with it: do NOT trust this result", problems);
    heap.findings.insert(heap.findings.begin(),
                         {"unknown-version", Address(), -1,
                          fmt::format("glibc {} has no layout row; used the nearest ({}); {}", heap.version,
                                      l.name, verdict)});
  }
  return heap;
}

}  // namespace heapscope::glibc
