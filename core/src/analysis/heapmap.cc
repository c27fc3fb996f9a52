#include "heapscope/analysis/heapmap.h"

#include <algorithm>
#include <array>
#include <bit>

namespace heapscope {

using glibc::Chunk;
using glibc::ChunkState;

char map_char(uint8_t state) {
  if (state == kMixedState) return '%';
  switch (static_cast<ChunkState>(state)) {
    case ChunkState::kInUse: return '#';
    case ChunkState::kTcache: return 't';
    case ChunkState::kFast: return 'f';
    case ChunkState::kUnsorted: return 'u';
    case ChunkState::kSmall: return 's';
    case ChunkState::kLarge: return 'l';
    case ChunkState::kTop: return '.';
    case ChunkState::kMmapped: return 'M';
    case ChunkState::kMetadata: return 'm';
    case ChunkState::kFreeUnlisted: return '!';
    case ChunkState::kUnknown: return '?';
  }
  return '?';
}

std::string map_state_name(uint8_t state) {
  if (state == kMixedState) return "mixed";
  return std::string(glibc::state_name(static_cast<ChunkState>(state)));
}

char model_map_char(uint8_t state) {
  if (state == kModelMixedState) return '%';
  switch (static_cast<BlockState>(state)) {
    case BlockState::kInUse: return '#';
    case BlockState::kFree: return '-';
    case BlockState::kCached: return 'c';
    case BlockState::kTop: return '.';
    case BlockState::kMapped: return 'M';
    case BlockState::kMetadata: return 'm';
    case BlockState::kUnknown: return '?';
  }
  return '?';
}

std::string model_map_state_name(uint8_t state) {
  if (state == kModelMixedState) return "mixed";
  return std::string(block_state_name(static_cast<BlockState>(state)));
}

std::vector<uint8_t> model_map_legend_states() {
  std::vector<uint8_t> v;
  for (int s = 0; s <= kModelMixedState; ++s) v.push_back(static_cast<uint8_t>(s));
  return v;
}

std::vector<uint8_t> map_legend_states() {
  std::vector<uint8_t> v;
  for (ChunkState s : {ChunkState::kInUse, ChunkState::kTcache, ChunkState::kFast,
                       ChunkState::kUnsorted, ChunkState::kSmall, ChunkState::kLarge,
                       ChunkState::kTop, ChunkState::kMetadata, ChunkState::kMmapped,
                       ChunkState::kFreeUnlisted, ChunkState::kUnknown})
    v.push_back(static_cast<uint8_t>(s));
  v.push_back(kMixedState);
  return v;
}

namespace {

struct HeapChunks {
  const Chunk* begin;
  const Chunk* end;
};

HeapChunks chunks_in(const HeapModel& heap, AddressRange r) {
  const auto& cs = heap.blocks;
  auto lo = std::lower_bound(cs.begin(), cs.end(), r.begin,
                             [](const Chunk& c, Address a) { return c.address < a; });
  auto hi = std::lower_bound(lo, cs.end(), r.end,
                             [](const Chunk& c, Address a) { return c.address < a; });
  return {cs.data() + (lo - cs.begin()), cs.data() + (hi - cs.begin())};
}

// How blocks become span states: glibc's kinds are its ChunkStates; any
// other model's blocks take their kind's generic BlockState.
struct SpanStates {
  std::array<uint8_t, kMaxBlockKinds> of_kind{};
  uint8_t unknown = 0;  // bytes no block covers
  uint8_t count = 0;    // states, so count is also the mixed state
  char (*to_char)(uint8_t) = nullptr;  // the text strip's character
};

SpanStates glibc_span_states() {
  SpanStates s;
  for (size_t k = 0; k < s.of_kind.size(); ++k) s.of_kind[k] = static_cast<uint8_t>(k);
  s.unknown = static_cast<uint8_t>(ChunkState::kUnknown);
  s.count = glibc::kChunkStateCount;
  s.to_char = map_char;
  return s;
}

SpanStates model_span_states(const HeapModel& heap) {
  SpanStates s;
  s.of_kind.fill(static_cast<uint8_t>(BlockState::kUnknown));
  for (size_t k = 0; k < heap.kinds.size() && k < s.of_kind.size(); ++k)
    s.of_kind[k] = static_cast<uint8_t>(heap.kinds[k].state);
  s.unknown = static_cast<uint8_t>(BlockState::kUnknown);
  s.count = kBlockStateCount;
  s.to_char = model_map_char;
  return s;
}

void push_span(std::vector<MapSpan>& out, uint64_t off, uint64_t size, uint8_t state, uint32_t chunks) {
  if (size == 0) return;
  if (!out.empty() && out.back().state == state && out.back().offset + out.back().size == off) {
    out.back().size += size;
    out.back().chunks += chunks;
    return;
  }
  out.push_back({off, size, state, chunks});
}

// Runs of adjacent chunks in one state; bytes no chunk covers are "unknown".
std::vector<MapSpan> exact_spans(HeapChunks hc, AddressRange r, const SpanStates& ss) {
  std::vector<MapSpan> out;
  uint64_t at = 0;
  const uint64_t size = r.size();
  for (const Chunk* c = hc.begin; c != hc.end; ++c) {
    uint64_t off = c->address - r.begin;
    if (off > at) push_span(out, at, off - at, ss.unknown, 0);
    if (off < at) continue;  // overlapping chunk: a finding elsewhere
    uint64_t len = std::min(uint64_t{c->size}, size - off);
    push_span(out, off, len, ss.of_kind[c->kind], 1);
    at = off + len;
  }
  if (at < size) push_span(out, at, size - at, ss.unknown, 0);
  return out;
}

// Cells of `cell` bytes, each in the state covering most of it (kMixed when
// none covers 60%), merged into spans.
std::vector<MapSpan> cell_spans(HeapChunks hc, AddressRange r, uint64_t cell, const SpanStates& ss,
                                const CancelToken& cancel) {
  const uint64_t size = r.size();
  const uint64_t ncells = (size + cell - 1) / cell;
  std::vector<MapSpan> out;
  std::array<uint64_t, 16> bytes{};  // by state: room for glibc's 11 and the generic 7
  uint32_t starts = 0;
  const Chunk* c = hc.begin;
  uint64_t walked = 0;
  for (uint64_t i = 0; i < ncells; ++i) {
    if ((++walked & 0xffff) == 0) check_cancel(cancel);
    uint64_t cb = i * cell, ce = std::min(size, cb + cell);
    bytes.fill(0);
    starts = 0;
    uint64_t covered = 0;
    // Chunks overlapping [cb, ce): skip those ending before cb.
    while (c != hc.end && (c->address - r.begin) + c->size <= cb) ++c;
    for (const Chunk* d = c; d != hc.end; ++d) {
      uint64_t db = d->address - r.begin;
      if (db >= ce) break;
      uint64_t de = std::min(db + d->size, size);
      uint64_t ob = std::max(db, cb), oe = std::min(de, ce);
      if (oe > ob) {
        bytes[ss.of_kind[d->kind]] += oe - ob;
        covered += oe - ob;
      }
      if (db >= cb) ++starts;
    }
    const uint64_t len = ce - cb;
    if (covered < len) bytes[ss.unknown] += len - covered;
    size_t best = 0;
    for (size_t s = 1; s < ss.count; ++s)
      if (bytes[s] > bytes[best]) best = s;
    uint8_t state = bytes[best] * 10 >= len * 6 ? static_cast<uint8_t>(best) : ss.count;
    push_span(out, cb, len, state, starts);
  }
  return out;
}

uint64_t pow2_at_least(uint64_t v) { return v <= 1 ? 1 : std::bit_ceil(v); }

// Spans of every row (exact runs when they fit, else the finest
// power-of-two cell that does) and its text strip.
void draw_rows(HeapMap& m, const std::vector<HeapChunks>& chunks, uint64_t total_bytes, size_t strip_width,
               size_t max_spans, const SpanStates& ss, const CancelToken& cancel) {
  m.strip_width = strip_width;
  size_t runs = 0;
  for (size_t i = 0; i < m.heaps.size(); ++i) {
    check_cancel(cancel);
    m.heaps[i].spans = exact_spans(chunks[i], m.heaps[i].range, ss);
    runs += m.heaps[i].spans.size();
  }
  if (max_spans && runs > max_spans) {
    uint64_t cell = std::max<uint64_t>(16, pow2_at_least(total_bytes / max_spans + 1));
    for (;;) {
      size_t n = 0;
      for (size_t i = 0; i < m.heaps.size(); ++i) {
        m.heaps[i].spans = cell_spans(chunks[i], m.heaps[i].range, cell, ss, cancel);
        n += m.heaps[i].spans.size();
      }
      if (n <= max_spans || cell >= (1ull << 40)) break;
      cell *= 2;
    }
    m.granularity = cell;
  }

  // Text strips: strip_width cells per heap.
  if (strip_width)
    for (size_t i = 0; i < m.heaps.size(); ++i) {
      uint64_t size = m.heaps[i].range.size();
      uint64_t cell = std::max<uint64_t>(1, (size + strip_width - 1) / strip_width);
      std::string s;
      for (const MapSpan& sp : cell_spans(chunks[i], m.heaps[i].range, cell, ss, cancel))
        s.append(static_cast<size_t>((sp.size + cell - 1) / cell), ss.to_char(sp.state));
      m.heaps[i].strip = std::move(s);
    }
}

}  // namespace

HeapMap build_heap_map(const glibc::Heap& heap, std::optional<int> arena, size_t strip_width,
                       size_t max_spans, const CancelToken& cancel) {
  HeapMap m;
  std::vector<HeapChunks> chunks;
  uint64_t total_bytes = 0;
  for (const auto& a : heap.arenas) {
    if (arena && a.index != *arena) continue;
    ++m.arenas;
    int n = 0;
    for (const auto& h : a.heaps) {
      MapHeap mh;
      mh.arena = a.index;
      mh.index = n++;
      mh.range = h.range;
      mh.sbrk = a.main;
      HeapChunks hc = chunks_in(heap, h.range);
      mh.chunks = static_cast<uint64_t>(hc.end - hc.begin);
      total_bytes += h.range.size();
      chunks.push_back(hc);
      m.heaps.push_back(std::move(mh));
    }
  }
  if (!arena)
    for (const auto& c : heap.blocks)
      if (c.kind == ChunkState::kMmapped) m.mmapped.push_back(&c);
  draw_rows(m, chunks, total_bytes, strip_width, max_spans, glibc_span_states(), cancel);
  return m;
}

HeapMap build_model_map(const HeapModel& heap, size_t strip_width, size_t max_spans, const CancelToken& cancel) {
  // One row per system range, grouped by the owner of its first block
  // (owners in their order, the unowned last), address order within.
  std::vector<MapHeap> rows;
  std::vector<HeapChunks> row_chunks;
  for (const AddressRange& r : heap.system) {
    MapHeap mh;
    mh.range = r;
    HeapChunks hc = chunks_in(heap, r);
    mh.arena = hc.begin != hc.end ? int{hc.begin->owner} : kNoOwner;
    mh.chunks = static_cast<uint64_t>(hc.end - hc.begin);
    rows.push_back(std::move(mh));
    row_chunks.push_back(hc);
  }
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [](int owner) { return owner == kNoOwner ? kMaxOwners : owner; };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank(rows[a].arena) < rank(rows[b].arena); });
  HeapMap m;
  std::vector<HeapChunks> chunks;
  uint64_t total_bytes = 0;
  for (size_t i : order) {
    MapHeap& mh = rows[i];
    if (m.heaps.empty() || m.heaps.back().arena != mh.arena) ++m.arenas;
    mh.index = !m.heaps.empty() && m.heaps.back().arena == mh.arena ? m.heaps.back().index + 1 : 0;
    total_bytes += mh.range.size();
    chunks.push_back(row_chunks[i]);
    m.heaps.push_back(std::move(mh));
  }
  draw_rows(m, chunks, total_bytes, strip_width, max_spans, model_span_states(heap), cancel);
  return m;
}

}  // namespace heapscope
