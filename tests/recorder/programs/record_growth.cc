/* record_growth: stops twice with known growth in between. At the first
 * stop a forked child aborts (its core is the heap as it was: renamed to
 * stop1.core); the program then grows and aborts itself (the second core).
 * Run with libheapscope-record.so preloaded for sites. It prints its own
 * record of what changed between the stops:
 *   GROW site_grow size=<malloc size> count=<n>     blocks kept from site_grow
 *   TYPE Widget count=<n>                          C++ objects made
 *   NEWLEAK <address ^ mask>                        leaked after stop 1
 *   GONELEAK <address ^ mask>                       leaked before stop 1, freed after */
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr unsigned long kMask = 0x5a5a5a5a5a5a5a5aul;
constexpr int kGrow = 40, kWidgets = 12, kNewLeaks = 3, kGoneLeaks = 2;

struct Widget {
  virtual ~Widget() = default;
  virtual int id() const { return value; }
  long value = 7;
  Widget* next = nullptr;
  long pad[2] = {};
};

}  // namespace

// Globals with external linkage: the compiler keeps every store to them
// (a static array nothing reads would lose them, and its blocks would leak).
Widget* widgets = nullptr;
void* grown[kGrow];
unsigned long masked_gone[kGoneLeaks], masked_new[kNewLeaks];

extern "C" __attribute__((noinline)) void* site_grow(size_t n) {
  void* p = malloc(n);
  __asm__ volatile("" ::: "memory");
  return p;
}
extern "C" __attribute__((noinline)) void site_leak_early(int i) {
  masked_gone[i] = reinterpret_cast<unsigned long>(malloc(500)) ^ kMask;
  __asm__ volatile("" ::: "memory");
}
extern "C" __attribute__((noinline)) void site_leak_late(int i) {
  masked_new[i] = reinterpret_cast<unsigned long>(malloc(300)) ^ kMask;
  __asm__ volatile("" ::: "memory");
}
extern "C" __attribute__((noinline)) void scrub_stack() {
  volatile char junk[65536];
  for (auto& c : junk) c = 0;
}

static void rename_child_core(pid_t child) {
  std::string named = "core." + std::to_string(child);
  if (rename(named.c_str(), "stop1.core") != 0) rename("core", "stop1.core");
}

int main() {
  for (int i = 0; i < kGoneLeaks; i++) site_leak_early(i);
  scrub_stack();
  std::fflush(stdout);
  pid_t child = fork();
  if (child == 0) abort();  // stop 1: the heap as it is now
  int status = 0;
  waitpid(child, &status, 0);
  rename_child_core(child);

  for (int i = 0; i < kGrow; i++) grown[i] = site_grow(200);
  for (int i = 0; i < kWidgets; i++) {
    Widget* w = new Widget;
    w->next = widgets;
    widgets = w;
  }
  for (int i = 0; i < kNewLeaks; i++) site_leak_late(i);
  for (int i = 0; i < kGoneLeaks; i++) free(reinterpret_cast<void*>(masked_gone[i] ^ kMask));
  scrub_stack();
  std::printf("GROW site_grow size=200 count=%d\n", kGrow);
  std::printf("TYPE Widget count=%d\n", kWidgets);
  for (int i = 0; i < kNewLeaks; i++) std::printf("NEWLEAK %lx\n", masked_new[i]);
  for (int i = 0; i < kGoneLeaks; i++) std::printf("GONELEAK %lx\n", masked_gone[i]);
  std::printf("STOP1 %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? "aborted" : "failed");
  std::fflush(stdout);
  abort();  // stop 2
}
