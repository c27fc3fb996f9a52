#include "glibc/list_chase.h"

#include "glibc/safe_linking.h"

namespace heapscope::glibc {

namespace {

struct Cursor {
  size_t chain;
  uint64_t at;        // the node to record next
  uint64_t tortoise;  // Brent: the node the chain must not come back to
  uint64_t power = 1, steps = 0;
};

}  // namespace

std::vector<std::vector<Address>> chase_chains(std::span<const ChainStart> chains, uint64_t align, size_t bound,
                                               const Target& target, const HeapWords* words,
                                               const CancelToken& cancel) {
  std::vector<std::vector<Address>> nodes(chains.size());
  std::vector<Cursor> live;
  for (size_t i = 0; i < chains.size(); ++i)
    if (chains[i].first != chains[i].end) live.push_back({i, chains[i].first, chains[i].first});
  const uint64_t misaligned = align - 1;
  // One step of a chain: false when it has ended.
  auto step = [&](Cursor& c) {
    const ChainStart& s = chains[c.chain];
    std::vector<Address>& out = nodes[c.chain];
    if (c.at & misaligned) return false;
    push_node(out, Address(c.at), bound);
    if (out.size() >= bound) return false;
    const Address field(c.at + s.link);
    const auto stored = words ? words->u64(field) : target.read_u64(field);
    if (!stored) return false;
    const uint64_t next = s.mangled ? reveal_link(field, *stored) : *stored;
    if (next == s.end) return false;
    if (c.steps == c.power) {
      c.tortoise = c.at;
      c.power *= 2;
      c.steps = 0;
    }
    ++c.steps;
    if (next == c.tortoise) return false;
    c.at = next;
    // Its link loads while the other chains take their steps.
    if (const std::byte* p = words ? words->bytes(Address(next + s.link), 8) : nullptr) __builtin_prefetch(p);
    return true;
  };
  for (size_t round = 1; !live.empty(); ++round) {
    if ((round & 0xffff) == 0) check_cancel(cancel);
    size_t kept = 0;
    for (Cursor& c : live)
      if (step(c)) live[kept++] = c;
    live.resize(kept);
  }
  return nodes;
}

}  // namespace heapscope::glibc
