// Internal: the state shared by the steps of Heap::build (arenas and heaps,
// the chunk walk, the mmapped scan, the free lists, classification).
#pragma once

#include <memory>
#include <unordered_set>

#include "glibc/heap_words.h"
#include "glibc/list_chase.h"
#include "glibc/safe_linking.h"
#include "heapscope/glibc/heap.h"

namespace heapscope::glibc {

struct Builder {
  const Target& target;
  const Layout& l;
  const CancelToken& cancel;
  Heap& heap;
  // Pointer mangling (safe-linking, 2.32+): confirmed from the data.
  bool mangled = true;
  // Tcaches known only by where they lie or by their shape (some thread's
  // TLS unread): walk_lists keeps those that no free list holds.
  std::vector<Tcache> provisional;
  // The free lists' nodes chased ahead on a second thread (list_chase.h),
  // in walk_lists' order, with links read as mangled when chased_mangled;
  // empty when not: walk_lists chases them itself.
  std::vector<std::vector<Address>> chased_ahead;
  bool chased_mangled = false;
  // Set for walk_lists (the heaps are known then).
  std::unique_ptr<HeapWords> heap_words;
  std::optional<uint64_t> node_word(Address a) const {
    return heap_words ? heap_words->u64(a) : target.read_u64(a);
  }

  void finding(std::string kind, Address at, int arena, std::string detail) {
    heap.findings.push_back({std::move(kind), at, arena, std::move(detail)});
  }

  // Steps, in order.
  void read_mp(Address mp);
  void read_arenas(Address main_arena);
  void walk_heaps();
  void scan_mmapped();
  void find_tcaches();
  void decide_mangling();
  void walk_lists();
  void classify();

  // Where each list walk_lists walks starts: every arena's fastbins, then its bins.
  std::vector<ChainStart> chain_starts(bool mangled_links) const;

  // Helpers.
  // The chunk at a, once the chunks are sorted and indexed (heap.index).
  Chunk* chunk_at(Address a) {
    uint32_t i = heap.index.at(heap.blocks, a.value);
    return i == BlockIndex::kNone ? nullptr : &heap.blocks[i];
  }
  // Starts loading what checking the list node at a will read (its header
  // and links, its index word) while the current node is checked: a list
  // of 200k chunks in no address order is otherwise a chain of cache misses.
  void prefetch_node(Address a) const {
    const std::byte* bytes = heap_words ? heap_words->bytes(a, 4 * l.size_sz) : nullptr;
    if (!bytes) {
      auto v = target.view(a, 4 * l.size_sz);
      bytes = v.empty() ? nullptr : v.data();
    }
    if (bytes) __builtin_prefetch(bytes + 2 * l.size_sz);
    heap.index.prefetch(a.value);
  }
  // Starts loading the block of the chunk at a, once its index word is
  // loaded (last_at_or_before reads no block, at() would wait for it).
  void prefetch_block(Address a) {
    const uint32_t i = heap.index.last_at_or_before(heap.blocks, a.value);
    if (i != BlockIndex::kNone) __builtin_prefetch(&heap.blocks[i]);
  }
  bool in_some_heap(Address a) const;
  // Counts within mp_.tcache_count and every entry null or a chunk's data.
  bool plausible_tcache(Address data) const;
  void walk_tcache(const Tcache& t, std::vector<Finding>& double_listed);
  uint64_t demangle(Address pos, uint64_t stored) const {
    return mangled ? reveal_link(pos, stored) : stored;
  }
};

// The glibc bin a free chunk of this size belongs in (1 unsorted is not
// returned; 2..63 small, 64..126 large) for 64-bit glibc.
int bin_index_for_size(uint64_t size);
// The size range [min, max] a bin holds.
std::pair<uint64_t, uint64_t> bin_size_range(int bin);

}  // namespace heapscope::glibc
