// The walk: the size map, every thread cache's lists and every transfer
// cache slot (the freed objects tcmalloc holds above its spans), then the
// page map in page order: each span once, its objects classified by the
// lists they are on; then the metadata chunks around tcmalloc's own
// objects. tcmalloc's counters check the walk. Corrupt input becomes
// findings; every loop is bounded.
#include "heapscope/tcmalloc/heap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "model/tiling.h"
#include "tcmalloc/roots.h"
#include "util/mapped_range.h"

namespace heapscope::tcmalloc {

namespace {

enum Kind : uint8_t {
  kObject, kThreadCache, kTransferCache, kCentralFree, kSpanTail,
  kLarge, kPageHeapFree, kReturned, kMetadata, kUnknownSpan, kOwnObject,
};
// Objects and large spans start at the program's pointer: no header.
constexpr BlockKind kKinds[] = {
    {"object", BlockState::kInUse, 0, true},
    {"thread cache", BlockState::kCached, 0, false},
    {"transfer cache", BlockState::kFree, 0, false},
    {"central free", BlockState::kFree, 0, false},
    {"span tail", BlockState::kFree, 0, false},  // counted with the central cache's free bytes
    {"large", BlockState::kInUse, 0, true},
    {"page heap free", BlockState::kFree, 0, false},
    {"returned", BlockState::kFree, 0, false},  // released to the system (madvise), still mapped
    {"metadata", BlockState::kMetadata, 0, false},
    {"span", BlockState::kUnknown, 0, false},  // a span the walk could not read
    // tcmalloc's own leak (2.10 malloc_extension.cc: the default MallocExtension,
    // replaced at start-up and told to its own heap checker to ignore): in use, no
    // object of the program.
    {"tcmalloc's own", BlockState::kInUse, 0, true, 0, true},
};
static_assert(std::size(kKinds) <= kMaxBlockKinds);

constexpr int kPageHeapOwner = 0, kMetadataOwner = 1;

// Bounds for hostile input: no real process comes near them.
constexpr uint64_t kMaxSpans = uint64_t{1} << 26;
constexpr int kMaxThreadCaches = 1 << 16;
constexpr uint32_t kMaxListLength = 1 << 20;
constexpr size_t kMaxFindings = 10000;

class Walker {
 public:
  Walker(const Target& t, const Roots& r, const CancelToken& c, Heap& h)
      : target_(t), roots_(r), l_(*r.layout), cancel_(c), heap_(h) {}

  void run() {
    heap_.owners.push_back({"page heap", roots_.pageheap, 0});
    heap_.owners.push_back({"metadata", Address(), 0});
    if (!read_sizemap()) return;
    read_thread_caches();
    read_transfer_caches();
    read_pagemap();
    read_metadata();
    check_counters();
    finish();
  }

 private:
  void finding(std::string kind, Address at, int owner, std::string detail) {
    if (heap_.findings.size() < kMaxFindings) heap_.findings.push_back({std::move(kind), at, owner, std::move(detail)});
  }

  void add(Address at, uint64_t size, int owner, Kind kind) {
    if (size == 0) return;
    if (size > kMaxBlockSize) {
      finding("block-too-large", at, owner, fmt::format("{} bytes: more than a block can say", size));
      return;
    }
    heap_.blocks.emplace_back(at, size, owner, uint8_t(kind), 0);
    heap_.owners[owner].system_bytes += size;
  }

  std::optional<uint64_t> u64(Address a) const { return target_.read_u64(a); }

  bool read_sizemap() {
    classes_ = *u64(roots_.sizemap + l_.sizemap_num_size_classes);  // checked by find_roots
    for (uint64_t c = 0; c < classes_; ++c) {
      auto size = target_.read_value<int32_t>(roots_.sizemap + l_.sizemap_class_to_size + 4 * c);
      auto move = target_.read_value<int32_t>(roots_.sizemap + l_.sizemap_num_objects_to_move + 4 * c);
      if (!size || !move || *size < 0 || *move < 0) {
        finding("bad-sizemap", roots_.sizemap, kNoOwner, fmt::format("size class {} unreadable", c));
        return false;
      }
      class_size_.push_back(uint64_t(*size));
      class_move_.push_back(uint32_t(*move));
    }
    heap_.lists.resize(classes_ > 0 ? classes_ - 1 : 0);
    for (uint64_t c = 1; c < classes_; ++c) heap_.lists[c - 1] = {uint32_t(c), class_size_[c], 0, 0, {}};
    return true;
  }

  SizeClassLists* lists_of(uint64_t c) { return c >= 1 && c < classes_ ? &heap_.lists[c - 1] : nullptr; }

  // A singly linked list of freed objects (next pointer in the first word),
  // `length` long: into `into` (object -> size class). Stops at a repeat.
  uint64_t walk_list(uint64_t head, uint64_t length, uint64_t c, Address owner_at,
                     std::unordered_map<uint64_t, uint32_t>& into, std::string_view what) {
    uint64_t p = head, n = 0;
    for (; p != 0 && n < length; ++n) {
      if ((n & 4095) == 0) check_cancel(cancel_);
      bool elsewhere = (&into != &thread_cached_ && thread_cached_.count(p)) || (&into != &transfer_ && transfer_.count(p));
      if (elsewhere || !into.emplace(p, uint32_t(c)).second) {
        finding("free-list-repeat", Address(p), kPageHeapOwner,
                fmt::format("{} of size class {} at {} holds an object twice (a double free or a cycle)", what, c,
                            to_hex(owner_at)));
        return n;
      }
      auto next = u64(Address(p));
      if (!next) {
        finding("bad-free-list", Address(p), kPageHeapOwner,
                fmt::format("{} of size class {}: object unreadable", what, c));
        return n + 1;
      }
      p = *next;
    }
    return n;
  }

  // Every thread's cache: ThreadCache::thread_heaps_ and the next_ links.
  void read_thread_caches() {
    if (roots_.thread_heaps.is_null()) return;
    auto first = u64(roots_.thread_heaps);
    if (!first) {
      finding("bad-thread-heaps", roots_.thread_heaps, kNoOwner, "thread_heaps_ unreadable");
      return;
    }
    std::unordered_set<uint64_t> seen;
    for (uint64_t tc = *first, prev = 0; tc != 0;) {
      check_cancel(cancel_);
      if (heap_.thread_caches.size() >= size_t(kMaxThreadCaches) || !seen.insert(tc).second) {
        finding("thread-cache-cycle", Address(tc), kNoOwner, "the list of thread caches does not end");
        break;
      }
      auto back = u64(Address(tc) + l_.threadcache_prev);
      auto next = u64(Address(tc) + l_.threadcache_next);
      if (!back || !next || *back != prev) {
        finding("bad-thread-cache", Address(tc), kNoOwner,
                next ? "its prev_ link does not point back" : "thread cache unreadable");
        if (!next) break;
      }
      read_thread_cache(Address(tc));
      prev = tc;
      tc = *next;
    }
  }

  void read_thread_cache(Address tc) {
    heap_.thread_caches.push_back(tc);
    meta_hints_.push_back(tc.value);
    uint64_t bytes = 0;
    for (uint64_t c = 0; c < classes_; ++c) {
      Address list = tc + c * l_.freelist_size;
      auto head = u64(list + l_.freelist_list);
      auto length = target_.read_value<uint32_t>(list + l_.freelist_length);
      if (!head || !length) {
        finding("bad-thread-cache", list, kNoOwner, fmt::format("free list of size class {} unreadable", c));
        return;
      }
      // One more than length_: a longer list is corrupt too.
      uint64_t got = walk_list(*head, std::min<uint64_t>(*length, kMaxListLength) + 1, c, tc, thread_cached_,
                               "a thread cache's list");
      if (got != *length)
        finding("thread-cache-length", list, kNoOwner,
                fmt::format("size class {}: length_ says {}, the list holds {}", c, *length, got));
      if (auto* lists = lists_of(c)) lists->thread_caches.push_back(uint32_t(got));
      bytes += got * class_size_[c];
    }
    auto size = target_.read_value<int32_t>(tc + l_.threadcache_size_bytes);
    if (size && uint64_t(*size) != bytes)
      finding("thread-cache-size", tc, kNoOwner,
              fmt::format("the thread cache counts {} bytes, its lists hold {}", *size, bytes));
  }

  // Each size class's transfer cache: used_slots_ batches of
  // num_objects_to_move objects, linked from head to tail.
  void read_transfer_caches() {
    for (uint64_t c = 0; c < classes_; ++c) {
      Address central = roots_.central_cache + c * l_.central_size;
      auto used = target_.read_value<int32_t>(central + l_.central_used_slots);
      if (!used || *used < 0 || *used > l_.transfer_slots_max) {
        finding("bad-transfer-cache", central, kNoOwner,
                fmt::format("size class {}: used_slots_ is {}", c, used ? std::to_string(*used) : "unreadable"));
        continue;
      }
      uint64_t objects = 0;
      for (int s = 0; s < *used; ++s) {
        Address slot = central + l_.central_tc_slots + uint64_t(s) * 16;
        auto head = u64(slot), tail = u64(slot + 8);
        if (!head || !tail) {
          finding("bad-transfer-cache", slot, kNoOwner, fmt::format("size class {}: slot {} unreadable", c, s));
          break;
        }
        uint64_t got = walk_list(*head, uint64_t{class_move_[c]} + 1, c, central, transfer_, "a transfer cache slot");
        if (got != class_move_[c])
          finding("transfer-slot-length", slot, kNoOwner,
                  fmt::format("size class {}: slot {} holds {} objects, not {}", c, s, got, class_move_[c]));
        objects += got;
      }
      if (auto* lists = lists_of(c)) lists->transfer = objects;
    }
  }

  // The page map in page order. A span is recorded at its first and last
  // page (a small-object span at every page); entries inside a span may
  // still name spans merged away since, so the walk jumps over each span.
  void read_pagemap() {
    const uint64_t root_entries = uint64_t{1} << l_.pagemap_root_bits;
    const uint64_t leaf_entries = uint64_t{1} << l_.pagemap_leaf_bits;
    Address root_at = roots_.pageheap + l_.pageheap_pagemap_root;
    std::vector<uint64_t> root(root_entries), leaf(leaf_entries);
    if (!target_.read_exact(root_at, root.data(), root_entries * 8)) {
      finding("bad-pagemap", root_at, kPageHeapOwner, "the page map's root is unreadable");
      return;
    }
    uint64_t next_page = 0, spans = 0;
    for (uint64_t i = 0; i < root_entries; ++i) {
      if (root[i] == 0) continue;
      check_cancel(cancel_);
      meta_hints_.push_back(root[i]);
      if (!target_.read_exact(Address(root[i]), leaf.data(), leaf_entries * 8)) {
        finding("bad-pagemap", Address(root[i]), kPageHeapOwner, fmt::format("page map leaf {} is unreadable", i));
        continue;
      }
      for (uint64_t j = 0; j < leaf_entries; ++j) {
        uint64_t page = (i << l_.pagemap_leaf_bits) | j;
        if (leaf[j] == 0 || page < next_page) continue;
        if (++spans > kMaxSpans) {
          finding("too-many-spans", root_at, kPageHeapOwner, "the page map names more spans than heapscope reads");
          return;
        }
        if ((spans & 1023) == 0) check_cancel(cancel_);
        next_page = read_span(Address(leaf[j]), page);
      }
    }
  }

  // One span; returns the first page after it (page + 1 when unreadable).
  uint64_t read_span(Address span, uint64_t page) {
    std::byte raw[64];
    if (l_.span_size > sizeof raw || !target_.read_exact(span, raw, l_.span_size)) {
      finding("bad-span", span, kPageHeapOwner, fmt::format("span descriptor of page {:#x} unreadable", page));
      return page + 1;
    }
    auto word = [&](uint64_t off) {
      uint64_t v;
      std::memcpy(&v, raw + off, 8);
      return v;
    };
    uint32_t bits;
    std::memcpy(&bits, raw + l_.span_bits, 4);
    uint64_t start = word(l_.span_start), length = word(l_.span_length);
    const uint64_t max_page = uint64_t{1} << (l_.pagemap_root_bits + l_.pagemap_leaf_bits);
    if (start != page || length == 0 || length > max_page - start) {
      finding("bad-span", span, kPageHeapOwner,
              fmt::format("the page map's entry for page {:#x} names a span of pages [{:#x}, +{})", page, start,
                          length));
      return page + 1;
    }
    meta_hints_.push_back(span.value);
    Address base(start << l_.page_shift);
    uint64_t bytes = length << l_.page_shift;
    if (!util::mapped_without_gap(target_, base, bytes)) {
      finding("span-unmapped", base, kPageHeapOwner,
              fmt::format("span of {} bytes (descriptor {}) is not in mapped memory: left out", bytes, to_hex(span)));
      return start + length;
    }
    unsigned location = (bits >> l_.bits_location_shift) & 3;
    unsigned sizeclass = (bits >> l_.bits_sizeclass_shift) & 0xff;
    unsigned refcount = bits & ((1u << l_.bits_refcount_width) - 1);
    spans_bytes_ += bytes;
    switch (location) {
      case kOnNormalFreelist: add(base, bytes, kPageHeapOwner, kPageHeapFree); free_bytes_ += bytes; break;
      case kOnReturnedFreelist: add(base, bytes, kPageHeapOwner, kReturned); unmapped_bytes_ += bytes; break;
      case kInUse:
        if (sizeclass == 0) add(base, bytes, kPageHeapOwner, kLarge);
        else read_small_span(span, word(l_.span_objects), base, bytes, sizeclass, refcount);
        break;
      default:
        finding("bad-span", span, kPageHeapOwner, fmt::format("span location {}", location));
        add(base, bytes, kPageHeapOwner, kUnknownSpan);
    }
    return start + length;
  }

  // A span of one size class: objects on its own free list (the central
  // free list), in a transfer cache, in a thread cache, or in use.
  void read_small_span(Address span, uint64_t objects, Address base, uint64_t bytes, unsigned sizeclass,
                       unsigned refcount) {
    uint64_t size = sizeclass < classes_ ? class_size_[sizeclass] : 0;
    if (size == 0 || size > bytes) {
      finding("bad-span", span, kPageHeapOwner, fmt::format("small-object span of size class {}", sizeclass));
      add(base, bytes, kPageHeapOwner, kUnknownSpan);
      return;
    }
    uint64_t n = bytes / size;
    std::vector<bool> on_span_list(n);
    uint64_t free_count = 0;
    for (uint64_t p = objects; p != 0; ++free_count) {
      if (free_count >= n) {
        finding("free-list-cycle", span, kPageHeapOwner, "the span's free list has more objects than the span");
        break;
      }
      uint64_t off = p - base.value;
      if (p < base.value || off >= n * size || off % size) {
        finding("bad-free-object", Address(p), kPageHeapOwner,
                fmt::format("the free list of the span at {} points outside its objects", to_hex(base)));
        break;
      }
      if (on_span_list[off / size]) {
        finding("free-list-cycle", Address(p), kPageHeapOwner, "the span's free list loops");
        break;
      }
      on_span_list[off / size] = true;
      auto next = u64(Address(p));
      if (!next) {
        finding("bad-free-object", Address(p), kPageHeapOwner, "a free object is unreadable");
        ++free_count;
        break;
      }
      p = *next;
    }
    central_free_[sizeclass] += free_count;
    ++central_spans_[sizeclass];
    if (free_count + refcount != n)
      finding("span-refcount", span, kPageHeapOwner,
              fmt::format("span of {} objects of {} bytes: refcount {} and {} on its free list", n, size, refcount,
                          free_count));
    for (uint64_t k = 0; k < n; ++k) {
      Address at = base + k * size;
      Kind kind = kObject;
      if (on_span_list[k]) kind = kCentralFree;
      if (transfer_.erase(at.value)) kind = kind == kObject ? kTransferCache : report_both(at, kind);
      if (thread_cached_.erase(at.value)) kind = kind == kObject ? kThreadCache : report_both(at, kind);
      if (kind == kObject && size == 8 && is_default_extension(at)) kind = kOwnObject;
      add(at, size, kPageHeapOwner, kind);
    }
    add(base + n * size, bytes - n * size, kPageHeapOwner, kSpanTail);
  }

  bool is_default_extension(Address at) const {
    return !roots_.default_extension_vptr.is_null() && u64(at) == roots_.default_extension_vptr.value;
  }

  Kind report_both(Address at, Kind kind) {
    finding("free-twice", at, kPageHeapOwner, "an object on two free lists (a double free)");
    return kind;
  }

  // tcmalloc's metadata comes in 8 MiB chunks from the system (sbrk or
  // mmap), carved from their start, and is listed nowhere. Each chunk holds
  // a descriptor, a thread cache or a page map leaf the walk met: the chunk
  // around it starts where the last span or chunk before it ends (or its
  // mapping starts), a whole number of chunks below it.
  void read_metadata() {
    if (!roots_.threadcache_allocator.is_null()) {
      auto area = u64(roots_.threadcache_allocator + l_.allocator_free_area);
      auto avail = u64(roots_.threadcache_allocator + l_.allocator_free_avail);
      if (area && avail && *avail > 0) meta_hints_.push_back(*area);
    }
    std::sort(meta_hints_.begin(), meta_hints_.end());
    // Spans came in address order: their ends bound the chunks.
    std::vector<AddressRange> taken;
    for (const Block& b : heap_.blocks) {
      if (!taken.empty() && taken.back().end == b.address) taken.back().end = b.end();
      else taken.push_back({b.address, b.end()});
    }
    const uint64_t chunk = l_.metadata_chunk;
    AddressRange last{};
    for (uint64_t h : meta_hints_) {
      Address hint(h);
      if (last.contains(hint)) continue;
      const Region* region = target_.find_region(hint);
      if (!region) continue;
      auto after = std::upper_bound(taken.begin(), taken.end(), hint,
                                    [](Address a, const AddressRange& r) { return a < r.begin; });
      Address floor = region->range.begin;
      if (after != taken.begin()) {
        const AddressRange& below = *(after - 1);
        if (below.contains(hint)) {
          finding("metadata-in-span", hint, kMetadataOwner, "tcmalloc's own object lies inside a span");
          continue;
        }
        floor = std::max(floor, below.end);
      }
      if (last.end <= hint) floor = std::max(floor, last.end);
      Address begin = floor + (hint - floor) / chunk * chunk;
      Address limit = after == taken.end() ? Address(~uint64_t{0}) : after->begin;
      if (begin + chunk > limit || !util::mapped_without_gap(target_, begin, chunk)) {
        finding("metadata-chunk", hint, kMetadataOwner,
                fmt::format("no 8 MiB metadata chunk fits around {} (from {})", to_hex(hint), to_hex(begin)));
        continue;
      }
      add(begin, chunk, kMetadataOwner, kMetadata);
      last = {begin, begin + chunk};
    }
  }

  // The walk against tcmalloc's own counters: the page heap's stats, the
  // central lists' counters, TCMalloc_SystemTaken.
  void check_counters() {
    Address stats = roots_.pageheap + l_.pageheap_stats;
    auto system = u64(stats + l_.stats_system_bytes), free = u64(stats + l_.stats_free_bytes),
         unmapped = u64(stats + l_.stats_unmapped_bytes);
    auto compare = [&](std::optional<uint64_t> theirs, uint64_t ours, std::string_view what) {
      if (theirs && *theirs != ours)
        finding("counter-mismatch", stats, kPageHeapOwner,
                fmt::format("the page heap counts {} {} bytes, the walk found {}", *theirs, what, ours));
    };
    compare(system, spans_bytes_, "system");
    compare(free, free_bytes_, "free");
    compare(unmapped, unmapped_bytes_, "unmapped");
    for (uint64_t c = 0; c < classes_; ++c) {
      Address central = roots_.central_cache + c * l_.central_size;
      auto counter = u64(central + l_.central_counter);
      auto spans = u64(central + l_.central_num_spans);
      if (counter && *counter != central_free_[c])
        finding("counter-mismatch", central, kPageHeapOwner,
                fmt::format("size class {}: the central list counts {} free objects, its spans hold {}", c, *counter,
                            central_free_[c]));
      if (spans && *spans != central_spans_[c])
        finding("counter-mismatch", central, kPageHeapOwner,
                fmt::format("size class {}: the central list counts {} spans, the page map {}", c, *spans,
                            central_spans_[c]));
      if (auto* lists = lists_of(c)) lists->central_free = central_free_[c];
    }
    if (!roots_.system_taken.is_null()) {
      if (auto taken = u64(roots_.system_taken)) {
        heap_.system_taken = *taken;
        uint64_t metadata = heap_.owners[kMetadataOwner].system_bytes;
        if (system && *taken >= *system && *taken - *system != metadata)
          finding("metadata-unaccounted", roots_.system_taken, kMetadataOwner,
                  fmt::format("tcmalloc took {} bytes for metadata, the walk found {} in chunks", *taken - *system,
                              metadata));
      }
    }
  }

  void finish() {
    for (auto [p, c] : thread_cached_)
      finding("stray-cached", Address(p), kNoOwner, fmt::format("a thread cache holds {} (size class {}), no object", to_hex(p), c));
    for (auto [p, c] : transfer_)
      finding("stray-cached", Address(p), kNoOwner, fmt::format("a transfer cache holds {} (size class {}), no object", to_hex(p), c));
    sort_and_tile(heap_, kMaxFindings);
  }

  const Target& target_;
  const Roots& roots_;
  const Layout& l_;
  const CancelToken& cancel_;
  Heap& heap_;
  uint64_t classes_ = 0;
  std::vector<uint64_t> class_size_;
  std::vector<uint32_t> class_move_;
  std::unordered_map<uint64_t, uint32_t> thread_cached_, transfer_;  // object -> size class
  std::unordered_map<uint64_t, uint64_t> central_free_, central_spans_;       // size class -> count
  std::vector<uint64_t> meta_hints_;  // addresses of tcmalloc's own objects
  uint64_t spans_bytes_ = 0, free_bytes_ = 0, unmapped_bytes_ = 0;
};

}  // namespace

std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel) {
  auto roots = find_roots(target, symbols, cancel);
  if (!roots) return nullptr;
  auto heap = std::make_unique<Heap>();
  heap->allocator = "tcmalloc";
  heap->version = roots->version;
  heap->kinds = kKinds;
  heap->pageheap = roots->pageheap;
  heap->sizemap = roots->sizemap;
  heap->central_cache = roots->central_cache;
  heap->version_known = roots->version_known;
  heap->found_by_structure = roots->by_structure;
  for (const auto& note : roots->notes) heap->findings.push_back({"note", roots->sizemap, kNoOwner, note});
  Walker(target, *roots, cancel, *heap).run();
  heap->build_index();
  return heap;
}

}  // namespace heapscope::tcmalloc
