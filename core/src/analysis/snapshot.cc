#include "heapscope/analysis/snapshot.h"

#include <bit>

#include "heapscope/analysis/leaks.h"
#include "heapscope/analysis/types.h"

namespace heapscope {

uint64_t size_class(uint64_t size) {
  constexpr uint64_t kExactUpTo = 1024;
  if (size <= kExactUpTo) return size;
  return size > (uint64_t{1} << 63) ? UINT64_MAX : std::bit_ceil(size);
}

HeapSnapshot take_snapshot(const Target& target, const SymbolResolver& symbols, const HeapModel& heap,
                           const sites::RecordTables* tables,
                           const std::function<std::string(uint32_t stack)>& site_name, const CancelToken& cancel) {
  HeapSnapshot s;
  s.allocator = heap.allocator;
  for (const AddressRange& r : heap.system) s.system_bytes += r.size();
  s.has_sites = tables != nullptr;
  if (tables) s.pid = tables->pid;
  TypeNamer namer(target, symbols, heap);
  std::vector<std::string> stack_names;  // per stack, named on first use
  std::vector<bool> named;
  if (tables) {
    stack_names.resize(tables->stacks.size());
    named.resize(tables->stacks.size());
  }
  auto site_of = [&](const Block& b) -> std::string {
    if (!tables) return {};
    const sites::SiteRecord* r = sites::record_at(*tables, heap.user_begin(b));
    if (!r || r->stack == sites::kNoStack || r->stack >= stack_names.size()) return {};
    if (!named[r->stack]) {
      stack_names[r->stack] = site_name(r->stack);
      named[r->stack] = true;
    }
    return stack_names[r->stack];
  };
  std::vector<uint32_t> live;
  for (uint32_t i = 0; i < heap.blocks.size(); ++i) {
    if ((i & 0xffff) == 0) check_cancel(cancel);
    const Block& b = heap.blocks[i];
    BlockState st = heap.state(b);
    if (st == BlockState::kFree || st == BlockState::kCached || st == BlockState::kTop) {
      s.free.add(b.size);
      continue;
    }
    if (!heap.is_live(b)) continue;
    s.in_use.add(b.size);
    s.by_size_class[size_class(b.size)].add(b.size);
    live.push_back(i);
  }
  std::vector<uint32_t> types;
  namer.type_ids(heap.blocks, live, types);
  for (size_t k = 0; k < live.size(); ++k) {
    const Block& b = heap.blocks[live[k]];
    s.by_type[types[k] ? namer.names()[types[k] - 1] : std::string()].add(b.size);
    if (tables) s.by_site[site_of(b)].add(b.size);
  }
  LeakAnalysis leaks = analyze_leaks(target, heap, cancel);
  for (uint32_t i : leaks.listed) {
    if (leaks.classes[i] != LeakClass::kDirect && leaks.classes[i] != LeakClass::kIndirect) continue;
    const Block& b = heap.blocks[i];
    s.leaks.push_back({heap.user_begin(b).value, uint64_t{b.size}, namer.type_of(b).value_or(""), site_of(b)});
  }
  return s;
}

}  // namespace heapscope
