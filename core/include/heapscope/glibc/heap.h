// glibc::Heap: the ptmalloc2 heap of one target, walked once: every arena in
// ring order, every heap of every arena, every chunk with its state, every
// free list (tcache of every thread, fastbins, unsorted, small, large), the
// mmapped chunks, and every anomaly met on the way as a Finding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/chunk_index.h"
#include "heapscope/glibc/layout.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope::glibc {

enum class ChunkState : uint8_t {
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

// "in_use", "tcache", "fast", "unsorted", "small", "large", "top", "mmapped",
// "metadata", "free_unlisted", "unknown".
std::string_view state_name(ChunkState s);
std::optional<ChunkState> parse_state(std::string_view name);

inline constexpr int kMmappedArena = -1;

// Sixteen bytes: a heap of millions of chunks is mostly this vector, and
// every whole-heap pass reads it. Bit-fields keep plain member syntax; a
// value that does not fit is refused where chunks are made (kMaxChunkSize,
// kMaxArenas), never truncated. Pass fields to templates by value
// (`uint64_t{c.size}`): a bit-field does not bind to a reference.
inline constexpr uint64_t kMaxChunkSize = (uint64_t{1} << 44) - 1;  // 16 TiB
inline constexpr int kMaxArenas = 4096;

struct Chunk {
  Address address;            // chunk header
  uint64_t size : 44 = 0;     // chunksize(): header included, flag bits cleared
  int32_t arena : 13 = 0;     // index into Heap::arenas, kMmappedArena for mmapped chunks
  ChunkState state : 4 = ChunkState::kInUse;
  uint8_t flags : 3 = 0;      // raw low bits of the size field (P=1, M=2, A=4)

  Chunk() = default;
  Chunk(Address at, uint64_t chunk_size, int arena_index, ChunkState s, uint8_t raw_flags)
      : address(at), size(chunk_size), arena(arena_index), state(s), flags(raw_flags & 7) {}

  Address data() const { return address + 16; }
  Address end() const { return address + size; }
};
static_assert(sizeof(Chunk) == 16);

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

struct Finding {
  std::string kind;      // short identifier, e.g. "bin-cycle", "bad-size"
  Address address;       // the chunk or list node concerned
  int arena = -1;        // -1 when not tied to one arena
  std::string detail;    // one line for people
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

class Heap {
 public:
  // Finds and walks the heap. Throws UserError when no glibc heap is found.
  static Heap build(const Target& target, const SymbolResolver& symbols,
                    const CancelToken& cancel = CancelToken());

  std::string version;          // "2.36" as read from the target ("2.35-2.41": told from the layout)
  std::string libc_module;      // file-name part of the module glibc is in ("libc.so", or a static program)
  bool layout_exact = true;     // false: nearest row used for an unknown version
  const Layout* layout = nullptr;
  bool found_by_symbols = true; // main_arena/mp_ from symbols, else by structure
  bool safe_linking = true;     // tcache/fastbin links mangled, as decided from the data
  MallocPar mp;
  std::vector<Arena> arenas;    // ring order
  std::vector<Chunk> chunks;    // address order, all arenas and mmapped chunks
  std::vector<FreeList> lists;  // tcache lists, then per arena fast, unsorted, small, large
  std::vector<Tcache> tcaches;
  std::vector<Finding> findings;  // every anomaly, list ones included
  ChunkIndex index;               // over `chunks`

  // The chunk whose [address, end) holds addr, or nullptr.
  const Chunk* chunk_containing(Address addr) const;
  // The chunk whose header is exactly at addr, or nullptr.
  const Chunk* chunk_at(Address addr) const;
};

}  // namespace heapscope::glibc
