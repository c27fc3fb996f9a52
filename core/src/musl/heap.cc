// The walk: the context -> its meta areas -> every meta in use -> its group,
// checked the way mallocng's get_meta() checks a pointer (the group points
// back at its meta, the meta lies in a page that starts with the secret);
// then each group that owns its memory (mapped, or donated by the dynamic
// linker) is tiled slot by slot, a group nested in a slot standing in for
// that slot. Corrupt input becomes findings; every loop is bounded.
#include "heapscope/musl/heap.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "model/tiling.h"
#include "musl/context.h"
#include "musl/layout.h"

namespace heapscope::musl {

namespace {

enum Kind : uint8_t {
  kSlot, kMappedSlot, kFreedSlot, kAvailSlot, kSlotOffset, kSlotReserve,
  kGroupHeader, kGroupTail, kMetaArea, kBadSlot, kBadGroup,
};
// A slot in use is three blocks: the bytes mallocng skipped at its start
// (it cycles where in the slot an allocation starts, to catch double
// frees), the bytes the program asked for, and the rest up to the next
// slot (what mallocng calls reserved, and the next slot's header).
constexpr BlockKind kKinds[] = {
    {"slot", BlockState::kInUse, 0, true},
    {"mmapped", BlockState::kMapped, 0, true},  // a mapping of its own: 128 KiB and more
    {"freed slot", BlockState::kFree, 0, false},    // freed_mask: freed, or never activated yet
    {"avail slot", BlockState::kFree, 0, false},    // avail_mask: ready to hand out
    {"slot offset", BlockState::kMetadata, 0, false},
    {"slot reserve", BlockState::kMetadata, 0, false},
    {"group header", BlockState::kMetadata, 0, false},
    {"group tail", BlockState::kMetadata, 0, false},  // a group's bytes past its last slot
    {"meta area", BlockState::kMetadata, 0, false},
    {"bad slot", BlockState::kUnknown, 0, false},     // a slot in use whose header does not parse
    {"bad group", BlockState::kUnknown, 0, false},    // slots that do not fit their group's memory
};
static_assert(std::size(kKinds) <= kMaxBlockKinds);

// Bounds for hostile input: no real process comes near them.
constexpr int kMaxMetaAreas = 1 << 20;
constexpr int kMaxListSteps = 1 << 22;
constexpr int kMaxNesting = 8;
constexpr size_t kMaxFindings = 10000;

struct MetaWords {
  uint64_t prev, next, mem;
  uint32_t avail, freed;
  uint64_t bits;
};

MetaWords meta_words(const std::byte* raw) {
  MetaWords m;
  std::memcpy(&m.prev, raw + meta::kPrev, 8);
  std::memcpy(&m.next, raw + meta::kNext, 8);
  std::memcpy(&m.mem, raw + meta::kMem, 8);
  std::memcpy(&m.avail, raw + meta::kAvailMask, 4);
  std::memcpy(&m.freed, raw + meta::kFreedMask, 4);
  std::memcpy(&m.bits, raw + meta::kBits, 8);
  return m;
}

// What the header of a slot in use says about it.
struct SlotUse {
  Address user;           // the pointer malloc returned
  uint64_t size = 0;      // the size the program asked for
  bool nested = false;    // the slot holds a group
  bool overflow = false;  // a check byte past the allocation is not zero
  std::string error;      // why the header does not parse; empty when it does
};

class Walker {
 public:
  Walker(const Target& t, const CancelToken& c, Heap& h) : target_(t), cancel_(c), heap_(h) {}

  void run() {
    if (!target_.read_exact(heap_.context, ctx_.data(), ctx_.size())) {
      finding("bad-context", heap_.context, "the malloc context is unreadable");
      return;
    }
    heap_.secret = word(context::kSecret);
    read_meta_areas();
    read_groups();
    read_active_lists();
    read_free_metas();
    tile();
    check_usage();
    finish();
  }

 private:
  uint64_t word(uint64_t off) const {
    uint64_t v;
    std::memcpy(&v, ctx_.data() + off, 8);
    return v;
  }

  void finding(std::string kind, Address at, std::string detail) {
    if (heap_.findings.size() < kMaxFindings)
      heap_.findings.push_back({std::move(kind), at, 0, std::move(detail)});
  }

  void add(Address at, uint64_t size, Kind kind) {
    if (size == 0) return;
    if (size > kMaxBlockSize) {
      finding("block-too-large", at, fmt::format("{} bytes: more than a block can say", size));
      return;
    }
    heap_.blocks.emplace_back(at, size, 0, uint8_t(kind), 0);
    heap_.owners[0].system_bytes += size;
  }

  // [at, at + size) lies in mappings that follow each other without a gap.
  bool mapped(Address at, uint64_t size) const {
    const auto& regions = target_.regions();
    const Region* r = target_.find_region(at);
    if (!r || at + size < at) return false;
    for (size_t i = size_t(r - regions.data()); i < regions.size(); ++i) {
      if (i > size_t(r - regions.data()) && regions[i].range.begin != regions[i - 1].range.end) return false;
      if (regions[i].range.end - at >= size) return true;
    }
    return false;
  }

  // The list of meta areas, each a page of metas; in the last one only the
  // metas before avail_meta were handed out.
  void read_meta_areas() {
    const uint64_t head = word(context::kMetaAreaHead), tail = word(context::kMetaAreaTail);
    const uint64_t avail_count = word(context::kAvailMetaCount);
    std::unordered_set<uint64_t> seen;
    std::vector<std::byte> page(meta_area::kSize);
    uint64_t last = 0;
    for (uint64_t area = head; area != 0;) {
      check_cancel(cancel_);
      if (seen.size() >= size_t(kMaxMetaAreas) || !seen.insert(area).second) {
        finding("meta-area-cycle", Address(area), "the meta area list does not end");
        break;
      }
      if (area % kPage || !target_.read_exact(Address(area), page.data(), page.size())) {
        finding("bad-meta-area", Address(area), "meta area unreadable or not page-aligned");
        break;
      }
      uint64_t check, next;
      int32_t nslots;
      std::memcpy(&check, page.data() + meta_area::kCheck, 8);
      std::memcpy(&next, page.data() + meta_area::kNext, 8);
      std::memcpy(&nslots, page.data() + meta_area::kNslots, 4);
      if (check != heap_.secret) {
        finding("bad-meta-area", Address(area), "the meta area's check word is not the context's secret");
        break;
      }
      uint64_t metas = nslots >= 0 && uint64_t(nslots) <= kMetasPerArea ? uint64_t(nslots) : 0;
      if (metas != kMetasPerArea)
        finding("bad-meta-area", Address(area), fmt::format("the meta area says it holds {} metas", nslots));
      if (area == tail) {
        if (avail_count <= metas) metas -= avail_count;
        else finding("bad-context", heap_.context, fmt::format("avail_meta_count {} is more than a meta area holds", avail_count));
      }
      add(Address(area), meta_area::kSize, kMetaArea);
      for (uint64_t i = 0; i < metas; ++i) {
        const uint64_t at = area + meta_area::kSlots + i * meta::kSize;
        metas_.push_back({Address(at), meta_words(page.data() + meta_area::kSlots + i * meta::kSize)});
      }
      last = area;
      area = next;
    }
    if (last != tail)
      finding("meta-area-list", Address(tail), "the meta area list does not end at the context's meta_area_tail");
  }

  // Every meta handed out and not freed describes a group that points back at it.
  void read_groups() {
    for (const auto& [at, m] : metas_) {
      if (m.mem == 0) continue;  // freed: on free_meta_head
      check_cancel(cancel_);
      Group g;
      g.meta = at;
      g.mem = Address(m.mem);
      g.sizeclass = meta::sizeclass(m.bits);
      g.slots = meta::last_idx(m.bits) + 1;
      g.maplen = meta::maplen(m.bits);
      g.freeable = meta::freeable(m.bits);
      g.avail_mask = m.avail;
      g.freed_mask = m.freed;
      g.stride = g.slots == 1 && g.maplen ? g.maplen * kPage - kUnit : kUnit * class_units(g.sizeclass);
      g.nested = g.maplen == 0 && g.freeable;
      const uint32_t all = g.slots == 32 ? ~0u : (1u << g.slots) - 1;
      auto back = target_.read_u64(g.mem + group::kMeta);
      std::string bad;
      if (m.mem % kUnit || !back) bad = "its group is unreadable or misaligned";
      else if (*back != at.value) bad = fmt::format("its group at {} points back at {}", to_hex(m.mem), to_hex(*back));
      else if (g.sizeclass >= uint64_t(kSizeClasses) && g.sizeclass != kMmappedClass) bad = fmt::format("size class {}", g.sizeclass);
      else if (g.sizeclass == kMmappedClass && (g.slots != 1 || g.maplen == 0)) bad = "an mmapped slot's meta is not one mapped slot";
      else if ((g.avail_mask | g.freed_mask) & ~all || g.avail_mask & g.freed_mask)
        bad = fmt::format("masks avail {:#x} freed {:#x} over {} slots", g.avail_mask, g.freed_mask, g.slots);
      else if (g.maplen && (m.mem % kPage || g.maplen > (kMaxBlockSize >> 12))) bad = fmt::format("mapping of {} pages", g.maplen);
      else if (g.maplen && kUnit + g.stride * g.slots > g.maplen * kPage) bad = "its slots do not fit its mapping";
      if (!bad.empty()) {
        finding("bad-meta", at, "meta of a group: " + bad);
        continue;
      }
      group_at_mem_.emplace(m.mem, heap_.groups.size());
      group_at_meta_.emplace(at.value, heap_.groups.size());
      heap_.groups.push_back(g);
    }
  }

  // A ring of metas through next/prev, from a context head; calls visit on each.
  template <typename Visit>
  void walk_ring(uint64_t head, std::string_view what, Visit&& visit) {
    std::unordered_set<uint64_t> seen;
    for (uint64_t m = head; m != 0;) {
      if (seen.size() >= size_t(kMaxListSteps) || !seen.insert(m).second) {
        finding("meta-list-cycle", Address(m), fmt::format("{} does not close at its head", what));
        return;
      }
      auto next = target_.read_u64(Address(m + meta::kNext));
      auto back = next ? target_.read_u64(Address(*next + meta::kPrev)) : std::nullopt;
      if (!next || !back || *back != m) {
        finding("meta-list-link", Address(m), fmt::format("{}: next and prev disagree", what));
        return;
      }
      if (!visit(m)) return;
      m = *next;
      if (m == head) return;
    }
  }

  // ctx.active[sc]: the groups of each class with slots to hand out.
  void read_active_lists() {
    for (unsigned sc = 0; sc < unsigned(kSizeClasses); ++sc) {
      check_cancel(cancel_);
      const uint64_t head = word(context::kActive + 8 * sc);
      walk_ring(head, fmt::format("the active list of size class {}", sc), [&](uint64_t m) {
        auto it = group_at_meta_.find(m);
        if (it == group_at_meta_.end() || heap_.groups[it->second].sizeclass != sc) {
          finding("active-list", Address(m), fmt::format("on size class {}'s active list but no group of it", sc));
          return false;
        }
        heap_.groups[it->second].active = true;
        return true;
      });
    }
  }

  // ctx.free_meta_head: metas freed with their groups, zeroed.
  void read_free_metas() {
    std::unordered_set<uint64_t> freed;
    for (const auto& [at, m] : metas_)
      if (m.mem == 0) freed.insert(at.value);
    size_t on_list = 0;
    walk_ring(word(context::kFreeMetaHead), "the free meta list", [&](uint64_t m) {
      if (!freed.count(m)) {
        finding("free-meta-list", Address(m), "on the free meta list but not a free meta");
        return false;
      }
      ++on_list;
      return true;
    });
    if (on_list != freed.size())
      finding("free-meta-list", Address(word(context::kFreeMetaHead)),
              fmt::format("{} metas are free, {} on the free meta list", freed.size(), on_list));
  }

  void tile() {
    std::vector<const Group*> top;
    for (const Group& g : heap_.groups)
      if (!g.nested) top.push_back(&g);
    std::sort(top.begin(), top.end(), [](const Group* a, const Group* b) { return a->mem < b->mem; });
    for (const Group* g : top) {
      check_cancel(cancel_);
      uint64_t size = g->maplen ? g->maplen * kPage : kUnit + g->stride * g->slots;
      if (!mapped(g->mem, size)) {
        finding("group-unmapped", g->mem, fmt::format("group of {} bytes (meta {}) is not in mapped memory: left out",
                                                      size, to_hex(g->meta)));
        continue;
      }
      tile_group(*g, g->mem + size, 0);
    }
    for (size_t i = 0; i < heap_.groups.size(); ++i)
      if (heap_.groups[i].nested && !placed_.count(i))
        finding("orphan-group", heap_.groups[i].mem,
                fmt::format("group of size class {} (meta {}) is in no slot of another group",
                            heap_.groups[i].sizeclass, to_hex(heap_.groups[i].meta)));
  }

  // A group and its slots over [mem, end).
  void tile_group(const Group& g, Address end, int depth) {
    add(g.mem, kUnit, kGroupHeader);
    const Address slots_begin = g.mem + group::kStorage;
    if (end < slots_begin || end - slots_begin < g.stride * g.slots) {
      finding("bad-group", g.mem, fmt::format("{} slots of {} bytes do not fit the group's {} bytes", g.slots,
                                              g.stride, end - g.mem));
      if (end > slots_begin) add(slots_begin, end - slots_begin, kBadGroup);
      return;
    }
    for (unsigned i = 0; i < g.slots; ++i) {
      const Address start = slots_begin + g.stride * i, slot_end = start + g.stride;
      if (g.avail_mask >> i & 1) add(start, g.stride, kAvailSlot);
      else if (g.freed_mask >> i & 1) add(start, g.stride, kFreedSlot);
      else tile_slot(g, i, start, slot_end, depth);
    }
    add(slots_begin + g.stride * g.slots, end - (slots_begin + g.stride * g.slots), kGroupTail);
  }

  void tile_slot(const Group& g, unsigned i, Address start, Address slot_end, int depth) {
    SlotUse use = parse_slot(g, i, start, slot_end);
    if (!use.error.empty()) {
      finding("bad-slot", start, fmt::format("slot {} of the group at {}: {}", i, to_hex(g.mem), use.error));
      add(start, g.stride, kBadSlot);
      return;
    }
    if (use.nested) {
      auto it = group_at_mem_.find(use.user.value);
      if (it == group_at_mem_.end() || !heap_.groups[it->second].nested || placed_.count(it->second) ||
          depth >= kMaxNesting) {
        finding("bad-slot", start, fmt::format("slot {} of the group at {} says it holds a group, and none is there",
                                               i, to_hex(g.mem)));
        add(start, g.stride, kBadSlot);
        return;
      }
      placed_.insert(it->second);
      tile_group(heap_.groups[it->second], slot_end, depth + 1);
      return;
    }
    if (use.overflow)
      finding("slot-overflow", use.user,
              fmt::format("the byte after the allocation's {} bytes is not zero: written past its end", use.size));
    // A malloc(0) keeps its slot's usable bytes: a block is never empty.
    const uint64_t size = use.size ? use.size : slot_end - kInBand - use.user;
    add(start, use.user - start, kSlotOffset);
    add(use.user, size, g.sizeclass == kMmappedClass ? kMappedSlot : kSlot);
    add(use.user + size, slot_end - (use.user + size), kSlotReserve);
  }

  // The header of slot i (in use by the masks), checked as get_meta() and
  // get_nominal_size() check a pointer passed to free.
  SlotUse parse_slot(const Group& g, unsigned i, Address start, Address slot_end) {
    SlotUse use;
    const Address end = slot_end - kInBand;  // where the next slot's header begins
    auto byte = [&](Address a) { return target_.read_value<uint8_t>(a); };
    auto start_flags = byte(start - 3);
    auto start_off = target_.read_value<uint16_t>(start - 2);
    if (!start_flags || !start_off) return use.error = "header unreadable", use;
    use.user = start;
    if (*start_flags >> 5 == slot::kOffsetStart) {
      use.user = start + kUnit * *start_off;
      if (*start_off == 0 || use.user >= end) return use.error = fmt::format("offset {} past the slot", *start_off), use;
    }
    const Address p = use.user;
    auto flags = byte(p - 3), big = byte(p - 4);
    auto off16 = target_.read_value<uint16_t>(p - 2);
    if (!flags || !big || !off16) return use.error = "header unreadable", use;
    if (*flags == 0xff) return use.error = "its header says freed, its group's masks say in use", use;
    if ((*flags & 31) != i) return use.error = fmt::format("header index {}", *flags & 31), use;
    uint64_t offset = *off16;
    if (*big) {
      auto off32 = target_.read_value<uint32_t>(p - 8);
      if (offset != 0 || !off32 || *off32 <= 0xffff) return use.error = "bad large offset", use;
      offset = *off32;
    }
    if (g.mem + group::kStorage + kUnit * offset != p)
      return use.error = fmt::format("header offset {} does not lead back to the group", offset), use;
    const uint64_t units = class_units(g.sizeclass);
    if (g.sizeclass < unsigned(kSizeClasses) && (offset < units * i || offset >= units * (i + 1)))
      return use.error = fmt::format("header offset {} outside the slot", offset), use;
    uint64_t reserved = *flags >> 5;
    if (reserved == slot::kNestedGroup) {
      if (p != start) return use.error = "a nested group at an offset", use;
      use.nested = true;
      return use;
    }
    if (reserved == slot::kReservedInTail) {
      auto tail = target_.read_value<uint32_t>(end - 4);
      auto zero = byte(end - 5);
      if (!tail || !zero || *tail < slot::kReservedInTail || *zero)
        return use.error = "the reserved count at the slot's end is bad", use;
      reserved = *tail;
    } else if (reserved > slot::kReservedInTail) {
      return use.error = fmt::format("reserved field {}", reserved), use;
    }
    if (reserved > end - p) return use.error = fmt::format("reserved {} is more than the slot", reserved), use;
    use.size = end - p - reserved;
    auto past = byte(end - reserved), next_check = byte(end);
    use.overflow = !past || !next_check || *past || *next_check;
    return use;
  }

  // ctx.usage_by_class: the slots of the freeable groups of each class.
  void check_usage() {
    std::array<uint64_t, kSizeClasses> ours{};
    for (const Group& g : heap_.groups)
      if (g.freeable && g.sizeclass < unsigned(kSizeClasses)) ours[g.sizeclass] += g.slots;
    for (unsigned sc = 0; sc < unsigned(kSizeClasses); ++sc) {
      const uint64_t theirs = word(context::kUsageByClass + 8 * sc);
      if (theirs != ours[sc])
        finding("usage-mismatch", heap_.context,
                fmt::format("size class {} ({} bytes): mallocng counts {} slots, the walk found {}", sc,
                            kUnit * class_units(sc), theirs, ours[sc]));
    }
  }

  // Overlaps mean corrupt metas: the first block stays, the other is a finding.
  void finish() { sort_and_tile(heap_, kMaxFindings); }

  const Target& target_;
  const CancelToken& cancel_;
  Heap& heap_;
  std::array<std::byte, context::kSize> ctx_{};
  std::vector<std::pair<Address, MetaWords>> metas_;  // every meta handed out, in area order
  std::unordered_map<uint64_t, size_t> group_at_mem_, group_at_meta_;
  std::unordered_set<size_t> placed_;  // nested groups found in their slot
};

}  // namespace

std::unique_ptr<HeapModel> try_build(const Target& target, const SymbolResolver& symbols,
                                     const CancelToken& cancel) {
  auto ctx = find_context(target, symbols, cancel);
  if (!ctx) return nullptr;
  auto heap = std::make_unique<Heap>();
  heap->allocator = "musl";
  heap->version = "mallocng";
  heap->kinds = kKinds;
  heap->context = ctx->at;
  heap->found_by_structure = ctx->by_structure;
  heap->owners.push_back({"malloc context", ctx->at, 0});
  if (ctx->initialised) Walker(target, cancel, *heap).run();
  heap->build_index();
  return heap;
}

}  // namespace heapscope::musl
