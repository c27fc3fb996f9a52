/* read_floor: the least work any tool must do on a core, as a yardstick:
 * map the file and read every 8-byte word of its data once. Holes (the
 * pages a process never touched, e.g. most of its thread stacks, which the
 * kernel leaves out of a core as a sparse file's holes) are skipped: they
 * hold no bytes to read.
 *   read_floor FILE   ->  prints "bytes=N data=M sum=0x..."
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: read_floor FILE\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 2;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    fprintf(stderr, "read_floor: %s: empty or unreadable\n", argv[1]);
    return 2;
  }
  size_t size = (size_t)st.st_size;
  const uint64_t *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  madvise((void *)p, size, MADV_SEQUENTIAL);
  uint64_t sum = 0;
  size_t data = 0;
  off_t at = 0;
  /* Data extents from SEEK_DATA/SEEK_HOLE (a file system without them
   * reports the whole file as one extent). */
  while (at < (off_t)size) {
    off_t start = lseek(fd, at, SEEK_DATA);
    if (start < 0) break; /* no more data */
    off_t end = lseek(fd, start, SEEK_HOLE);
    if (end < 0 || end > (off_t)size) end = (off_t)size;
    for (size_t i = (size_t)start / 8; i < (size_t)end / 8; ++i) sum += p[i] ^ (sum >> 7);
    data += (size_t)(end - start);
    at = end;
  }
  printf("bytes=%zu data=%zu sum=0x%llx\n", size, data, (unsigned long long)sum);
  munmap((void *)p, size);
  close(fd);
  return 0;
}
