// gen_tree: a tree of C++ objects with vtables, then a core dump.
//
//   gen_tree N [--exit]
//
// About N chunks: objects of four classes (each with a vtable pointer as its
// first word, the kind `heap stats --by-type` names), branches holding their
// children in a std::vector (its buffer one more chunk), named leaves with a
// std::string too long for the small-string buffer (one more chunk). Every
// object hangs under a global root; then about 10% of the subtrees' leaves
// are deleted (their chunks freed), so the tree has holes.
#include <memory>
#include <string>
#include <vector>

#include "shape.h"

namespace {

struct Node {
  virtual ~Node() = default;
  virtual size_t weight() const = 0;
};

struct Leaf : Node {
  explicit Leaf(uint64_t v) : value(v) {}
  size_t weight() const override { return 1; }
  uint64_t value;
};

struct WideLeaf : Node {
  explicit WideLeaf(uint64_t v) { for (auto &w : values) w = v++; }
  size_t weight() const override { return 4; }
  uint64_t values[12];
};

struct NamedLeaf : Node {
  explicit NamedLeaf(uint64_t v) : name("named leaf number " + std::to_string(v)) {}
  size_t weight() const override { return name.size(); }
  std::string name;
};

struct Branch : Node {
  size_t weight() const override {
    size_t w = 1;
    for (const auto &c : children) w += c ? c->weight() : 0;
    return w;
  }
  std::vector<std::unique_ptr<Node>> children;
};

}  // namespace

// Not static, see gen_heap.c.
Node *tree_root;

int main(int argc, char **argv) {
  int exit_normally;
  unsigned long long n = shape_args(argc, argv, "gen_tree", &exit_normally);
  // Breadth-first: every branch gets 2..17 children (a fifth of them branches) until about n chunks
  // exist (a branch is 2 chunks, a named leaf 2, other leaves 1).
  auto *root = new Branch;
  tree_root = root;
  std::vector<Branch *> open{root};
  unsigned long long chunks = 1;
  for (size_t next = 0; chunks < n && next < open.size(); ++next) {
    Branch *b = open[next];
    size_t kids = 2 + shape_rng() % 16;
    b->children.reserve(kids);
    ++chunks;
    for (size_t k = 0; k < kids && chunks < n; ++k) {
      uint64_t r = shape_rng() % 100;
      if (r < 20) {
        auto *c = new Branch;
        open.push_back(c);
        b->children.emplace_back(c);
        ++chunks;
      } else if (r < 65) {
        b->children.emplace_back(new Leaf(r));
        ++chunks;
      } else if (r < 85) {
        b->children.emplace_back(new WideLeaf(r));
        ++chunks;
      } else {
        b->children.emplace_back(new NamedLeaf(chunks));
        chunks += 2;
      }
    }
  }
  // open[] is the builder's: freed so only the tree holds the objects.
  std::vector<Branch *>().swap(open);
  unsigned long long freed = 0;
  std::vector<Node *> stack{root};
  while (!stack.empty()) {
    Node *node = stack.back();
    stack.pop_back();
    auto *b = dynamic_cast<Branch *>(node);
    if (!b) continue;
    for (auto &c : b->children) {
      if (dynamic_cast<Branch *>(c.get())) {
        stack.push_back(c.get());
      } else if (shape_rng() % 10 == 0) {
        c.reset();
        ++freed;
      }
    }
  }
  std::vector<Node *>().swap(stack);
  shape_sort_unsorted(freed / 10000 + 2, 1000);
  printf("gen_tree chunks=%llu weight=%zu leaves_freed=%llu\n", chunks, root->weight(), freed);
  return shape_finish(exit_normally);
}
