// find_roots: the memory a program keeps its own pointers in.
#include <algorithm>

#include "heapscope/analysis/refs.h"

namespace heapscope {

std::string_view root_kind_name(RootKind k) {
  switch (k) {
    case RootKind::kRegister: return "register";
    case RootKind::kStack: return "stack";
    case RootKind::kModule: return "module";
    case RootKind::kAnonymous: return "anonymous";
  }
  return "?";
}

namespace {

// r minus every hole (sorted, disjoint), appended to out.
void subtract(AddressRange r, const std::vector<AddressRange>& holes, std::vector<AddressRange>& out) {
  Address cur = r.begin;
  auto it = std::lower_bound(holes.begin(), holes.end(), r.begin,
                             [](const AddressRange& h, Address a) { return h.end <= a; });
  for (; it != holes.end() && it->begin < r.end; ++it) {
    if (it->begin > cur) out.push_back({cur, it->begin});
    cur = std::max(cur, it->end);
  }
  if (cur < r.end) out.push_back({cur, r.end});
}

}  // namespace

Roots find_roots(const Target& target, const glibc::Heap& heap) {
  std::vector<AddressRange> mmapped;
  for (const auto& c : heap.chunks)
    if (c.arena == glibc::kMmappedArena) mmapped.push_back({c.address, c.end()});
  return find_roots(target, heap, mmapped);
}

Roots find_roots(const Target& target, const glibc::Heap& heap, const std::vector<AddressRange>& mmapped) {
  Roots roots;
  // Memory the allocator owns: heap segments and mmapped chunks.
  std::vector<AddressRange> owned = mmapped;
  for (const auto& a : heap.arenas)
    for (const auto& h : a.heaps) owned.push_back(h.range);
  std::sort(owned.begin(), owned.end());

  // Stacks: from sp minus the red zone to the end of sp's mapping. Static TLS
  // of a non-main thread sits at the top of its stack mapping, so it is in.
  std::vector<const Region*> stack_regions;
  for (const auto& t : target.threads()) {
    for (const auto& r : t.registers) roots.registers.push_back({t.tid, r.name, r.value});
    const Region* r = target.find_region(t.sp);
    if (!r) continue;
    stack_regions.push_back(r);
    Address from = t.sp.value - r->range.begin.value >= kRedZone ? t.sp - kRedZone : r->range.begin;
    std::vector<AddressRange> pieces;
    subtract({from, r->range.end}, owned, pieces);
    for (auto p : pieces) roots.ranges.push_back({RootKind::kStack, p, t.tid, {}});
  }

  for (const auto& r : target.regions()) {
    if (!r.writable() || !(r.perms & kPermRead) || !r.readable) continue;
    if (std::find(stack_regions.begin(), stack_regions.end(), &r) != stack_regions.end()) continue;
    bool file = !r.path.empty() && r.path[0] == '/';
    std::vector<AddressRange> pieces;
    subtract(r.range, owned, pieces);
    for (auto p : pieces)
      roots.ranges.push_back({file ? RootKind::kModule : RootKind::kAnonymous, p, 0,
                              file ? r.path : std::string()});
  }
  std::sort(roots.ranges.begin(), roots.ranges.end(),
            [](const RootRange& a, const RootRange& b) { return a.range.begin < b.range.begin; });
  return roots;
}

}  // namespace heapscope
