// Hints to the kernel about memory we are about to use. They only change
// how fast things go: each may be ignored (an older kernel, a small range)
// and none can fail in a way the caller must handle.
#pragma once

#include <cstddef>
#include <vector>

namespace heapscope::util {

// Back [p, p + bytes) with transparent huge pages when the system allows it
// on request (THP "madvise" mode, Debian's default): a vector of millions of
// chunk records then costs a dozen page faults instead of thousands.
void advise_huge_pages(const void* p, size_t bytes);

// Map the file pages under [p, p + bytes) into our page tables in one call
// (MADV_POPULATE_READ, Linux 5.14+) rather than one fault per few pages.
void populate_for_read(const void* p, size_t bytes);

// Drop our page-table entries for the whole pages inside [p, p + bytes) of
// a read-only file mapping: they count in our RSS until then, and come back
// from the file if read again. Never for anonymous memory, which it would zero.
void release_file_pages(const void* p, size_t bytes);

template <typename T>
void advise_huge_pages(const std::vector<T>& v) {
  advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace heapscope::util
