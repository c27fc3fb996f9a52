// HeapModel: what one allocator holds in one target, in words every analysis
// shares. An allocator model (glibc, mems, jemalloc, ...) finds its roots and
// walks its structures once; the result is a vector of Blocks in address
// order that tiles the memory the allocator got from the system (every byte
// classified), the owners those blocks belong to (arenas, nodes, ...), and
// every anomaly met on the way as a Finding. Stats, chunks, leaks, refs, map
// and pages read HeapModels only; free-list views, integrity checks and trim
// models stay with their allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/address.h"
#include "heapscope/model/block_index.h"

namespace heapscope {

// What a block is to the program, whatever the allocator.
enum class BlockState : uint8_t {
  kInUse,     // handed out and not freed
  kFree,      // on a free list, in a bin, or a free region of a slab
  kCached,    // freed into a thread cache: free for the program, not for the allocator's counters
  kTop,       // the wilderness: free bytes at the end of a heap, on no list
  kMapped,    // in use, in a mapping of its own (glibc's mmapped chunks)
  kMetadata,  // the allocator's own bookkeeping
  kUnknown,   // bytes the walk could not parse (a finding says why)
};
inline constexpr int kBlockStateCount = 7;
std::string_view block_state_name(BlockState s);
// Handed out to the program: what leak and reference scans take as objects.
constexpr bool is_live(BlockState s) { return s == BlockState::kInUse || s == BlockState::kMapped; }  // "in_use", "free", "cached", "top", "mapped", "metadata", "unknown"

// One kind of block in the allocator's own words ("tcache", "fast", "HOLE",
// "slab region"): its generic state and where the user's bytes start.
struct BlockKind {
  std::string_view name;
  BlockState state = BlockState::kUnknown;
  uint32_t user_offset = 0;  // from the block's address to the first byte the program sees
  bool in_use_counted = false;  // counted as in use by the allocator's own statistics (glibc: tcache)
  // Bytes past the block's end its owner may still write (glibc: an in-use
  // chunk owns the next chunk's prev_size field).
  uint32_t tail_bytes = 0;
  // Allocated by the allocator for itself (jemalloc's thread-cache stacks):
  // in use for its counters, but no object of the program, so never a leak
  // and never scanned (its stale slots would keep freed-and-reused memory alive).
  bool internal = false;
};
inline constexpr int kMaxBlockKinds = 16;
// A block the program holds: an object of the leak and reference scans.
constexpr bool is_program_object(const BlockKind& k) { return is_live(k.state) && !k.internal; }

// Sixteen bytes: a heap of millions of blocks is mostly this vector, and
// every whole-heap pass reads it. Bit-fields keep plain member syntax; a
// value that does not fit is refused where blocks are made (kMaxBlockSize,
// kMaxOwners), never truncated. Pass fields to templates by value
// (`uint64_t{b.size}`): a bit-field does not bind to a reference.
inline constexpr uint64_t kMaxBlockSize = (uint64_t{1} << 44) - 1;  // 16 TiB
inline constexpr int kMaxOwners = 4096;
inline constexpr int kNoOwner = -1;  // a block of no owner (glibc: an mmapped chunk)

struct Block {
  Address address;          // where the block starts (glibc: the chunk header)
  uint64_t size : 44 = 0;   // bytes from address to the next block, headers included
  int32_t owner : 13 = 0;   // index into HeapModel::owners, or kNoOwner
  uint8_t kind : 4 = 0;     // index into HeapModel::kinds
  uint8_t bits : 3 = 0;     // the allocator's own spare bits (glibc: the size field's P, M, A)

  Block() = default;
  // The four fields in one store: compilers update bit-fields one at a time,
  // and walks make millions of blocks. The layout (first field lowest) is
  // that of the System V and AAPCS64 ABIs; BlockTest.FieldsReadBack holds it.
  Block(Address at, uint64_t block_size, int owner_index, uint8_t kind_index, uint8_t allocator_bits)
      : address(at) {
    const uint64_t word = (block_size & kMaxBlockSize) | (uint64_t{static_cast<uint32_t>(owner_index) & 0x1fff} << 44) |
                          (uint64_t{kind_index & 15u} << 57) | (uint64_t{allocator_bits & 7u} << 61);
    std::memcpy(reinterpret_cast<std::byte*>(this) + sizeof(Address), &word, sizeof word);
  }

  Address end() const { return address + size; }
};
static_assert(sizeof(Block) == 16);

inline uint32_t BlockIndex::at(std::span<const Block> blocks, uint64_t a) const {
  const uint32_t i = last_at_or_before(blocks, a);
  return i != kNone && blocks[i].address.value == a ? i : kNone;
}

inline uint32_t BlockIndex::containing(std::span<const Block> blocks, uint64_t a) const {
  const uint32_t i = last_at_or_before(blocks, a);
  return i != kNone && a - blocks[i].address.value < blocks[i].size ? i : kNone;
}

// An arena, node, extent, ...: what holds blocks and got memory from the system.
struct Owner {
  std::string label;         // "arena 1", "node 3"
  Address address;           // its descriptor in the target
  uint64_t system_bytes = 0; // what it got from the system
};

struct Finding {
  std::string kind;      // short identifier, e.g. "bin-cycle", "bad-size"
  Address address;       // the block or list node concerned
  int owner = kNoOwner;  // the owner it concerns, or kNoOwner
  std::string detail;    // one line for people
};

class HeapModel {
 public:
  // Allocators extend the model with their own structures (glibc::Heap):
  // owned through a HeapModel pointer, told apart with dynamic_cast.
  HeapModel() = default;
  virtual ~HeapModel() = default;
  HeapModel(const HeapModel&) = default;
  HeapModel(HeapModel&&) = default;
  HeapModel& operator=(const HeapModel&) = default;
  HeapModel& operator=(HeapModel&&) = default;

  std::string allocator;            // "glibc", "mems", "jemalloc"
  std::string version;              // as read from the target ("2.36", "5.3.0-0-g54eaed1d")
  std::span<const BlockKind> kinds; // the allocator's table (static storage), at most kMaxBlockKinds
  std::vector<Owner> owners;
  std::vector<AddressRange> system; // what the allocator got from the system, address order
  std::vector<Block> blocks;        // address order
  BlockIndex index;                 // over `blocks`
  std::vector<Finding> findings;    // every anomaly met on the way

  const BlockKind& kind_of(const Block& b) const { return kinds[b.kind]; }
  BlockState state(const Block& b) const { return kinds[b.kind].state; }
  // The program's bytes of a block: [user_begin, end).
  Address user_begin(const Block& b) const { return b.address + kinds[b.kind].user_offset; }
  // The bytes the program may write: from user_begin to the end, plus the tail.
  AddressRange user_area(const Block& b) const {
    return {user_begin(b), b.end() + kinds[b.kind].tail_bytes};
  }
  // Handed out to the program: an object of the leak and reference scans.
  bool is_live(const Block& b) const { return is_program_object(kinds[b.kind]); }

  // The block whose [address, end) holds a, and the block that starts at a;
  // nullptr when there is none.
  const Block* block_containing(Address a) const;
  const Block* block_at(Address a) const;
  // The block whose user bytes [user_begin, end) start exactly at a, or nullptr.
  const Block* block_with_user_begin(Address a) const;

  // Sorts nothing: call after `blocks` is in address order.
  void build_index() { index = BlockIndex(blocks); }
};

}  // namespace heapscope
