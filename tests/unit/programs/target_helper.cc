// target_helper: a small process the target and symbol tests inspect.
//   target_helper OUTDIR crash|wait THREADS [big]
// Writes OUTDIR/info.txt ("key value" lines: pid, addresses and values the
// tests look for) and OUTDIR/maps.txt (its /proc/self/maps), with THREADS
// threads running. Then "crash" aborts in OUTDIR (the kernel writes the core
// there); "wait" prints "ready" and answers each stdin line with "pong LINE"
// until EOF, so a test can check the process still runs after inspection.
// "big" adds a 1.25 GiB mostly untouched mapping and a file mapping that runs
// two pages past the end of its file (reading those pages fails).
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

uint64_t g_marker = 0x1122334455667788ULL;

struct Shape {
  virtual ~Shape() = default;
  virtual int area() const = 0;
};
struct HelperSquare : Shape {
  int side = 7;
  int area() const override { return side * side; }
};

extern "C" __attribute__((noinline)) int helper_function(int x) { return x * 3 + 1; }

namespace {

pthread_barrier_t g_barrier;

void* thread_main(void*) {
  pthread_barrier_wait(&g_barrier);
  for (;;) pause();
  return nullptr;
}

void copy_file(const char* from, const std::string& to) {
  FILE* in = std::fopen(from, "r");
  FILE* out = std::fopen(to.c_str(), "w");
  if (!in || !out) std::exit(3);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) std::fwrite(buf, 1, n, out);
  std::fclose(in);
  std::fclose(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: target_helper OUTDIR crash|wait THREADS [big]\n");
    return 2;
  }
  std::string dir = argv[1], mode = argv[2];
  int threads = std::atoi(argv[3]);
  if (threads < 1) threads = 1;

  const size_t heap_size = 1 << 20;
  auto* heap = static_cast<unsigned char*>(std::malloc(heap_size));
  for (size_t i = 0; i < heap_size; ++i) heap[i] = static_cast<unsigned char>((i * 7) ^ 0x5a);
  Shape* shape = new HelperSquare;
  void* vtable;
  std::memcpy(&vtable, shape, sizeof vtable);

  uint64_t* big = nullptr;
  const size_t big_size = (size_t{5} << 30) / 4;
  unsigned char* short_map = nullptr;
  if (argc == 5) {
    big = static_cast<uint64_t*>(mmap(nullptr, big_size, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (big == MAP_FAILED) return 4;
    big[0] = 0xb16b00b5;
    big[((size_t{1} << 30) + 4096 * 3) / 8 + 5] = 0xfeedface;
    std::string file = dir + "/short.bin";
    int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char page[4096];
    std::memset(page, 0xab, sizeof page);
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page) return 4;
    short_map = static_cast<unsigned char*>(mmap(nullptr, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    close(fd);
    if (short_map == MAP_FAILED) return 4;
  }

  pthread_barrier_init(&g_barrier, nullptr, static_cast<unsigned>(threads));
  for (int i = 1; i < threads; ++i) {
    pthread_t t;
    pthread_create(&t, nullptr, thread_main, nullptr);
  }
  pthread_barrier_wait(&g_barrier);

  copy_file("/proc/self/maps", dir + "/maps.txt");
  std::string tmp = dir + "/info.tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return 3;
  std::fprintf(f, "pid %d\n", getpid());
  std::fprintf(f, "threads %d\n", threads);
  std::fprintf(f, "marker_addr %p\n", static_cast<void*>(&g_marker));
  std::fprintf(f, "marker_value 0x%llx\n", static_cast<unsigned long long>(g_marker));
  std::fprintf(f, "heap_addr %p\n", static_cast<void*>(heap));
  std::fprintf(f, "heap_size 0x%zx\n", heap_size);
  std::fprintf(f, "function_addr %p\n", reinterpret_cast<void*>(&helper_function));
  std::fprintf(f, "object_addr %p\n", static_cast<void*>(shape));
  std::fprintf(f, "vtable_ptr %p\n", vtable);
  std::fprintf(f, "malloc_addr %p\n", reinterpret_cast<void*>(&malloc));
  if (big) {
    std::fprintf(f, "big_addr %p\n", static_cast<void*>(big));
    std::fprintf(f, "big_size 0x%zx\n", big_size);
    std::fprintf(f, "short_addr %p\n", static_cast<void*>(short_map));
  }
  std::fclose(f);
  std::rename(tmp.c_str(), (dir + "/info.txt").c_str());

  if (mode == "crash") {
    if (chdir(dir.c_str()) != 0) return 3;
    std::abort();
  }
  std::cout << "ready" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) std::cout << "pong " << line << std::endl;
  return helper_function(shape->area()) == 148 ? 0 : 1;
}
