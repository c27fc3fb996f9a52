// The segment allocator: the main chain of nodes and each node's sub-chain of
// segments, checked as mems_check_invariants does (mems/src/check.c).
#include "mems/builder.h"

namespace heapscope::mems {
namespace {

uint64_t add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

// Reports a walk that must stop; true when the record may be read.
bool step_ok(Builder& b, Walk& w, Address at, const char* cycle_kind, const std::string& what) {
  switch (w.visit(at)) {
    case Walk::Step::kOk: return true;
    case Walk::Step::kCycle:
      b.finding(cycle_kind, at, fmt::format("{}: {} is reached a second time (cycle)", what, to_hex(at)));
      return false;
    case Walk::Step::kLimit:
      b.finding("walk-limit", at, fmt::format("{}: walk stopped after {} steps", what, w.steps() - 1));
      return false;
  }
  return false;
}

}  // namespace

void Builder::walk_chain() {
  Walk w(limit_for(raw.nodes));
  Address prev;
  uint64_t vnext = raw.virt_base;
  for (Address n = Address(raw.head); !n.is_null();) {
    check_cancel(cancel);
    if (!step_ok(*this, w, n, "chain-cycle", "main chain")) break;
    auto rn = read<mems_node>(n);
    if (!rn) {
      finding("unreadable", n, fmt::format("node {}: not in the target's memory", to_hex(n)));
      break;
    }
    if (rn->magic != MEMS_NODE_MAGIC) {
      finding("bad-magic", n, fmt::format("node {}: magic {:#x} is not NODE", to_hex(n), rn->magic));
      break;
    }
    if (rn->prev != prev.value)
      finding("broken-back-link", n + offsetof(mems_node, prev),
              fmt::format("node {}: prev is {}, expected {}", to_hex(n), to_hex(rn->prev), to_hex(prev)));
    if (rn->vstart != vnext)
      finding("virtual-gap", n + offsetof(mems_node, vstart),
              fmt::format("node {}: virtual start {}, expected {} (where the previous node ends)",
                          to_hex(n), to_hex(rn->vstart), to_hex(vnext)));
    if (rn->length == 0 || rn->length % raw.page_size != 0)
      finding("bad-node-length", n + offsetof(mems_node, length),
              fmt::format("node {}: length {} is not a whole number of {}-byte pages", to_hex(n),
                          rn->length, raw.page_size));
    if (rn->pstart % raw.page_size != 0)
      finding("misaligned-node", n + offsetof(mems_node, pstart),
              fmt::format("node {}: mapping {} is not page aligned", to_hex(n), to_hex(rn->pstart)));
    if (rn->index != heap.nodes.size())
      finding("bad-node-index", n + offsetof(mems_node, index),
              fmt::format("node {}: index {}, expected {}", to_hex(n), rn->index, heap.nodes.size()));
    Node node;
    node.address = n;
    node.index = rn->index;
    node.vstart = rn->vstart;
    node.pstart = Address(rn->pstart);
    node.length = rn->length;
    node.pages = rn->length / raw.page_size;
    node.segment_count = rn->segment_count;
    walk_segments(node, *rn);
    heap.nodes.push_back(std::move(node));
    vnext = add_sat(rn->vstart, rn->length);
    prev = n;
    n = Address(rn->next);
  }
  if (raw.tail != prev.value)
    finding("bad-tail", root_field(offsetof(mems_root, tail)),
            fmt::format("root: tail is {}, the last node is {}", to_hex(raw.tail), to_hex(prev)));
  if (raw.virt_next != vnext)
    finding("counter-mismatch", root_field(offsetof(mems_root, virt_next)),
            fmt::format("root: virt_next is {}, the last node ends at {}", to_hex(raw.virt_next),
                        to_hex(vnext)));
}

void Builder::walk_segments(Node& node, const mems_node& rn) {
  const size_t node_index = heap.nodes.size();
  Walk w(limit_for(raw.segments));
  Address n = node.address, sprev;
  uint64_t off = 0, holes = 0, hole_bytes = 0;
  bool prev_hole = false;
  std::string what = fmt::format("sub-chain of node {}", to_hex(n));
  for (Address s = Address(rn.seg_head); !s.is_null();) {
    check_cancel(cancel);
    if (!step_ok(*this, w, s, "subchain-cycle", what)) break;
    auto rs = read<mems_segment>(s);
    if (!rs) {
      finding("unreadable", s, fmt::format("segment {}: not in the target's memory", to_hex(s)));
      break;
    }
    if (rs->magic != MEMS_SEGMENT_MAGIC) {
      finding("bad-magic", s, fmt::format("segment {}: magic {:#x} is not SEGM", to_hex(s), rs->magic));
      break;
    }
    if (rs->prev != sprev.value)
      finding("broken-back-link", s + offsetof(mems_segment, prev),
              fmt::format("segment {}: prev is {}, expected {}", to_hex(s), to_hex(rs->prev), to_hex(sprev)));
    if (rs->node != n.value)
      finding("wrong-node", s + offsetof(mems_segment, node),
              fmt::format("segment {}: node is {}, but it is on the sub-chain of node {}", to_hex(s),
                          to_hex(rs->node), to_hex(n)));
    if (rs->size == 0 || rs->size % MEMS_ALIGN != 0)
      finding("bad-segment-size", s + offsetof(mems_segment, size),
              fmt::format("segment {}: size {} is not a positive multiple of {}", to_hex(s), rs->size,
                          MEMS_ALIGN));
    if (rs->vstart != add_sat(node.vstart, off) || rs->pstart != add_sat(node.pstart.value, off))
      finding("segment-misplaced", s + offsetof(mems_segment, vstart),
              fmt::format("segment {}: starts at virtual {} physical {}, expected {} {} (where the "
                          "previous segment ends)",
                          to_hex(s), to_hex(rs->vstart), to_hex(rs->pstart), to_hex(add_sat(node.vstart, off)),
                          to_hex(add_sat(node.pstart.value, off))));
    if (off <= node.length && rs->size > node.length - off)
      finding("segment-overrun", s + offsetof(mems_segment, size),
              fmt::format("segment {}: size {} runs {} bytes past the end of node {}", to_hex(s), rs->size,
                          rs->size - (node.length - off), to_hex(n)));
    Segment seg;
    seg.address = s;
    seg.raw_type = rs->type;
    seg.vstart = rs->vstart;
    seg.pstart = Address(rs->pstart);
    seg.size = rs->size;
    seg.requested = rs->requested;
    seg.site = Address(rs->site);
    seg.seq = rs->seq;
    seg.flags = rs->flags;
    seg.arena = Address(rs->arena);
    if (rs->type == MEMS_SEGMENT_HOLE) {
      seg.type = SegmentType::kHole;
      if (prev_hole)
        finding("adjacent-holes", s,
                fmt::format("segment {}: a HOLE right after another HOLE (they should have merged)", to_hex(s)));
      if (rs->seq != 0 || rs->flags != 0 || rs->arena != 0)
        finding("bad-hole", s, fmt::format("HOLE {}: has PROCESS fields set (seq, flags or arena)", to_hex(s)));
      ++holes;
      hole_bytes += rs->size;
      prev_hole = true;
    } else if (rs->type == MEMS_SEGMENT_PROCESS) {
      seg.type = SegmentType::kProcess;
      if (rs->seq == 0 || rs->seq >= raw.next_seq)
        finding("bad-sequence", s + offsetof(mems_segment, seq),
                fmt::format("PROCESS {}: sequence {} outside 1..{}", to_hex(s), rs->seq,
                            raw.next_seq ? raw.next_seq - 1 : 0));
      if (rs->requested == 0 || rs->requested > rs->size || rs->size - rs->requested >= MEMS_ALIGN)
        finding("bad-requested", s + offsetof(mems_segment, requested),
                fmt::format("PROCESS {}: requested {} does not round up to size {}", to_hex(s),
                            rs->requested, rs->size));
      if (rs->flags & MEMS_SEGMENT_FLAG_ARENA) {
        ++arena_segments;
        auto ra = read<mems_arena>(Address(rs->arena));
        if (!ra || ra->magic != MEMS_ARENA_MAGIC || ra->segment != s.value)
          finding("arena-link", s + offsetof(mems_segment, arena),
                  fmt::format("arena segment {}: arena descriptor {} does not point back", to_hex(s),
                              to_hex(rs->arena)));
      } else if (rs->arena != 0) {
        finding("arena-link", s + offsetof(mems_segment, arena),
                fmt::format("PROCESS {}: arena {} set without the arena flag", to_hex(s), to_hex(rs->arena)));
      }
      prev_hole = false;
    } else {
      finding("bad-segment-type", s + offsetof(mems_segment, type),
              fmt::format("segment {}: type {} is neither HOLE nor PROCESS", to_hex(s), rs->type));
      prev_hole = false;
    }
    segment_index[s.value] = {node_index, node.segments.size()};
    node.segments.push_back(seg);
    off = add_sat(off, rs->size);
    sprev = s;
    s = Address(rs->next);
  }
  if (off != node.length)
    finding("segments-do-not-fill", n,
            fmt::format("node {}: segments cover {} of its {} bytes", to_hex(n), off, node.length));
  if (rn.seg_tail != sprev.value)
    finding("bad-seg-tail", n + offsetof(mems_node, seg_tail),
            fmt::format("node {}: seg_tail is {}, the last segment is {}", to_hex(n), to_hex(rn.seg_tail),
                        to_hex(sprev)));
  if (rn.segment_count != node.segments.size())
    finding("counter-mismatch", n + offsetof(mems_node, segment_count),
            fmt::format("node {}: segment_count is {}, the sub-chain holds {}", to_hex(n), rn.segment_count,
                        node.segments.size()));
  if (rn.hole_count != holes || rn.hole_bytes != hole_bytes)
    finding("counter-mismatch", n + offsetof(mems_node, hole_bytes),
            fmt::format("node {}: hole counters {} HOLEs / {} bytes, the sub-chain holds {} / {}", to_hex(n),
                        rn.hole_count, rn.hole_bytes, holes, hole_bytes));
}

}  // namespace heapscope::mems
