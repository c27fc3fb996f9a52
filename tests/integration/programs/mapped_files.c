// Maps files whose names the tests then turn hostile (a FIFO, another
// file's contents), for heapscope's file-opening paths:
//   mapped_files DATA LIB abort   maps DATA (never touched, so the core keeps
//                                 none of its pages), dlopens LIB, leaks one
//                                 chunk and aborts (a core);
//   mapped_files DATA LIB wait    the same, then unlinks DATA and LIB (their
//                                 mappings become "... (deleted)"), prints
//                                 READY and waits for a line on stdin.
// Prints "leak 0x..." (the leaked chunk's user address) and "data 0x..."
// (where DATA is mapped).
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The leaked chunk's address goes out only as text, and the stack that held
// it is overwritten, so nothing in the process points to it any more.
__attribute__((noinline)) static void leak_one(void) {
  char* leak = malloc(200);
  memset(leak, 'L', 199);
  leak[199] = 0;
  printf("leak %p\n", (void*)leak);
}

__attribute__((noinline)) static void scrub_stack(void) {
  volatile char junk[4096];
  memset((char*)junk, 0, sizeof junk);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mapped_files DATA LIB abort|wait\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(argv[1]);
    return 1;
  }
  void* data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  if (!dlopen(argv[2], RTLD_NOW)) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  void* keep[16];
  for (int i = 0; i < 16; ++i) keep[i] = malloc(48 + 16 * i);
  leak_one();
  scrub_stack();
  printf("data %p\n", data);
  for (int i = 0; i < 16; i += 2) free(keep[i]);
  if (strcmp(argv[3], "wait") == 0) {
    unlink(argv[1]);
    unlink(argv[2]);
    printf("READY\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 0;
    return 0;
  }
  fflush(stdout);
  abort();
}
