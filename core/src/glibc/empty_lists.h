// The free lists a walk of glibc's heap keeps none of because they are
// empty: `heap bins --all` shows every tcache bin, fastbin, the unsorted bin
// and every small and large bin, count 0 and all.
#pragma once

#include <vector>

#include "heapscope/glibc/heap.h"

namespace heapscope::glibc {

// Every list the heap has that `heap.lists` lacks, empty, with its kind,
// owner, bin, head slot and sizes. Bin 127, which glibc never uses, is left out.
std::vector<FreeList> empty_free_lists(const Heap& heap);

// Lists in the order heap.lists keeps them: the tcaches' (by arena, then
// head), then per arena the fastbins, then bins 1 (unsorted) to 126.
void sort_free_lists(std::vector<const FreeList*>& lists);

}  // namespace heapscope::glibc
