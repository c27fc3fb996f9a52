// glibc::Heap: the ptmalloc2 heap of one target, walked once: every arena in
// ring order, every heap of every arena, every chunk with its state, every
// free list (tcache of every thread, fastbins, unsorted, small, large), the
// mmapped chunks, and every anomaly met on the way as a Finding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/layout.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

// glibc's kinds of chunk: the kind index of its Blocks (unscoped, so that
// `c.kind == ChunkState::kTcache` reads as it always did).
enum ChunkState : uint8_t {
  kInUse,
  kTcache,
  kFast,
  kUnsorted,
  kSmall,
  kLarge,
  kTop,
  kMmapped,
  kMetadata,  // tcache_perthread_struct, heap_info, malloc_state, padding, fenceposts
  kFreeUnlisted,  // marked free by its neighbour yet on no list: a finding
  kUnknown,       // bytes the walk could not parse (a corrupt size): a finding
};
inline constexpr int kChunkStateCount = 11;

// glibc's block kinds, indexed by ChunkState.
std::span<const BlockKind> chunk_kinds();

// "in_use", "tcache", "fast", "unsorted", "small", "large", "top", "mmapped",
// "metadata", "free_unlisted", "unknown".
std::string_view state_name(ChunkState s);
std::optional<ChunkState> parse_state(std::string_view name);
inline ChunkState state_of(const Block& c) { return static_cast<ChunkState>(c.kind); }

inline constexpr int kMmappedArena = kNoOwner;

// A chunk is a Block: address is the chunk header, size chunksize() (header
// included, flag bits cleared), owner the arena index (kMmappedArena for
// mmapped chunks), kind its ChunkState, bits the size field's raw low bits
// (P=1, M=2, A=4).
using Chunk = Block;
inline constexpr uint64_t kMaxChunkSize = kMaxBlockSize;
inline constexpr int kMaxArenas = kMaxOwners;
inline Address chunk_data(const Chunk& c) { return c.address + 16; }

struct HeapSegment {
  AddressRange range;     // bytes the arena got from the system for this heap
  Address heap_info;      // null for the main arena's sbrk heap
};

struct Arena {
  int index = 0;          // position in glibc's ring, main arena first
  Address address;        // the malloc_state
  bool main = false;
  std::vector<HeapSegment> heaps;
  uint64_t system_mem = 0;
  uint64_t max_system_mem = 0;
  uint64_t attached_threads = 0;
  Address top;
  uint64_t top_size = 0;
  uint32_t flags = 0;
};


enum class ListKind : uint8_t { kTcache, kFast, kUnsorted, kSmall, kLarge };
std::string_view list_kind_name(ListKind k);  // "tcache", "fast", ...

struct FreeList {
  ListKind kind;
  int arena = -1;          // owning arena (tcache: -1, see tid)
  int bin = 0;             // tcache/fastbin index, or glibc bin number
  int tid = 0;             // tcache: owning thread, 0 if unknown
  Address head;            // where the list starts (bin slot or tcache entry slot)
  std::vector<Address> chunks;  // chunk headers in list order
  uint64_t expected_count = 0;  // tcache counts[i]; 0 otherwise
  std::vector<Finding> findings;  // anomalies of this list, in place
  uint64_t min_size = 0, max_size = 0;  // sizes this bin is meant for
};

struct Tcache {
  Address address;   // the tcache_perthread_struct (user data of its chunk)
  int tid = 0;       // thread whose TLS points at it, 0 if none found
  int arena = -1;
};

struct MallocPar {
  Address address;
  uint64_t trim_threshold = 0, top_pad = 0, mmap_threshold = 0;
  uint64_t hp_pagesize = 0;
  uint64_t n_mmaps = 0, n_mmaps_max = 0, mmapped_mem = 0;
  Address sbrk_base;
  uint64_t tcache_bins = 0, tcache_count = 0;
};

// The glibc heap as a HeapModel (owners are the arenas, in ring order) plus
// what only glibc has: arenas' fields, free lists, tcaches, malloc_par.
class Heap : public HeapModel {
 public:
  // A glibc heap has glibc's kinds from the start (tests build some by hand).
  Heap() {
    allocator = "glibc";
    kinds = chunk_kinds();
  }

  // Finds and walks the heap. Throws UserError when no glibc heap is found.
  static Heap build(const Target& target, const SymbolResolver& symbols,
                    const CancelToken& cancel = CancelToken());

  // HeapModel::version: "2.36" as read from the target ("2.35-2.41": told from the layout).
  std::string libc_module;      // file-name part of the module glibc is in ("libc.so", or a static program)
  bool layout_exact = true;     // false: nearest row used for an unknown version
  const Layout* layout = nullptr;
  bool found_by_symbols = true; // main_arena/mp_ from symbols, else by structure
  bool safe_linking = true;     // tcache/fastbin links mangled, as decided from the data
  MallocPar mp;
  std::vector<Arena> arenas;    // ring order
  std::vector<FreeList> lists;  // tcache lists, then per arena fast, unsorted, small, large
  std::vector<Tcache> tcaches;
  // glibc 2.34+: tcache_key as libc's symbol gave it (read once, before the
  // walk; heap check takes it from here), and the chunks the walk took for
  // in use whose second word held it (address order), read while each
  // header was in cache: heap check looks for in-use chunks still carrying
  // the key here instead of reading every chunk again.
  std::optional<uint64_t> tcache_key;
  std::vector<Address> tcache_key_holders;
  // A chunk with PREV_INUSE clear must have the size of the chunk before it
  // in its prev_size. The walk, which has both in cache, compares them; heap
  // check then reads only the exceptions, listed here in address order with
  // their prev_size: those that differ, and those with no chunk walked just
  // before (the first of a heap). Every other chunk the walk reached
  // (prev_sizes_walked) has the right prev_size.
  struct PrevSize {
    Address chunk;
    uint64_t prev_size;
  };
  std::vector<PrevSize> prev_size_exceptions;
  bool prev_sizes_walked = false;

  // HeapModel::blocks are the chunks: address order, all arenas and mmapped
  // chunks; HeapModel::findings every anomaly, list ones included.
  std::span<const Chunk> chunks() const { return blocks; }
  // The chunk whose [address, end) holds addr, or nullptr.
  const Chunk* chunk_containing(Address addr) const { return block_containing(addr); }
  // The chunk whose header is exactly at addr, or nullptr.
  const Chunk* chunk_at(Address addr) const { return block_at(addr); }
};

}  // namespace heapscope::glibc
