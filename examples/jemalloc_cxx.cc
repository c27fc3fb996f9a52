// jemalloc_cxx: a C++ heap on jemalloc (operator new and delete, sized
// delete, aligned new, containers of many sizes), then jemalloc's own figures
// (jemalloc_oracle.h) and a core. Build: c++ jemalloc_cxx.cc -ljemalloc.
#include <map>
#include <new>
#include <memory>
#include <string>
#include <vector>

#include "jemalloc_oracle.h"

struct Node {
  virtual ~Node() = default;
  std::string name;
  std::vector<int> values;
};

int main() {
  oracle_init();
  std::vector<std::unique_ptr<Node>> nodes;
  std::map<int, std::string> names;
  for (int i = 0; i < 500; i++) {
    auto n = std::make_unique<Node>();
    n->name = std::string(size_t(20 + i % 60), char('a' + i % 26));
    n->values.resize(size_t(i % 40) * 10);
    nodes.push_back(std::move(n));
    names[i] = std::string(size_t(i % 100), 'x');
  }
  for (size_t i = 0; i < nodes.size(); i += 4) nodes[i].reset();  // sized delete of Node and its members
  std::vector<char> big(300000, 'b');                              // one large extent
  auto* array = new double[5000];                                  // another
  void* aligned = ::operator new(100000, std::align_val_t(65536));  // large, 64 KiB aligned: no offset
  void* small_aligned = nullptr;                                   // a 128-byte region
  if (posix_memalign(&small_aligned, 64, 100) != 0) return 1;
  jemalloc_oracle_and_abort();
  delete[] array;
  ::operator delete(aligned, std::align_val_t(65536));
  free(small_aligned);
}
