// find_refs: who points into one chunk, and the shortest chain from a root.
#include <fmt/format.h>

#include "analysis/pointer_scan.h"
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

std::vector<PathStep> shortest_path(const Target& target, const HeapModel& heap,
                                    const SymbolResolver& symbols, const Roots& roots, uint32_t goal,
                                    const CancelToken& cancel) {
  const auto& cs = heap.blocks;
  analysis::NodeIndex index(heap);
  constexpr uint32_t kUnseen = UINT32_MAX, kFromRoot = UINT32_MAX - 1;
  std::vector<uint32_t> parent(cs.size(), kUnseen);
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
    analysis::for_each_chunk_word(target, heap, cs[p], cancel, [&](uint64_t, uint64_t v) {
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
  path.push_back({goal_root, static_cast<int64_t>(first)});
  for (size_t k = chain.size() - 1; k > 0; --k) {
    uint32_t from = chain[k], to = chain[k - 1];
    Reference ref;
    ref.from = Reference::From::kChunk;
    ref.chunk = from;
    bool found = false;
    analysis::for_each_chunk_word(target, heap, cs[from], cancel, [&](uint64_t where, uint64_t v) {
      bool start = false;
      if (found || index.find(v, &start) != to) return;
      found = true;
      ref.where = Address(where);
      ref.value = v;
      ref.start = start;
    });
    path.push_back({ref, static_cast<int64_t>(to)});
  }
  return path;
}

}  // namespace

RefsReport find_refs(const Target& target, const HeapModel& heap, const SymbolResolver& symbols,
                     Address asked, bool with_path, const CancelToken& cancel) {
  const Block* c = heap.block_containing(asked);
  if (!c) throw UserError{fmt::format("{} is not inside any heap chunk", to_hex(asked))};
  RefsReport rep;
  rep.asked = asked;
  rep.chunk = c - heap.blocks.data();
  const uint64_t lo = heap.user_begin(*c).value, hi = c->end().value;
  Roots roots = find_roots(target, heap);
  for_each_root_word(target, roots, cancel,
                     [&](const RootRange* r, const RegisterRoot* reg, uint64_t where, uint64_t v) {
                       if (v < lo || v >= hi) return;
                       Reference ref = reg ? register_reference(*reg)
                                           : root_reference(target, symbols, *r, where, v);
                       ref.start = v == lo;
                       rep.refs.push_back(std::move(ref));
                     });
  for (size_t i = 0; i < heap.blocks.size(); ++i) {
    const auto& h = heap.blocks[i];
    if (!heap.is_live(h) || static_cast<int64_t>(i) == rep.chunk) continue;
    analysis::for_each_chunk_word(target, heap, h, cancel, [&](uint64_t where, uint64_t v) {
      if (v < lo || v >= hi) return;
      Reference ref;
      ref.from = Reference::From::kChunk;
      ref.chunk = static_cast<int64_t>(i);
      ref.where = Address(where);
      ref.value = v;
      ref.start = v == lo;
      rep.refs.push_back(std::move(ref));
    });
  }
  rep.path_asked = with_path;
  if (with_path && heap.is_live(*c))
    rep.path = shortest_path(target, heap, symbols, roots, static_cast<uint32_t>(rep.chunk), cancel);
  return rep;
}

}  // namespace heapscope
