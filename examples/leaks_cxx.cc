// leaks_cxx: C++ objects leaked and kept, to name chunks by their class.
//   - 3 leaked Widgets (direct, type Widget), each owning a long std::string
//     buffer (indirect)
//   - 2 leaked std::strings made with new (the string object direct, its
//     buffer indirect)
//   - a leaked cycle of 2 Gadgets (the lower one direct, the other indirect)
//   - 2 reachable Widgets in a global std::vector, so `heap chunks --type
//     Widget` finds 5
// Prints each leak (leaks_record.h), then aborts (core); --exit exits 0.
#include <string>
#include <vector>

#include "leaks_record.h"

struct Shape {
  virtual ~Shape() = default;
  virtual long area() const = 0;
  long id = 0;
};

struct Widget : Shape {
  explicit Widget(long i) : label("widget number " + std::to_string(i) + " with a long label") { id = i; }
  long area() const override { return id * 2; }
  std::string label;
};

struct Gadget {
  virtual ~Gadget() = default;
  virtual void spin() {}
  Gadget* peer = nullptr;
  long serial = 0;
};

static std::vector<Widget*>* g_widgets;

__attribute__((noinline)) static void make_leaks() {
  for (long i = 0; i < 3; ++i) {
    Widget* w = new Widget(i);
    leak_record("direct", w, "Widget");
    leak_record("indirect", w->label.data(), nullptr);
  }
  for (int i = 0; i < 2; ++i) {
    auto* s = new std::string("a leaked std::string long enough for the heap " + std::to_string(i));
    leak_record("direct", s, nullptr);
    leak_record("indirect", s->data(), nullptr);
  }
  Gadget* a = new Gadget;
  Gadget* b = new Gadget;
  a->peer = b;
  b->peer = a;
  leak_record(a < b ? "direct" : "indirect", a, "Gadget");
  leak_record(b < a ? "direct" : "indirect", b, "Gadget");
}

__attribute__((noinline)) static void make_reachable() {
  g_widgets = new std::vector<Widget*>;
  // Exactly the capacity used: spare capacity holds whatever the allocator
  // left there (jemalloc reuses regions without clearing them), and a stale
  // pointer in it is a real reference for any conservative scan.
  g_widgets->reserve(2);
  for (long i = 10; i < 12; ++i) g_widgets->push_back(new Widget(i));
  leak_hold("global", "g_widgets", g_widgets);
}

int main(int argc, char** argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  leak_mask_line();
  make_reachable();
  make_leaks();
  wipe_stack();
  say("LEAKS-END\n");
  if (exit_normally) _exit(0);
  abort();
}
