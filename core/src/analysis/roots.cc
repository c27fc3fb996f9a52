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

// A module's RELRO: data the dynamic linker (or a static program's startup)
// wrote, then made read-only; glibc keeps heap pointers there (a static
// program's __rtld_search_dirs and _dlfo_nodelete_mappings). It is the
// read-only mapping just before the module's writable one.
bool is_relro(const Region& r, const Region& next) {
  return !r.writable() && !r.executable() && !r.path.empty() && r.path[0] == '/' && next.path == r.path &&
         next.writable() && next.range.begin == r.range.end;
}

// dtv_t is a union of a counter and a {val, to_free} pair of pointers.
constexpr uint64_t kDtvEntry = 16;

// Every live thread's DTV, when malloc'ed (a non-main thread's always is;
// the main thread's once dlopen has grown it). tcbhead_t.dtv is the TCB's
// second word on x86-64 (tcb, dtv, self, ...), its first on aarch64
// (TLS variant I: the thread pointer points at {dtv, private}).
// The DTV is malloc'ed with whatever malloc the process uses (ld.so calls
// the interposed one), so this holds for every allocator's model.
void add_thread_dtvs(const Target& target, const HeapModel& heap, Roots& roots) {
  const uint64_t dtv_slot = target.arch() == Arch::kAArch64 ? 0 : 8;
  for (const auto& t : target.threads()) {
    roots.thread_pointers_known = roots.thread_pointers_known && !t.thread_pointer.is_null();
    if (t.thread_pointer.is_null()) continue;
    auto dtv = target.read_u64(t.thread_pointer + dtv_slot);
    if (!dtv || *dtv < kDtvEntry + 16) continue;
    Address data(*dtv - kDtvEntry);
    const Block* c = heap.block_with_user_begin(data);
    if (!c || !heap.is_live(*c)) continue;
    roots.internal.push_back({t.tid, t.thread_pointer + dtv_slot, data});
  }
}

}  // namespace

bool dtv_shaped(const Target& target, const glibc::Chunk& chunk, uint64_t where) {
  if (where != glibc::chunk_data(chunk).value + kDtvEntry) return false;
  auto n = target.read_u64(glibc::chunk_data(chunk));
  if (!n || *n == 0 || *n > (1u << 20)) return false;
  // calloc(n + 2, 16): the chunk holds that plus its size field, rounded up.
  const uint64_t want = ((*n + 2) * kDtvEntry + 8 + 15) & ~uint64_t{15};
  return chunk.size == want;
}

Roots find_roots(const Target& target, const HeapModel& heap) { return find_roots(target, heap, heap.system); }

Roots find_roots(const Target& target, const HeapModel& heap, const std::vector<AddressRange>& owned) {
  Roots roots;

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

  const auto& regions = target.regions();
  for (size_t i = 0; i < regions.size(); ++i) {
    const Region& r = regions[i];
    bool relro = i + 1 < regions.size() && is_relro(r, regions[i + 1]);
    if ((!r.writable() && !relro) || !(r.perms & kPermRead) || !r.readable) continue;
    if (std::find(stack_regions.begin(), stack_regions.end(), &r) != stack_regions.end()) continue;
    bool file = !r.path.empty() && r.path[0] == '/';
    std::vector<AddressRange> pieces;
    subtract(r.range, owned, pieces);
    for (auto p : pieces)
      roots.ranges.push_back({file ? RootKind::kModule : RootKind::kAnonymous, p, 0,
                              file ? r.path : std::string()});
  }
  add_thread_dtvs(target, heap, roots);
  std::sort(roots.ranges.begin(), roots.ranges.end(),
            [](const RootRange& a, const RootRange& b) { return a.range.begin < b.range.begin; });
  return roots;
}

}  // namespace heapscope
