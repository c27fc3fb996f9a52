// Internal: the free lists' node addresses, read ahead of the walks that
// check them, many lists at once. A list is a chain of dependent loads:
// each node's address is in the node before it, so one walk down 200k
// nodes scattered over a heap waits for memory 200k times in a row.
// Following every list one step in turn keeps a load of each in flight;
// walk_lists then knows its next nodes early and loads them ahead. A chase
// decides nothing: the walk compares each node it meets with the chase's
// and stops using the chase where they part (a corrupt list).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "glibc/heap_words.h"
#include "heapscope/cancel.h"
#include "heapscope/target.h"
#include "util/work_ahead.h"

namespace heapscope::glibc {

struct ChainStart {
  uint64_t first = 0;  // the first node
  uint64_t link = 0;   // the offset in a node of the word that leads to the next
  uint64_t end = 0;    // the value that ends the list: 0, or the bin's own address
  bool mangled = false;  // links are mangled with their own address (safe-linking)
};

// Appends a list's node. A list that reaches 4096 nodes reserves room for
// its longest possible length (`bound`) once: pages never written cost no
// memory, while doubling would copy the list and hold both copies at the
// peak (an unsorted bin of 200k chunks).
inline void push_node(std::vector<Address>& nodes, Address a, size_t bound) {
  constexpr size_t kReserveAt = 4096;
  if (nodes.size() == kReserveAt && bound > kReserveAt) nodes.reserve(bound);
  nodes.push_back(a);
}

// The nodes of each chain in order, up to its end, a node off the `align`
// grid, an unreadable link, a node met again (Brent's cycle test) or
// `bound` nodes, whichever comes first. Reads through `words` when given
// (and loads each next link early), else through the target.
std::vector<std::vector<Address>> chase_chains(std::span<const ChainStart> chains, uint64_t align, size_t bound,
                                               const Target& target, const HeapWords* words,
                                               const CancelToken& cancel);

// A list's nodes as its walk meets them, written over the chase's: chased
// nodes stay while each agrees with the node met, and from the first that
// does not, the walk's own take their place.
class ListNodes {
 public:
  // `nodes` holds the chase's nodes (or none); `bound`: the most the list
  // can hold, reserved once the list is long.
  ListNodes(std::vector<Address>& nodes, size_t bound) : nodes_(nodes), bound_(bound) {}

  // The chase's node `d` after the next to be met (0: the next), or null.
  Address ahead(size_t d) const { return met_ + d < nodes_.size() ? nodes_[met_ + d] : Address(); }
  std::span<const Address> met() const { return {nodes_.data(), met_}; }
  void meet(Address a) {
    if (met_ < nodes_.size() && nodes_[met_] != a) nodes_.resize(met_);
    if (met_ == nodes_.size()) push_node(nodes_, a, bound_);
    ++met_;
  }
  // The walk has ended: chased nodes past the last one met are not the list's.
  void finish() { nodes_.resize(met_); }

 private:
  std::vector<Address>& nodes_;
  size_t bound_;
  size_t met_ = 0;
};

// chase_chains on a second thread, while the calling one walks the heaps.
// The target must allow concurrent reads. Destroying it unclaimed stops the
// chase and waits for the thread.
class ChaseAhead {
 public:
  ChaseAhead(std::vector<ChainStart> chains, uint64_t align, size_t bound, const Target& target)
      : work_([chains = std::move(chains), align, bound, &target](const CancelToken& stop) {
          return chase_chains(chains, align, bound, target, nullptr, stop);
        }) {}

  // Waits for the chase: its nodes, or nothing when it could not run or
  // failed (the walk then chases on its own).
  std::vector<std::vector<Address>> take() {
    auto nodes = work_.take();
    return nodes ? std::move(*nodes) : std::vector<std::vector<Address>>{};
  }

 private:
  util::WorkAhead<std::vector<std::vector<Address>>> work_;
};

}  // namespace heapscope::glibc
