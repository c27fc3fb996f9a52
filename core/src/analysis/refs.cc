// find_refs: who points into one chunk, and the shortest chain from a root;
// find_union_refs: the same over every heap of the target (as heap leaks).
#include <fmt/format.h>

#include "analysis/pointer_scan.h"
#include "analysis/union_index.h"
#include "heapscope/analysis/refs.h"
#include "heapscope/error.h"

namespace heapscope {

std::string_view reference_from_name(Reference::From f) {
  switch (f) {
    case Reference::From::kRegister: return "register";
    case Reference::From::kStack: return "stack";
    case Reference::From::kModule: return "global";
    case Reference::From::kAnonymous: return "anonymous";
    case Reference::From::kChunk: return "chunk";
  }
  return "?";
}

namespace {

using analysis::kNoNode;

// Root kinds in the order they are searched: a chain prefers a register or
// a stack slot, then a global, then other anonymous memory.
constexpr RootKind kRootOrder[] = {RootKind::kStack, RootKind::kModule, RootKind::kAnonymous};

Address thread_sp(const Target& t, int tid) {
  for (const auto& th : t.threads())
    if (th.tid == tid) return th.sp;
  return Address();
}

// A root word as a Reference: module memory (bss included, which is often an
// anonymous mapping) is named by the symbol covering it.
Reference root_reference(const Target& target, const SymbolResolver& symbols, const RootRange& r,
                         uint64_t where, uint64_t value) {
  Reference ref;
  ref.where = Address(where);
  ref.value = value;
  switch (r.kind) {
    case RootKind::kStack:
      ref.from = Reference::From::kStack;
      ref.tid = r.tid;
      ref.thread_sp = thread_sp(target, r.tid);
      break;
    default: {
      ref.from = r.kind == RootKind::kModule ? Reference::From::kModule : Reference::From::kAnonymous;
      auto sym = symbols.at(Address(where));
      if (sym && (!sym->name.empty() || r.kind == RootKind::kModule)) {
        ref.from = Reference::From::kModule;
        ref.name = format_symbol(*sym);
        if (!sym->name.empty() && !sym->module.empty()) ref.name += " in " + sym->module;
      }
      break;
    }
  }
  return ref;
}

// Scans root memory in kRootOrder, then registers; f(range, where, value).
template <typename F>
void for_each_root_word(const Target& target, const Roots& roots, const CancelToken& cancel, F&& f) {
  for (const auto& reg : roots.registers) f(nullptr, &reg, 0, reg.value);
  for (RootKind k : kRootOrder)
    for (const auto& r : roots.ranges)
      if (r.kind == k)
        for_each_word(target, r.range, cancel,
                                [&](uint64_t where, uint64_t v) { f(&r, nullptr, where, v); });
}

Reference register_reference(const RegisterRoot& reg) {
  Reference ref;
  ref.from = Reference::From::kRegister;
  ref.tid = reg.tid;
  ref.name = reg.name;
  ref.value = reg.value;
  return ref;
}

// The blocks find_refs searches, numbered 0..size(): one heap's (OneHeap),
// or every heap's (AllHeaps). Each says where node g is (heap, block), scans
// its words, and names the target address a word stands for.
class OneHeap {
 public:
  OneHeap(const Target& t, const HeapModel& h) : t_(t), h_(h) {}
  using Index = analysis::NodeIndex;
  Index index() const { return Index(h_); }
  size_t size() const { return h_.blocks.size(); }
  bool is_live(uint32_t g) const { return h_.is_live(h_.blocks[g]); }
  std::pair<uint32_t, uint32_t> locate(uint32_t g) const { return {0, g}; }
  template <typename F>
  void scan(uint32_t g, const CancelToken& cancel, F&& f) const {
    analysis::for_each_chunk_word(t_, h_, h_.blocks[g], cancel, f);
  }
  // A word into node g stands for itself: one heap has no other addresses.
  static void resolve(Reference&, uint32_t) {}

 private:
  const Target& t_;
  const HeapModel& h_;
};

class AllHeaps {
 public:
  AllHeaps(const Target& t, const std::vector<const HeapModel*>& hs) : t_(t), hs_(hs), index_(hs) {}
  using Index = const analysis::UnionIndex&;
  Index index() const { return index_; }
  size_t size() const { return index_.size(); }
  bool is_live(uint32_t g) const { return hs_[index_.model_of(g)]->is_live(index_.block(g)); }
  std::pair<uint32_t, uint32_t> locate(uint32_t g) const {
    const size_t m = index_.model_of(g);
    return {static_cast<uint32_t>(m), g - index_.first(m)};
  }
  uint32_t node(size_t heap, const Block* b) const {
    return index_.first(heap) + static_cast<uint32_t>(b - hs_[heap]->blocks.data());
  }
  template <typename F>
  void scan(uint32_t g, const CancelToken& cancel, F&& f) const {
    analysis::for_each_chunk_word(t_, *hs_[index_.model_of(g)], index_.block(g), cancel, f);
  }
  // A value outside node g's bytes reached it as a MeMS virtual address.
  void resolve(Reference& ref, uint32_t g) const {
    const Block& b = index_.block(g);
    if (!index_.mems() || (ref.value >= b.address.value && ref.value < b.end().value)) return;
    if (auto tr = mems::try_translate(index_.mems()->walk, ref.value)) {
      ref.mems_virtual = true;
      ref.resolved = tr->physical.value;
    }
  }

 private:
  const Target& t_;
  const std::vector<const HeapModel*>& hs_;
  analysis::UnionIndex index_;
};

template <typename Heaps>
std::vector<PathStep> shortest_path(const Target& target, const Heaps& heaps, const SymbolResolver& symbols,
                                    const Roots& roots, uint32_t goal, const CancelToken& cancel) {
  typename Heaps::Index index = heaps.index();
  constexpr uint32_t kUnseen = UINT32_MAX, kFromRoot = UINT32_MAX - 1;
  std::vector<uint32_t> parent(heaps.size(), kUnseen);
  std::vector<uint32_t> queue;
  Reference goal_root;
  // Level 0: every node a root points into; the first root found wins.
  for_each_root_word(target, roots, cancel,
                     [&](const RootRange* r, const RegisterRoot* reg, uint64_t where, uint64_t v) {
                       bool start;
                       uint32_t n = index.find(v, &start);
                       if (n == kNoNode || parent[n] != kUnseen) return;
                       parent[n] = kFromRoot;
                       queue.push_back(n);
                       if (n == goal) {
                         goal_root = reg ? register_reference(*reg)
                                         : root_reference(target, symbols, *r, where, v);
                         goal_root.start = start;
                       }
                     });
  for (size_t head = 0; head < queue.size() && parent[goal] == kUnseen; ++head) {
    uint32_t p = queue[head];
    heaps.scan(p, cancel, [&](uint64_t, uint64_t v) {
      bool start;
      uint32_t n = index.find(v, &start);
      if (n == kNoNode || parent[n] != kUnseen) return;
      parent[n] = p;
      queue.push_back(n);
    });
  }
  if (parent[goal] == kUnseen) return {};
  // Walk back to the root, then describe each hop (finding the pointer again).
  std::vector<uint32_t> chain{goal};
  while (parent[chain.back()] != kFromRoot) chain.push_back(parent[chain.back()]);
  std::vector<PathStep> path;
  uint32_t first = chain.back();
  if (first != goal) {
    // The root that reached the chain's first chunk: search again for it.
    bool found = false;
    for_each_root_word(target, roots, cancel,
                       [&](const RootRange* r, const RegisterRoot* reg, uint64_t where, uint64_t v) {
                         if (found) return;
                         bool start = false;
                         if (index.find(v, &start) != first) return;
                         found = true;
                         goal_root = reg ? register_reference(*reg)
                                         : root_reference(target, symbols, *r, where, v);
                         goal_root.start = start;
                       });
  }
  heaps.resolve(goal_root, first);
  auto [first_heap, first_block] = heaps.locate(first);
  path.push_back({goal_root, static_cast<int64_t>(first_block), first_heap});
  for (size_t k = chain.size() - 1; k > 0; --k) {
    uint32_t from = chain[k], to = chain[k - 1];
    Reference ref;
    ref.from = Reference::From::kChunk;
    auto [from_heap, from_block] = heaps.locate(from);
    ref.chunk = from_block;
    ref.heap = from_heap;
    bool found = false;
    heaps.scan(from, cancel, [&](uint64_t where, uint64_t v) {
      bool start = false;
      if (found || index.find(v, &start) != to) return;
      found = true;
      ref.where = Address(where);
      ref.value = v;
      ref.start = start;
    });
    heaps.resolve(ref, to);
    auto [to_heap, to_block] = heaps.locate(to);
    path.push_back({ref, static_cast<int64_t>(to_block), to_heap});
  }
  return path;
}

// Every holder of node `asked` (whose bytes are [lo, hi), or, a MeMS
// segment, [vlo, vlo + vsize) by virtual address): roots first, then the
// live blocks of every heap searched.
template <typename Heaps>
void find_holders(const Target& target, const Heaps& heaps, const SymbolResolver& symbols, const Roots& roots,
                  uint32_t asked, uint64_t lo, uint64_t hi, uint64_t vlo, uint64_t vsize, RefsReport& rep,
                  const CancelToken& cancel) {
  // The word's meaning, or false when it does not point into the block.
  auto holds = [&](uint64_t v, Reference& ref) {
    if (v >= lo && v < hi) {
      ref.start = v == lo;
      return true;
    }
    if (v - vlo >= vsize) return false;  // never, but for a segment
    ref.mems_virtual = true;
    ref.resolved = lo + (v - vlo);
    ref.start = v == vlo;
    return true;
  };
  for_each_root_word(target, roots, cancel,
                     [&](const RootRange* r, const RegisterRoot* reg, uint64_t where, uint64_t v) {
                       if ((v < lo || v >= hi) && v - vlo >= vsize) return;
                       Reference ref = reg ? register_reference(*reg)
                                           : root_reference(target, symbols, *r, where, v);
                       holds(v, ref);
                       rep.refs.push_back(std::move(ref));
                     });
  for (uint32_t g = 0; g < heaps.size(); ++g) {
    if (!heaps.is_live(g) || g == asked) continue;
    // Named copies: clang 14 does not let a lambda capture structured bindings.
    const auto located = heaps.locate(g);
    const uint32_t heap = located.first, block = located.second;
    heaps.scan(g, cancel, [&](uint64_t where, uint64_t v) {
      if ((v < lo || v >= hi) && v - vlo >= vsize) return;
      Reference ref;
      ref.from = Reference::From::kChunk;
      ref.chunk = static_cast<int64_t>(block);
      ref.heap = heap;
      ref.where = Address(where);
      ref.value = v;
      holds(v, ref);
      rep.refs.push_back(std::move(ref));
    });
  }
}

// The MeMS PROCESS segment whose bytes start at `address`, if any.
const mems::Segment* segment_at(const mems::SegmentHeap& walk, Address address) {
  for (const auto& node : walk.nodes)
    for (const auto& seg : node.segments)
      if (seg.type == mems::SegmentType::kProcess && !seg.is_arena() && seg.pstart == address) return &seg;
  return nullptr;
}

}  // namespace

RefsReport find_refs(const Target& target, const HeapModel& heap, const SymbolResolver& symbols,
                     Address asked, bool with_path, const CancelToken& cancel) {
  const Block* c = heap.block_containing(asked);
  if (!c) throw UserError{fmt::format("{} is not inside any heap chunk", to_hex(asked))};
  RefsReport rep;
  rep.asked = asked;
  rep.chunk = c - heap.blocks.data();
  OneHeap heaps(target, heap);
  Roots roots = find_roots(target, heap);
  find_holders(target, heaps, symbols, roots, static_cast<uint32_t>(rep.chunk), heap.user_begin(*c).value,
               c->end().value, 0, 0, rep, cancel);
  rep.path_asked = with_path;
  if (with_path && heap.is_live(*c))
    rep.path = shortest_path(target, heaps, symbols, roots, static_cast<uint32_t>(rep.chunk), cancel);
  return rep;
}

RefsReport find_union_refs(const Target& target, const std::vector<const HeapModel*>& heaps,
                           const HeapModel* lookup, const SymbolResolver& symbols, Address asked, bool with_path,
                           const CancelToken& cancel) {
  RefsReport rep;
  rep.asked = asked;
  rep.heaps = heaps;
  AllHeaps all(target, rep.heaps);
  const mems::Model* mems = all.index().mems();
  // By target address in the heaps asked about, then as a MeMS virtual address.
  const Block* c = nullptr;
  for (size_t m = 0; m < heaps.size() && !c; ++m)
    if (!lookup || heaps[m] == lookup) c = heaps[m]->block_containing(asked), rep.heap = static_cast<uint32_t>(m);
  if (!c && mems && (!lookup || lookup == mems)) {
    auto t = mems::try_translate(mems->walk, asked.value);
    if (t && !t->seg->is_arena()) {
      rep.heap = static_cast<uint32_t>(all.index().mems_at());
      c = mems->block_containing(t->physical);
      rep.asked_virtual = c != nullptr;
    }
  }
  if (!c) throw UserError{fmt::format("{} is not inside any heap chunk", to_hex(asked))};
  const HeapModel& h = *heaps[rep.heap];
  rep.chunk = c - h.blocks.data();
  const uint32_t node = all.node(rep.heap, c);
  uint64_t vlo = 0, vsize = 0;  // a segment is also held by its MeMS virtual addresses
  if (const mems::Segment* seg = mems && &h == mems ? segment_at(mems->walk, h.user_begin(*c)) : nullptr)
    vlo = seg->vstart, vsize = std::min<uint64_t>(seg->size, c->end() - h.user_begin(*c));
  Roots roots = find_roots(target, *heaps[0], analysis::allocators_memory(heaps));
  find_holders(target, all, symbols, roots, node, h.user_begin(*c).value, c->end().value, vlo, vsize, rep, cancel);
  rep.path_asked = with_path;
  if (with_path && h.is_live(*c)) rep.path = shortest_path(target, all, symbols, roots, node, cancel);
  return rep;
}

}  // namespace heapscope
