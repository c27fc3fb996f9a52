// Roots and references: where the program itself keeps pointers (thread
// registers and stacks, module globals, anonymous mappings that are not heap),
// and every place that holds a pointer into one chunk (`heap refs`), with the
// shortest chain from a root to it (`heap refs --path`).
//
// A node is an in-use chunk (in an arena, or mmapped); only nodes' contents are
// scanned. A word equal to a node's data() is a start pointer; one inside
// (data(), end()) is an interior pointer. Aligned 8-byte words only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/cancel.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope {

enum class RootKind : uint8_t {
  kRegister,   // a thread's register
  kStack,      // a thread's stack, from sp minus the red zone to the mapping's end
  kModule,     // a writable mapping of a file (data, relro, bss of a module)
  kAnonymous,  // a writable anonymous mapping that is neither heap, stack nor mmapped chunk
};
std::string_view root_kind_name(RootKind k);  // "register", "stack", "module", "anonymous"

struct RootRange {
  RootKind kind = RootKind::kAnonymous;
  AddressRange range;  // 8-byte aligned words in here are roots
  int tid = 0;         // kStack: the thread
  std::string path;    // kModule: the file
};

struct RegisterRoot {
  int tid = 0;
  std::string name;
  uint64_t value = 0;
};

// A pointer glibc itself keeps into a chunk it allocated, at an offset the
// leak marking would take for a "possible" reference: each live thread's
// DTV (dynamic TLS vector), held by tcbhead_t.dtv one dtv_t (16 bytes) into
// its calloc'ed array, whose slot -1 is the length. Taken as a start pointer.
struct InternalRoot {
  int tid = 0;
  Address where;      // the word glibc keeps (tcbhead_t.dtv)
  Address chunk_data; // the chunk's data(): what the word points into
};

struct Roots {
  std::vector<RegisterRoot> registers;
  std::vector<RootRange> ranges;  // sorted by address, disjoint
  std::vector<InternalRoot> internal;
  // False when a thread's pointer is unknown (qemu-user's aarch64 cores):
  // its DTV must then be known by its shape (dtv_shaped).
  bool thread_pointers_known = true;
};

// A DTV as glibc allocates it: `where` points one dtv_t (16 bytes) into the
// chunk, whose first word (dtv[-1]) is the length n of a calloc(n + 2, 16).
bool dtv_shaped(const Target& target, const glibc::Chunk& chunk, uint64_t where);

// The x86-64 SysV red zone: a leaf function may keep data below sp.
inline constexpr uint64_t kRedZone = 128;

// Every writable mapping, the stacks and the registers, less what the
// allocator owns (HeapModel::system): its own bookkeeping keeps nothing
// alive. On glibc, plus each thread's DTV.
Roots find_roots(const Target& target, const HeapModel& heap);
// The same, given what the allocator owns (sorted, disjoint), which the
// caller may know already.
Roots find_roots(const Target& target, const HeapModel& heap, const std::vector<AddressRange>& owned);

// Whether a chunk is a node of the reference graph.
inline bool is_node(const glibc::Chunk& c) {
  return c.kind == glibc::ChunkState::kInUse || c.kind == glibc::ChunkState::kMmapped;
}

// One place holding a pointer into the chunk asked about.
struct Reference {
  enum class From : uint8_t { kRegister, kStack, kModule, kAnonymous, kChunk };
  From from = From::kChunk;
  Address where;         // address of the word (registers: none)
  uint64_t value = 0;    // the pointer held
  bool start = false;    // value == the chunk's data()
  int tid = 0;           // registers and stacks
  std::string name;      // register name; module global "symbol+0x8"; anonymous: ""
  int64_t chunk = -1;    // kChunk: index into heap.blocks of the holder
  uint32_t heap = 0;     // kChunk: the holder's heap (index into RefsReport::heaps)
  Address thread_sp;     // kStack: the thread's sp (offsets are shown from it)
  bool mems_virtual = false;  // value is a MeMS virtual address of the segment
  uint64_t resolved = 0;      // mems_virtual: the target address it translates to
};
std::string_view reference_from_name(Reference::From f);  // "register", "stack", ...

// One step of a chain from a root: the root itself (chunk == -1), then each
// chunk in turn with the offset at which it holds the next pointer.
struct PathStep {
  Reference via;       // how this chunk is reached (from a root, or from the previous chunk)
  int64_t chunk = -1;  // the chunk reached
  uint32_t heap = 0;   // its heap (index into RefsReport::heaps)
};

struct RefsReport {
  int64_t chunk = -1;      // the chunk asked about (index into heap.blocks)
  uint32_t heap = 0;       // its heap (index into heaps)
  Address asked;
  // find_union_refs: every heap of the target, each block named with its
  // allocator; empty from find_refs (one heap, the caller's).
  std::vector<const HeapModel*> heaps;
  bool asked_virtual = false;     // asked is a MeMS virtual address of the segment
  std::vector<Reference> refs;    // roots first (registers, stacks, globals, anonymous), then chunks
  bool path_asked = false;
  std::vector<PathStep> path;     // empty when no root reaches the chunk
};

// Everything that points into [data(), end()) of the chunk holding `asked`.
// Throws UserError when `asked` is in no chunk.
RefsReport find_refs(const Target& target, const HeapModel& heap, const SymbolResolver& symbols,
                     Address asked, bool with_path, const CancelToken& cancel);

// The same over every heap of the target, as heap leaks sees them: a
// pointer into any heap's block holds it, a MeMS virtual address holds its
// PROCESS segment, and no allocator's memory is a root. `asked` is looked up
// in `lookup` (every heap when null), then as a MeMS virtual address.
RefsReport find_union_refs(const Target& target, const std::vector<const HeapModel*>& heaps,
                           const HeapModel* lookup, const SymbolResolver& symbols, Address asked, bool with_path,
                           const CancelToken& cancel);

}  // namespace heapscope
