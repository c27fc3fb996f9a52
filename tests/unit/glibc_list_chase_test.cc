// chase_chains follows each list to where a walk would stop following it,
// whatever else it chases beside it; ListNodes keeps chased nodes only
// while they agree with the walk's; ChaseAhead gives what chase_chains does.
#include "glibc/list_chase.h"

#include <gtest/gtest.h>

#include "glibc/safe_linking.h"
#include "heapscope/buffer_target.h"

namespace heapscope::glibc {
namespace {

constexpr uint64_t kBase = 0x555555560000;
constexpr uint64_t kLink = 16;  // fd's offset in a chunk
constexpr uint64_t kBin = 0x7f0000000100;  // a bin's own address: ends its list

class Chains : public ::testing::Test {
 protected:
  Chains() { target.add_region(Address(kBase), std::vector<std::byte>(0x10000)); }

  // node -> next, as a list link of this kind.
  void link(uint64_t node, uint64_t next, bool mangled) {
    const uint64_t stored = mangled ? next ^ ((node + kLink) >> 12) : next;
    target.write_value(Address(node + kLink), stored);
  }
  // A list through `nodes` in order, its last node linked to `end`.
  ChainStart list(const std::vector<uint64_t>& nodes, uint64_t end, bool mangled) {
    for (size_t i = 0; i < nodes.size(); ++i) link(nodes[i], i + 1 < nodes.size() ? nodes[i + 1] : end, mangled);
    return {nodes.empty() ? end : nodes.front(), kLink, end, mangled};
  }
  static std::vector<uint64_t> values(const std::vector<Address>& v) {
    std::vector<uint64_t> out;
    for (Address a : v) out.push_back(a.value);
    return out;
  }
  std::vector<std::vector<uint64_t>> chase(const std::vector<ChainStart>& chains, size_t bound = 1000) {
    std::vector<std::vector<uint64_t>> out;
    for (const auto& nodes : chase_chains(chains, 16, bound, target, nullptr, cancel)) out.push_back(values(nodes));
    return out;
  }

  BufferTarget target;
  CancelToken cancel;
};

TEST_F(Chains, EachListToItsEndAndEachAsIfAlone) {
  // Addresses down and up the region, mangled and not, ending at 0 or at the bin.
  const std::vector<uint64_t> fast{kBase + 0x9000, kBase + 0x100, kBase + 0x4000, kBase + 0x20};
  const std::vector<uint64_t> bin{kBase + 0x200, kBase + 0x8000, kBase + 0x300};
  const std::vector<uint64_t> plain{kBase + 0x500, kBase + 0x600};
  const std::vector<ChainStart> chains{list(fast, 0, true), list({}, 0, true), list(bin, kBin, false),
                                       list(plain, 0, false)};
  const auto together = chase(chains);
  ASSERT_EQ(together.size(), 4u);
  EXPECT_EQ(together[0], fast);
  EXPECT_TRUE(together[1].empty());
  EXPECT_EQ(together[2], bin);
  EXPECT_EQ(together[3], plain);
  for (size_t i = 0; i < chains.size(); ++i) EXPECT_EQ(chase({chains[i]}).front(), together[i]) << i;
}

TEST_F(Chains, ACycleEndsTheChaseSoonAfterItCloses) {
  // a -> b -> c -> d -> e -> c: a tail of two, a loop of three. Brent's
  // test notices within a few turns of the loop; the walk stops at the
  // first node met again, whatever the chase holds after it.
  const uint64_t a = kBase + 0x100, b = kBase + 0x200, c = kBase + 0x300, d = kBase + 0x400, e = kBase + 0x500;
  ChainStart s = list({a, b, c, d, e}, c, true);
  s.end = 0;
  const auto nodes = chase({s}).front();
  ASSERT_GE(nodes.size(), 5u);
  EXPECT_LE(nodes.size(), 5u + 2 * 3);
  EXPECT_EQ(std::vector<uint64_t>(nodes.begin(), nodes.begin() + 5), (std::vector<uint64_t>{a, b, c, d, e}));
  for (size_t i = 5; i < nodes.size(); ++i) EXPECT_EQ(nodes[i], nodes[i - 3]) << i;
  // A node that points at itself.
  ChainStart self = list({a}, a, false);
  self.end = 0;
  EXPECT_EQ(chase({self}).front(), std::vector<uint64_t>{a});
}

TEST_F(Chains, StopsAtAMisalignedNodeAnUnreadableLinkOrTheBound) {
  const uint64_t a = kBase + 0x100, b = kBase + 0x200;
  // b links to an address off the 16-byte grid: not taken.
  EXPECT_EQ(chase({list({a, b, kBase + 0x308}, 0, true)}).front(), (std::vector<uint64_t>{a, b}));
  // b links to unmapped memory: that node is taken (the walk reports it), its link cannot be read.
  EXPECT_EQ(chase({list({a, b, 0x1000}, 0, true)}).front(), (std::vector<uint64_t>{a, b, 0x1000}));
  std::vector<uint64_t> many;
  for (uint64_t i = 0; i < 40; ++i) many.push_back(kBase + 0x40 * (i + 1));
  EXPECT_EQ(chase({list(many, 0, true)}, 7).front().size(), 7u);
  EXPECT_EQ(chase({list(many, 0, true)}, 1000).front(), many);
}

TEST_F(Chains, ReadingThroughHeapWordsGivesTheSame) {
  const std::vector<uint64_t> nodes{kBase + 0x800, kBase + 0x40, kBase + 0xf000};
  const std::vector<ChainStart> chains{list(nodes, kBin, false)};
  Arena arena;
  arena.heaps.push_back({{Address(kBase), Address(kBase + 0x10000)}, Address()});
  HeapWords words(target, {arena});
  const auto through_words = chase_chains(chains, 16, 100, target, &words, cancel);
  EXPECT_EQ(values(through_words.front()), nodes);
}

TEST_F(Chains, ChaseAheadGivesWhatTheChaseGives) {
  std::vector<uint64_t> many;
  for (uint64_t i = 0; i < 300; ++i) many.push_back(kBase + 0x10000 - 0x30 * (i + 1));
  std::vector<ChainStart> chains{list(many, 0, true), list({kBase + 0x10}, kBin, false)};
  ChaseAhead ahead(chains, 16, 1000, target);
  auto taken = ahead.take();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(values(taken[0]), many);
  EXPECT_EQ(values(taken[1]), std::vector<uint64_t>{kBase + 0x10});
  EXPECT_TRUE(ahead.take().empty());  // taken once
  // Destroyed unclaimed: stops and joins.
  { ChaseAhead unclaimed(chains, 16, 1000, target); }
}

TEST(ListNodes, ChasedNodesStayWhileTheyAgree) {
  const Address a(0x100), b(0x200), c(0x300), d(0x400), x(0x900);
  std::vector<Address> nodes{a, b, c, d};
  ListNodes list(nodes, 100);
  EXPECT_EQ(list.ahead(0), a);
  EXPECT_EQ(list.ahead(3), d);
  EXPECT_TRUE(list.ahead(4).is_null());
  list.meet(a);
  list.meet(b);
  EXPECT_EQ(list.ahead(0), c);
  list.meet(x);  // the walk parts from the chase: c and d are not the list's
  EXPECT_TRUE(list.ahead(0).is_null());
  list.meet(c);
  list.finish();
  EXPECT_EQ(nodes, (std::vector<Address>{a, b, x, c}));
}

TEST(ListNodes, AWalkThatEndsEarlyDropsTheRest) {
  std::vector<Address> nodes{Address(0x100), Address(0x200), Address(0x300)};
  ListNodes list(nodes, 100);
  list.meet(Address(0x100));
  EXPECT_EQ(list.met().size(), 1u);
  list.finish();
  EXPECT_EQ(nodes, std::vector<Address>{Address(0x100)});
  // No chase at all: the walk's own nodes.
  std::vector<Address> own;
  ListNodes alone(own, 10000);
  for (uint64_t i = 0; i < 5000; ++i) alone.meet(Address(0x10 * (i + 1)));
  alone.finish();
  ASSERT_EQ(own.size(), 5000u);
  EXPECT_EQ(own.back(), Address(0x10 * 5000));
}

}  // namespace
}  // namespace heapscope::glibc
