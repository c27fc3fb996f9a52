// An allocation-heavy C++ workload for the recorder's overhead benchmark:
// maps of strings, vectors that grow, and short-lived nodes, from a handful
// of call paths (as a real program has), with a share kept live to the end.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Node {
  std::string name;
  std::vector<int> values;
  std::unique_ptr<Node> next;
};

std::unique_ptr<Node> chain(int length, int seed) {
  std::unique_ptr<Node> head;
  for (int i = 0; i < length; i++) {
    auto n = std::make_unique<Node>();
    n->name = "node-" + std::to_string(seed * 131 + i) + "-with-a-name-longer-than-sso";
    n->values.resize(1 + (i + seed) % 17);
    n->next = std::move(head);
    head = std::move(n);
  }
  return head;
}

void unlink(std::unique_ptr<Node> head) {
  while (head) head = std::move(head->next);  // iteratively: no deep recursion
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  std::map<std::string, std::vector<std::string>> index;
  std::vector<std::unique_ptr<Node>> kept;
  size_t total = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < 200; i++) {
      auto& bucket = index["key-" + std::to_string((r * 200 + i) % 5000)];
      bucket.push_back(std::string(20 + i % 90, 'x'));
      if (bucket.size() > 8) bucket.erase(bucket.begin());
    }
    auto c = chain(300, r);
    total += c->values.size();
    if (r % 10 == 0) kept.push_back(std::move(c)); else unlink(std::move(c));
  }
  std::printf("alloc_heavy: rounds=%d keys=%zu kept=%zu total=%zu\n", rounds, index.size(),
              kept.size(), total);
  for (auto& c : kept) unlink(std::move(c));
  return 0;
}
