// The walk: segments (found by roots) -> their slices' spans (header, free
// spans, pages) -> each page's blocks, their state from the page's three
// free lists and its heap's delayed list. Corrupt input becomes findings;
// every list walk is bounded by the page's capacity and checks each node.
#include "heapscope/mimalloc/heap.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "mimalloc/roots.h"
#include "util/mapped_range.h"

namespace heapscope::mimalloc {

namespace {

enum Kind : uint8_t {
  kBlock, kLargeBlock, kHugeBlock, kFreeBlock, kLocalFree, kThreadFree, kDelayedFree, kUnused,
  kFreeSpan, kCachedSegment, kSegmentInfo, kPagePad, kPageTail, kUnknownSpan,
};
// Blocks have no header: the program's pointer is the block's address.
constexpr BlockKind kKinds[] = {
    {"block", BlockState::kInUse, 0, true},
    {"large block", BlockState::kInUse, 0, true},  // a page of one block (over 128 KiB)
    {"huge block", BlockState::kInUse, 0, true},   // a segment of its own (over 16 MiB)
    {"free", BlockState::kFree, 0, false},         // on the page's free list
    {"local free", BlockState::kFree, 0, false},   // freed by the owner, not yet moved to `free`
    {"thread free", BlockState::kCached, 0, true}, // freed by another thread: still `used` for mimalloc
    {"delayed free", BlockState::kCached, 0, true},// on the heap's thread_delayed_free list: the same
    {"unused", BlockState::kFree, 0, false},       // reserved in the page, never handed out yet
    {"free span", BlockState::kFree, 0, false},    // slices of a segment that are no page
    {"cached segment", BlockState::kFree, 0, false},  // a whole segment freed into mimalloc's cache
    {"segment info", BlockState::kMetadata, 0, false},  // the segment header and its page descriptors
    {"page pad", BlockState::kMetadata, 0, false},      // before a small page's first block
    {"page tail", BlockState::kMetadata, 0, false},     // past a page's last block
    {"unknown", BlockState::kUnknown, 0, false},        // a span the walk could not read
};
static_assert(std::size(kKinds) <= kMaxBlockKinds);

// Bounds for hostile input: no real process comes near them.
constexpr uint64_t kMaxDelayed = uint64_t{1} << 22;
constexpr int kMaxHeapsPerThread = 1 << 12;

struct RawPage {
  uint32_t slice_count = 0, slice_offset = 0;
  uint16_t capacity = 0, reserved = 0;
  uint32_t used = 0, xblock_size = 0;
  uint64_t free = 0, local_free = 0, xthread_free = 0, xheap = 0;
};

RawPage decode_page(const Layout& l, const std::byte* d) {
  RawPage p;
  auto get = [d](uint64_t off, auto& v) { std::memcpy(&v, d + off, sizeof v); };
  get(l.page_slice_count, p.slice_count);
  get(l.page_slice_offset, p.slice_offset);
  get(l.page_capacity, p.capacity);
  get(l.page_reserved, p.reserved);
  get(l.page_used, p.used);
  get(l.page_xblock_size, p.xblock_size);
  get(l.page_free, p.free);
  get(l.page_local_free, p.local_free);
  get(l.page_xthread_free, p.xthread_free);
  get(l.page_xheap, p.xheap);
  return p;
}

// One run of slices in a segment, as the header describes it.
struct Span {
  Address at;
  uint64_t size = 0;
  Kind kind = kFreeSpan;  // kSegmentInfo, kFreeSpan, kBlock (a page), kCachedSegment, kUnknownSpan
  Address descriptor;     // the page's mi_page_t
  RawPage page;
  bool huge_segment = false;
  uint64_t thread_id = 0;  // the segment's owner thread, 0 when abandoned
};

class Walker {
 public:
  Walker(const Target& t, const Roots& r, const CancelToken& c, Heap& h)
      : target_(t), roots_(r), l_(*r.layout), cancel_(c), heap_(h) {}

  void run() {
    for (Address seg : roots_.segments) read_segment(seg);
    name_heaps();
    read_delayed_lists();
    for (size_t k = 0; k < spans_.size(); ++k) {
      if ((k & 1023) == 0) check_cancel(cancel_);
      emit(spans_[k]);
    }
    for (const auto& [block, heap] : delayed_)
      finding("delayed-stray", Address(block), owner_of_heap(heap), "on a heap's delayed free list but in no page of it");
    for (const Block& b : heap_.blocks) {
      if (!heap_.system.empty() && heap_.system.back().end == b.address) heap_.system.back().end = b.end();
      else heap_.system.push_back({b.address, b.end()});
    }
  }

 private:
  void finding(std::string kind, Address at, int owner, std::string detail) {
    if (heap_.findings.size() < 10000) heap_.findings.push_back({std::move(kind), at, owner, std::move(detail)});
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

  void read_segment(Address seg) {
    check_cancel(cancel_);
    std::byte header[512];
    if (!target_.read_exact(seg, header, l_.seg_slices)) return;  // roots read it: cannot happen
    auto word = [&](uint64_t off) {
      uint64_t v;
      std::memcpy(&v, header + off, 8);
      return v;
    };
    const uint64_t slices = word(l_.seg_segment_slices), entries = word(l_.seg_slice_entries);
    const uint64_t thread_id = word(l_.seg_thread_id), used = word(l_.seg_used);
    const bool huge = (word(l_.seg_kind) & 0xffffffff) == 1;
    const uint64_t size = slices * l_.slice_size;
    if (!spans_.empty() && seg < spans_.back().at + spans_.back().size) {
      finding("segment-overlap", seg, kNoOwner, "a segment header inside the previous segment: left out");
      return;
    }
    if (!util::mapped_without_gap(target_, seg, size)) {
      finding("segment-unmapped", seg, kNoOwner, fmt::format("segment of {} bytes is not in mapped memory: left out", size));
      return;
    }
    heap_.segments.push_back(seg);
    // Freed into the segment cache: mi_segment_os_free clears thread_id; an
    // abandoned segment (its thread ended) has no thread but pages in use.
    if (thread_id == 0 && used == 0) {
      spans_.push_back({seg, size, kCachedSegment, {}, {}, huge, 0});
      return;
    }
    std::vector<std::byte> desc(entries * l_.page_size);
    Address slices_at = seg + l_.seg_slices;
    if (!target_.read_exact(slices_at, desc.data(), desc.size())) {
      finding("bad-segment", seg, kNoOwner, "the segment's page descriptors are unreadable");
      spans_.push_back({seg, size, kUnknownSpan, {}, {}, huge, thread_id});
      return;
    }
    uint64_t i = 0;
    while (i < entries) {
      RawPage p = decode_page(l_, desc.data() + i * l_.page_size);
      Address at = seg + i * l_.slice_size, descriptor = slices_at + i * l_.page_size;
      if (p.slice_count == 0 || p.slice_offset != 0 || i + p.slice_count > slices) {
        finding("bad-slice", descriptor, kNoOwner,
                fmt::format("slice {} of segment {}: {} slices at offset {}", i, to_hex(seg), p.slice_count, p.slice_offset));
        spans_.push_back({at, size - i * l_.slice_size, kUnknownSpan, descriptor, {}, huge, thread_id});
        return;
      }
      Kind kind = i == 0 ? kSegmentInfo : p.xblock_size == 0 ? kFreeSpan : kBlock;
      spans_.push_back({at, p.slice_count * l_.slice_size, kind, descriptor, p, huge, thread_id});
      if (kind == kBlock && p.xheap != 0) heaps_.emplace(p.xheap, 0);
      i += p.slice_count;
    }
    // A huge segment's one page runs past slice_entries to the segment's end.
    if (i < slices) spans_.push_back({seg + i * l_.slice_size, (slices - i) * l_.slice_size, kSegmentInfo, {}, {}, huge, thread_id});
  }

  bool in_module_data(Address a) const {
    for (const auto& r : roots_.module_data)
      if (r.contains(a)) return true;
    return false;
  }

  // Owners are the heaps the pages name: the main heap first, then the
  // threads' heaps in address order; then "abandoned" and "segment cache".
  void name_heaps() {
    std::vector<uint64_t> order;
    for (auto& [addr, idx] : heaps_) order.push_back(addr);
    std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) {
      bool ma = is_main(Address(a)), mb = is_main(Address(b));
      return ma != mb ? ma : a < b;
    });
    int thread_heaps = 0;
    for (uint64_t addr : order) {
      Address h(addr);
      if (heap_.owners.size() + 3 >= size_t(kMaxOwners)) {  // leave room for the shared owners
        finding("too-many-heaps", h, kNoOwner, "more heaps than owners a model holds: its blocks count as abandoned");
        heaps_.erase(addr);
        continue;
      }
      if (auto problem = heap_problem(h)) finding("bad-heap", h, int(heap_.owners.size()), *problem);
      std::string label = is_main(h) ? "main heap" : fmt::format("heap {}", ++thread_heaps);
      if (is_main(h)) heap_.main_heap = h;
      heaps_[addr] = int(heap_.owners.size());
      heap_.owners.push_back({label, h, 0});
      if (auto tid = target_.read_u64(h + l_.heap_thread_id); tid && *tid) thread_owner_.try_emplace(*tid, heaps_[addr]);
    }
  }

  // A heap is on its thread's list (tld->heaps); only the main heap's
  // cookie is the process key (threads' heaps draw their own).
  std::optional<std::string> heap_problem(Address h) const {
    if (is_main(h)) {
      auto cookie = target_.read_u64(h + l_.heap_cookie);
      if (!cookie || *cookie != roots_.key) return "the main heap's cookie is not the segments' key";
    }
    auto tld = target_.read_u64(h + l_.heap_tld);
    if (!tld) return "a page names an unreadable heap";
    auto next = target_.read_u64(Address(*tld + l_.tld_heaps));
    for (int steps = 0; next && *next != 0 && steps < kMaxHeapsPerThread; ++steps) {
      if (*next == h.value) return std::nullopt;
      next = target_.read_u64(Address(*next + l_.heap_next));
    }
    return "a page names a heap that is not on its thread's list of heaps";
  }

  bool is_main(Address h) const { return h == roots_.main_heap || in_module_data(h); }

  int owner_of_heap(uint64_t heap) {
    if (auto it = heaps_.find(heap); it != heaps_.end()) return it->second;
    return special_owner("abandoned", abandoned_owner_);
  }
  int special_owner(const char* label, int& slot) {
    if (slot == kNoOwner) {
      slot = int(heap_.owners.size());
      heap_.owners.push_back({label, Address(), 0});
    }
    return slot;
  }
  int owner_of_thread(uint64_t thread_id) {
    if (auto it = thread_owner_.find(thread_id); thread_id && it != thread_owner_.end()) return it->second;
    return special_owner("abandoned", abandoned_owner_);
  }

  // Other threads' frees into a heap's full pages wait on the heap's
  // thread_delayed_free list (plain pointers: no MI_ENCODE_FREELIST).
  void read_delayed_lists() {
    std::unordered_set<uint64_t> seen;
    for (const auto& [heap, owner] : heaps_) {
      auto head = target_.read_u64(Address(heap + l_.heap_thread_delayed_free));
      uint64_t block = head ? *head : 0;
      for (uint64_t steps = 0; block != 0; ++steps) {
        if ((steps & 4095) == 0) check_cancel(cancel_);
        if (steps >= kMaxDelayed || !seen.insert(block).second) {
          finding("delayed-cycle", Address(block), owner, "the heap's delayed free list does not end");
          break;
        }
        auto next = target_.read_u64(Address(block));
        if (!next) {
          finding("bad-delayed-free", Address(block), owner, "a delayed free block is unreadable");
          break;
        }
        delayed_.emplace(block, heap);
        block = *next;
      }
    }
  }

  void emit(const Span& s) {
    int seg_owner = s.kind == kCachedSegment ? special_owner("segment cache", cache_owner_) : owner_of_thread(s.thread_id);
    if (s.kind != kBlock) {
      add(s.at, s.size, seg_owner, s.kind);
      return;
    }
    const RawPage& p = s.page;
    const int owner = p.xheap ? owner_of_heap(p.xheap) : owner_of_thread(s.thread_id);
    uint64_t bsize = p.xblock_size < l_.huge_block_size ? p.xblock_size : s.size;
    uint64_t start_offset = bsize >= 8 && bsize <= l_.small_start_max_block ? l_.small_start_offset : 0;
    if (start_offset >= s.size || p.capacity > p.reserved || uint64_t(p.reserved) * bsize > s.size - start_offset) {
      finding("bad-page", s.descriptor, owner,
              fmt::format("page of {} bytes: {} blocks of {} bytes reserved, {} committed", s.size, p.reserved, bsize,
                          p.capacity));
      add(s.at, s.size, owner, kUnknownSpan);
      return;
    }
    Address start = s.at + start_offset;
    Page summary{s.descriptor, start, bsize, p.capacity, p.reserved, p.used, 0, 0, 0, 0, owner};
    std::vector<uint8_t> state(p.capacity, kBlock);
    summary.free = walk_list(p.free, kFreeBlock, start, bsize, state, s.descriptor, owner, "free");
    summary.local_free = walk_list(p.local_free, kLocalFree, start, bsize, state, s.descriptor, owner, "local free");
    summary.thread_free = walk_list(p.xthread_free & ~uint64_t{3}, kThreadFree, start, bsize, state, s.descriptor, owner,
                                    "thread free");
    // The delayed blocks of this page: whatever the delayed lists hold inside it.
    if (!delayed_.empty()) {
      for (uint32_t k = 0; k < p.capacity; ++k) {
        auto it = delayed_.find((start + uint64_t(k) * bsize).value);
        if (it == delayed_.end()) continue;
        if (state[k] != kBlock)
          finding("delayed-free-twice", Address(it->first), owner, "a delayed free block is on a page free list too");
        state[k] = kDelayedFree;
        ++summary.delayed_free;
        delayed_.erase(it);
      }
    }
    uint32_t on_lists = summary.free + summary.local_free;
    if (p.used != p.capacity - std::min(on_lists, uint32_t{p.capacity}))
      finding("page-used", s.descriptor, owner,
              fmt::format("page of {}-byte blocks: used is {}, capacity {} less {} free blocks", bsize, p.used,
                          p.capacity, on_lists));
    add(s.at, start_offset, owner, kPagePad);
    Kind live = s.huge_segment ? kHugeBlock : bsize > l_.medium_obj_size_max ? kLargeBlock : kBlock;
    for (uint32_t k = 0; k < p.capacity; ++k)
      add(start + uint64_t(k) * bsize, bsize, owner, state[k] == kBlock ? live : Kind(state[k]));
    add(start + uint64_t(p.capacity) * bsize, uint64_t(p.reserved - p.capacity) * bsize, owner, kUnused);
    Address tail = start + uint64_t(p.reserved) * bsize;
    add(tail, s.at + s.size - tail, owner, kPageTail);
    heap_.pages.push_back(summary);
  }

  // A page list: every node a block of this page not met before, at most
  // `capacity` of them. Returns how many nodes were taken.
  uint32_t walk_list(uint64_t head, Kind kind, Address start, uint64_t bsize, std::vector<uint8_t>& state,
                     Address descriptor, int owner, const char* name) {
    uint32_t count = 0;
    for (uint64_t node = head; node != 0;) {
      uint64_t off = node - start.value;
      if (node < start.value || off % bsize != 0 || off / bsize >= state.size()) {
        finding("bad-free-list", Address(node), owner,
                fmt::format("the {} list of page {} points outside its blocks", name, to_hex(descriptor)));
        break;
      }
      uint64_t k = off / bsize;
      if (state[k] != kBlock) {
        finding(state[k] == kind ? "free-list-cycle" : "free-list-shared", Address(node), owner,
                fmt::format("the {} list of page {} meets a block twice", name, to_hex(descriptor)));
        break;
      }
      state[k] = kind;
      ++count;
      auto next = target_.read_u64(Address(node));
      if (!next) {
        finding("bad-free-list", Address(node), owner, fmt::format("a block on the {} list is unreadable", name));
        break;
      }
      node = *next;
    }
    return count;
  }

  const Target& target_;
  const Roots& roots_;
  const Layout& l_;
  const CancelToken& cancel_;
  Heap& heap_;
  std::vector<Span> spans_;
  std::map<uint64_t, int> heaps_;  // heap address: owner index
  std::unordered_map<uint64_t, int> thread_owner_;
  std::unordered_map<uint64_t, uint64_t> delayed_;  // block: its heap
  int abandoned_owner_ = kNoOwner, cache_owner_ = kNoOwner;
};

}  // namespace

std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols, const CancelToken& cancel) {
  auto roots = find_roots(target, symbols, cancel);
  if (!roots) return nullptr;
  auto heap = std::make_unique<Heap>();
  heap->allocator = "mimalloc";
  heap->version = version_name(roots->version_code);
  heap->kinds = kKinds;
  heap->version_code = roots->version_code;
  heap->version_known = roots->version_known;
  heap->found_by_structure = roots->by_structure;
  heap->main_heap = roots->main_heap;
  Address where = roots->segments.empty() ? Address() : roots->segments.front();
  for (const auto& note : roots->notes) heap->findings.push_back({"note", where, kNoOwner, note});
  Walker(target, *roots, cancel, *heap).run();
  heap->build_index();
  return heap;
}

}  // namespace heapscope::mimalloc
