// heap check: glibc's own consistency checks, applied ahead of time to every
// chunk and list of the walked heap. The walker already met many anomalies on
// its way (Finding); here each is named the way glibc 2.36 would name
// it, given the chunk a person should look at and a likely cause, and the
// invariants the walker does not test are checked too.
#include "heapscope/analysis/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace heapscope {

using glibc::Chunk;
using glibc::ChunkState;
using glibc::FreeList;
using glibc::ListKind;

namespace {

constexpr uint64_t kPrevInuse = 1, kIsMmapped = 2, kNonMainArena = 4;
constexpr uint64_t kPage = 4096;

// glibc 2.36 malloc.c messages, in one place.
namespace msg {
constexpr const char* kTcacheDoubleFree = "free(): double free detected in tcache 2";
constexpr const char* kTcacheUnaligned = "malloc(): unaligned tcache chunk detected";
constexpr const char* kFastTop = "double free or corruption (fasttop)";
constexpr const char* kFastUnaligned = "malloc(): unaligned fastbin chunk detected 2";
constexpr const char* kFastCorruption = "malloc(): memory corruption (fast)";
constexpr const char* kSizeVsPrevSize = "corrupted size vs. prev_size";
constexpr const char* kSizeVsPrevSizeConsolidating = "corrupted size vs. prev_size while consolidating";
constexpr const char* kDoubleLinked = "corrupted double-linked list";
constexpr const char* kUnsortedLinks = "malloc(): unsorted double linked list corrupted";
constexpr const char* kSmallLinks = "malloc(): smallbin double linked list corrupted";
constexpr const char* kUnsortedSize = "malloc(): invalid size (unsorted)";
constexpr const char* kUnsortedPrevSize = "malloc(): mismatching next->prev_size (unsorted)";
constexpr const char* kUnsortedPrevInuse = "malloc(): invalid next->prev_inuse (unsorted)";
constexpr const char* kTopSize = "malloc(): corrupted top size";
constexpr const char* kInvalidSize = "free(): invalid size";
constexpr const char* kInvalidPointer = "free(): invalid pointer";
constexpr const char* kFreeOut = "double free or corruption (out)";
constexpr const char* kMunmap = "munmap_chunk(): invalid pointer";
constexpr const char* kTooMany = "free(): too many chunks detected in tcache";
constexpr const char* kUnsortedNextSize = "malloc(): invalid next size (unsorted)";
constexpr const char* kFreeUnsorted = "free(): corrupted unsorted chunks";
constexpr const char* kMallocUnsorted = "malloc(): corrupted unsorted chunks";
constexpr const char* kLargeNextsize = "malloc(): largebin double linked list corrupted (nextsize)";
constexpr const char* kLargeBk = "malloc(): largebin double linked list corrupted (bk)";
constexpr const char* kNotSmall = "corrupted double-linked list (not small)";
}  // namespace msg

class Checker {
 public:
  Checker(const glibc::Heap& h, const Target& t, const CheckOptions& o, const CancelToken& c)
      : h_(h), t_(t), opt_(o), cancel_(c), l_(*h.layout),
        prev_sizes_walked_(h.prev_sizes_walked && !h.index.overlapping()) {}

  CheckReport run() {
    find_tcache_key();
    report_.tcache_key = key_;
    for (const auto& c : h_.blocks)
      if (wanted(c.owner)) ++report_.chunks_checked;
    translate_walker_findings();
    check_lists();
    check_chunks();
    if (!opt_.arena) find_damaged_mmapped();
    check_tops();
    finish();
    return std::move(report_);
  }

 private:
  const glibc::Heap& h_;
  const Target& t_;
  const CheckOptions& opt_;
  const CancelToken& cancel_;
  const glibc::Layout& l_;
  CheckReport report_;
  std::optional<uint64_t> key_;
  std::set<uint64_t> tcache_keys_;  // 2.29..2.33: every tcache's own address
  std::set<uint64_t> blamed_sizes_;  // chunks already reported for a wrong size
  // The walk compared prev_sizes (walked_prev_size): only its exceptions are read.
  const bool prev_sizes_walked_;

  bool wanted(int arena) const { return !opt_.arena || arena == *opt_.arena; }

  void add(std::string kind, Address at, int arena, std::string glibc_message, std::string detail,
           std::string cause) {
    if (opt_.arena && arena != *opt_.arena) return;
    report_.findings.push_back({std::move(kind), at, arena, std::move(glibc_message), std::move(detail),
                                std::move(cause)});
  }

  uint64_t u64(Address a) const { return t_.read_u64(a).value_or(0); }

  const Chunk* before(const Chunk& c) const {
    if (&c == h_.blocks.data()) return nullptr;
    const Chunk* p = &c - 1;
    return (p->end() == c.address && p->owner == c.owner) ? p : nullptr;
  }
  const Chunk* after(const Chunk& c) const {
    const Chunk* n = &c + 1;
    if (n >= h_.blocks.data() + h_.blocks.size()) return nullptr;
    return (n->address == c.end() && n->owner == c.owner) ? n : nullptr;
  }

  // "in use chunk 0x... (size 0x..)" for causes and details.
  std::string describe(const Chunk& c) const {
    return fmt::format("{} chunk {} (size {:#x})", glibc::state_name(glibc::state_of(c)), to_hex(c.address), c.size);
  }

  // Who wrote over a chunk's header: the chunk before it, in use or free.
  std::string header_cause(const Chunk& c) const {
    const Chunk* p = before(c);
    if (!p) return "its header was overwritten";
    // A free_unlisted chunk before is usually an artefact of the same
    // overwrite (its successor's PREV_INUSE went with the size).
    if (p->kind == ChunkState::kInUse || p->kind == ChunkState::kFreeUnlisted)
      return fmt::format("overflow from the chunk before it ({})", describe(*p));
    if (p->kind == ChunkState::kUnknown) return "overflow from corrupted memory before it";
    return fmt::format("write after free past the end of the chunk before it ({})", describe(*p));
  }

  // tcache_key (glibc 2.34+: a random word; 2.29..2.33: the tcache's address)
  // from the symbol, else the value most tcache entries hold as their key.
  void find_tcache_key() {
    // 2.29..2.33 store the owning tcache_perthread_struct's address: one key
    // per thread (tcache_keys_), not one for the process. Before 2.29: no key.
    if (l_.major == 2 && l_.minor < 34) {
      if (l_.minor >= 29)
        for (const auto& t : h_.tcaches) tcache_keys_.insert(t.address.value);
      return;
    }
    if (opt_.tcache_key) {
      key_ = opt_.tcache_key;
      return;
    }
    std::map<uint64_t, int> votes;
    for (const auto& fl : h_.lists) {
      if (fl.kind != ListKind::kTcache) continue;
      for (Address c : fl.chunks)
        if (auto k = t_.read_u64(c + 3 * l_.size_sz); k && *k > 0xffff) ++votes[*k];
    }
    int best = 0;
    for (auto [k, n] : votes)
      if (n > best) best = n, key_ = k;
  }

  // ---------------------------------------------------------------- walker findings

  void translate_walker_findings() {
    for (const auto& f : h_.findings) {
      check_cancel(cancel_);
      const std::string& k = f.kind;
      if (k.starts_with("tcache-") || k.starts_with("fast-") || k.starts_with("bin-") ||
          k == "resync") {
        continue;  // list findings: check_lists has their context
      }
      if (k == "bad-size") {
        bad_size(f);
      } else if (k == "top-size") {
        const glibc::Arena* ar = arena(f.owner);
        const Chunk* top = h_.chunk_at(f.address);
        add("top-size", f.address, f.owner, msg::kTopSize, f.detail,
            top ? header_cause(*top) + " (the top's size was overwritten)" : "the top's size was overwritten");
        if (ar) reported_top_.insert(ar->top.value);
      } else if (k == "double-listed") {
        add("double-free", f.address, f.owner, double_free_message(f.address), f.detail,
            "double free: the chunk was freed twice (or a list pointer was forged to reach it)");
      } else if (k == "free-unlisted") {
        free_unlisted(f);
      } else if (k == "prev-inuse") {
        const Chunk* n = h_.chunk_at(f.address);
        const Chunk* c = n ? before(*n) : nullptr;
        bool unsorted = c && c->kind == ChunkState::kUnsorted;
        add("prev-inuse", c ? c->address : f.address, f.owner, unsorted ? msg::kUnsortedPrevInuse : "",
            f.detail,
            "the next chunk's header was rewritten (overflow from this chunk), or the chunk was reused "
            "while still in a bin (use after free)");
      } else if (k == "walk") {
        add("walk-gap", f.address, f.owner, "", f.detail, "a corrupted size in the chunks before it");
      } else if (k == "mmapped-count") {
        add(k, f.address, -1, "", f.detail, "an mmapped chunk's header was overwritten, or mp_ was");
      } else if (k == "unknown-version") {
        add(k, f.address, -1, "", f.detail, "this glibc is newer or older than the layouts heapscope knows");
      } else {
        add(k, f.address, f.owner, "", f.detail, "corrupted allocator metadata or an incomplete core");
      }
    }
  }

  std::set<uint64_t> reported_top_;

  const glibc::Arena* arena(int i) const {
    return i >= 0 && static_cast<size_t>(i) < h_.arenas.size() ? &h_.arenas[static_cast<size_t>(i)] : nullptr;
  }

  std::string double_free_message(Address chunk) const {
    for (const auto& fl : h_.lists)
      if (std::find(fl.chunks.begin(), fl.chunks.end(), chunk) != fl.chunks.end()) {
        if (fl.kind == ListKind::kTcache) return msg::kTcacheDoubleFree;
        if (fl.kind == ListKind::kFast) return msg::kFastTop;
      }
    return "double free or corruption (!prev)";
  }

  // A size the walker could not follow. When the bytes before the bad spot
  // are too few to be a chunk, the chunk before has the wrong size (an
  // off-by-one NUL byte is the classic); otherwise this chunk's own header was
  // overwritten.
  void bad_size(const Finding& f) {
    const Chunk* u = h_.chunk_at(f.address);
    const Chunk* p = u ? before(*u) : nullptr;
    uint64_t raw = u64(f.address + l_.size_sz);
    uint64_t size = raw & ~uint64_t{7};
    const uint64_t span = u ? u->size : 0;  // to where the walk resumed
    if (p && p->kind != ChunkState::kMetadata && span < l_.min_chunk && span > 0) {
      uint64_t true_size = p->size + span;
      uint64_t p_raw = u64(p->address + l_.size_sz);
      bool nul = (p_raw & 0xff) == 0 && (true_size & ~uint64_t{0xff}) == p->size;
      blamed_sizes_.insert(p->address.value);
      add(nul ? "off-by-one-size" : "size-corrupt", p->address, p->owner, msg::kSizeVsPrevSize,
          fmt::format("chunk {} has size field {:#x} but the chunk chain resumes at {}: its size should be "
                      "{:#x}",
                      to_hex(p->address), p_raw, to_hex(u->end()), true_size),
          nul ? "off-by-one NUL byte written past the end of the chunk before it (the size's low byte is "
                "0x00): " + header_cause(*p)
              : header_cause(*p));
      return;
    }
    // A plausible size that runs into the top chunk: the chunks overlap.
    const glibc::Arena* ar = arena(f.owner);
    if (ar && size >= l_.min_chunk && !(size & (l_.malloc_alignment - 1)) && f.address < ar->top &&
        size <= UINT64_MAX - f.address.value && f.address + size > ar->top &&
        f.address + size <= ar->top + ar->top_size) {
      blamed_sizes_.insert(f.address.value);
      add("overlaps-top", f.address, f.owner, "double free or corruption (!prev)",
          fmt::format("chunk {} has size {:#x}: it runs {:#x} bytes into the top chunk at {}", to_hex(f.address),
                      size, (f.address + size) - ar->top, to_hex(ar->top)),
          u ? header_cause(*u) : "its header was overwritten");
      return;
    }
    std::string message;
    if (size < l_.min_chunk || (size & (l_.malloc_alignment - 1))) {
      message = msg::kInvalidSize;
    } else if (size > UINT64_MAX - f.address.value) {
      message = msg::kInvalidPointer;
    } else {
      message = msg::kFreeOut;
    }
    // malloc meets the unsorted chunk before it first, and checks the size
    // after it (glibc 2.29+): less than CHUNK_HDR_SZ or more than system_mem.
    const glibc::Arena* owner = arena(f.owner);
    if (p && p->kind == ChunkState::kUnsorted && owner && (raw < 2 * l_.size_sz || raw > owner->system_mem))
      message = msg::kUnsortedNextSize;
    std::string detail = fmt::format("chunk {} has size field {:#x}", to_hex(f.address), raw);
    if (u && u->end() != f.address && h_.chunk_at(u->end()))
      detail += fmt::format("; the chunk chain resumes at {} ({:#x} bytes on)", to_hex(u->end()), u->size);
    else
      detail += "; the rest of its heap cannot be parsed";
    blamed_sizes_.insert(f.address.value);
    add("invalid-size", f.address, f.owner, message, detail, u ? header_cause(*u) : "its header was overwritten");
  }

  void free_unlisted(const Finding& f) {
    const Chunk* c = h_.chunk_at(f.address);
    const Chunk* n = c ? after(*c) : nullptr;
    if (!c || !n) {
      add("free-unlisted", f.address, f.owner, "", f.detail, "a header was overwritten");
      return;
    }
    uint64_t prev_size = u64(n->address);
    bool matches = prev_size == c->size;
    std::string detail = fmt::format(
        "chunk {} (size {:#x}) is marked free by the next chunk {} (PREV_INUSE clear, prev_size {:#x}) "
        "but is on no free list",
        to_hex(c->address), c->size, to_hex(n->address), prev_size);
    // Freeing the next chunk merges backward: glibc checks prev_size against
    // the size there, then unlinks the chunk from a list it is not on.
    add("free-unlisted", c->address, c->owner,
        matches ? msg::kDoubleLinked : msg::kSizeVsPrevSizeConsolidating, detail,
        fmt::format("the next chunk's PREV_INUSE bit was cleared: overflow from this chunk into {}'s header",
                    to_hex(n->address)));
  }

  // ---------------------------------------------------------------- lists

  void check_lists() {
    for (const auto& fl : h_.lists) {
      check_cancel(cancel_);
      if (!wanted(fl.arena)) continue;
      for (const auto& f : fl.findings) list_finding(fl, f);
      if (fl.kind == ListKind::kTcache) check_tcache_keys(fl);
      if (fl.kind == ListKind::kLarge) check_large_bin(fl);
    }
  }

  // The chunk header of a list node (tcache entries point at user data).
  Address header(const FreeList& fl, Address node) const {
    return fl.kind == ListKind::kTcache ? node - 2 * l_.size_sz : node;
  }

  std::string list_name(const FreeList& fl) const {
    switch (fl.kind) {
      case ListKind::kTcache: return fmt::format("tcache bin {} (size {:#x})", fl.bin, fl.min_size);
      case ListKind::kFast: return fmt::format("fastbin {} (size {:#x})", fl.bin, fl.min_size);
      case ListKind::kUnsorted: return "the unsorted bin";
      case ListKind::kSmall: return fmt::format("small bin {}", fl.bin);
      case ListKind::kLarge: return fmt::format("large bin {}", fl.bin);
    }
    return "?";
  }

  // Where a pointer that lies outside every chunk start is.
  std::string whereabouts(Address hdr) const {
    if (const Chunk* in = h_.chunk_containing(hdr))
      return fmt::format("inside {}", describe(*in));
    if (!t_.is_mapped(hdr)) return "in unmapped memory";
    return "outside every heap";
  }

  void list_finding(const FreeList& fl, const Finding& f) {
    const std::string& k = f.kind;
    const bool tc = fl.kind == ListKind::kTcache, fast = fl.kind == ListKind::kFast;
    const bool from_head = fl.chunks.empty();
    // Whose link holds the bad pointer (list chunks are headers; finding
    // addresses of tcache lists are entries, i.e. user pointers).
    const Address holder = from_head ? fl.head : fl.chunks.back();
    const std::string where = list_name(fl);
    if (k.ends_with("-unaligned") || k.ends_with("-stray")) {
      const bool unaligned = k.ends_with("-unaligned");
      Address bad = f.address;
      Address bad_hdr = header(fl, bad);
      if (from_head && !unaligned) {
        // free() put it there: a pointer malloc never returned (house of spirit),
        // or the list head itself was overwritten.
        uint64_t size = u64(bad_hdr + l_.size_sz) & ~uint64_t{7};
        bool shaped = size >= fl.min_size && size <= fl.max_size;
        std::string message;
        if (fast && !shaped) message = msg::kFastCorruption;
        add(shaped ? "fake-chunk" : "list-head-corrupt", shaped ? bad_hdr : fl.head, fl.arena, message,
            fmt::format("{} starts with {}, which is not a chunk of any heap ({}; its size field {:#x})", where,
                        to_hex(bad_hdr), whereabouts(bad_hdr), size),
            shaped ? "free() of a pointer that malloc never returned (a fake chunk)"
                   : "the list head in the arena or tcache_perthread_struct was overwritten");
        return;
      }
      std::string message;
      if (unaligned) {
        message = tc ? msg::kTcacheUnaligned : fast ? msg::kFastUnaligned : msg::kDoubleLinked;
      } else if (fast) {
        auto sz = t_.read_u64(bad + l_.size_sz);
        if (sz && ((*sz & ~uint64_t{7}) < fl.min_size || (*sz & ~uint64_t{7}) > fl.max_size))
          message = msg::kFastCorruption;
      } else if (!tc) {
        message = fl.kind == ListKind::kUnsorted ? msg::kUnsortedLinks : msg::kDoubleLinked;
      }
      std::string what = tc ? "next" : "fd";
      std::string kind = tc ? "tcache-next-corrupt" : fast ? "fastbin-fd-corrupt" : "bin-fd-corrupt";
      if (from_head) {
        add("list-head-corrupt", fl.head, fl.arena, message,
            fmt::format("{} starts with {}, which is not {}", where, to_hex(bad),
                        unaligned ? "aligned" : "a chunk"),
            "the list head in the arena or tcache_perthread_struct was overwritten");
        return;
      }
      add(kind, holder, fl.arena, message,
          fmt::format("free chunk {} in {} has {} pointer {} (decoded), which is {} ({})", to_hex(holder),
                      where, what, to_hex(bad), unaligned ? "misaligned" : "not a chunk",
                      unaligned ? "safe-linking would reject it" : whereabouts(bad_hdr)),
          tc ? "write after free of its next pointer (tcache poisoning)"
             : "write after free of its fd pointer");
    } else if (k.ends_with("-cycle")) {
      Address hdr = header(fl, f.address);
      add(tc ? "tcache-double-free" : fast ? "fastbin-double-free" : "bin-cycle", hdr, fl.arena,
          tc ? msg::kTcacheDoubleFree : fast ? msg::kFastTop : msg::kDoubleLinked,
          fmt::format("chunk {} appears twice in {}: the list loops", to_hex(hdr), where),
          tc || fast ? "double free" : "double free, or write after free of an fd pointer");
    } else if (k.ends_with("-size")) {
      Address hdr = header(fl, f.address);
      if (blamed_sizes_.count(hdr.value)) return;
      const Chunk* c = h_.chunk_at(hdr);
      std::string message = fast ? msg::kFastCorruption : fl.kind == ListKind::kUnsorted ? msg::kUnsortedSize : "";
      add("wrong-bin", hdr, fl.arena, message,
          fmt::format("chunk {} of size {:#x} is in {}", to_hex(hdr), c ? c->size : 0, where),
          c ? "its size was overwritten after it was freed: " + header_cause(*c) : "its size was overwritten");
    } else if (k == "tcache-count") {
      uint64_t max = h_.mp.tcache_count ? h_.mp.tcache_count : 7;
      add("tcache-count", f.address, fl.arena, fl.chunks.size() > max ? msg::kTooMany : "", f.detail,
          fl.chunks.size() < fl.expected_count
              ? "a cut or looping list (double free, or a write after free of a next pointer); malloc would "
                "take entries that are not there"
              : "tcache_perthread_struct's counts were overwritten");
    } else if (k == "bin-backlink") {
      bin_link(fl, f);
    } else {
      add(k, f.address, fl.arena, "", f.detail, "corrupted free list");
    }
  }

  // A node whose bk does not lead back to the node before it. Which check
  // of glibc 2.36 meets it first depends on the bin and the node's place.
  void bin_link(const FreeList& fl, const Finding& f) {
    const Address bin = fl.head - 2 * l_.size_sz;
    const bool at_bin = f.address == bin;
    const bool first = !at_bin && !fl.chunks.empty() && fl.chunks.front() == f.address;
    const bool last = !at_bin && u64(bin + 3 * l_.size_sz) == f.address.value;  // the bin's bk
    std::string message = msg::kDoubleLinked, also;
    switch (fl.kind) {
      case ListKind::kUnsorted:
        // malloc takes unsorted chunks from the back (victim->bk->fd must be
        // the victim); free() and malloc's split remainders go in at the front
        // (the first chunk's bk must be the bin).
        message = msg::kUnsortedLinks;
        if (first && !last) {
          message = msg::kFreeUnsorted;
          also = fmt::format("; a malloc that splits a chunk would abort with \"{}\" first", msg::kMallocUnsorted);
        } else if (first) {
          also = fmt::format("; a free() into the unsorted bin would abort with \"{}\" first", msg::kFreeUnsorted);
        }
        break;
      case ListKind::kSmall:
        message = msg::kSmallLinks;  // checked on the bin's last chunk
        break;
      case ListKind::kLarge:
        // Sorting a chunk in before this one checks fwd->bk->fd == fwd.
        if (!at_bin) {
          message = msg::kLargeBk;
          also = fmt::format("; taking it out of the bin would abort with \"{}\"", msg::kDoubleLinked);
        }
        break;
      default: break;
    }
    add("bin-link", f.address, fl.arena, message, f.detail + also,
        at_bin ? "the bin's bk in the arena was overwritten"
               : "write after free of its bk pointer (or an overflow into it)");
  }

  // Nothing of the list is missing: the walk came back to the bin.
  static bool list_complete(const FreeList& fl) {
    return std::none_of(fl.findings.begin(), fl.findings.end(), [](const Finding& f) {
      return f.kind.ends_with("-stray") || f.kind.ends_with("-cycle") || f.kind == "unreadable";
    });
  }

  // What a pointer read from a list node points at, for details.
  std::string pointee(Address p) const {
    if (p.is_null()) return "NULL";
    if (const Chunk* c = h_.chunk_at(p)) return fmt::format("{} ({})", to_hex(p), describe(*c));
    return fmt::format("{} ({})", to_hex(p), whereabouts(p));
  }

  // A large bin is sorted largest first in fd order, and the first chunk of
  // each size is also on the nextsize ring: fd_nextsize leads to the first
  // chunk of the next smaller size (from the smallest back to the largest),
  // bk_nextsize the other way; the bin header is not on the ring. The other
  // chunks of a size have fd_nextsize NULL: free() and malloc clear both
  // links when a large chunk enters the unsorted bin, and unlink_chunk tells
  // the first of a size by fd_nextsize != NULL (glibc 2.26..2.44).
  void check_large_bin(const FreeList& fl) {
    const size_t n = fl.chunks.size();
    if (n == 0) return;
    std::vector<uint64_t> sizes(n);
    for (size_t i = 0; i < n; ++i) {
      const Chunk* c = h_.chunk_at(fl.chunks[i]);
      sizes[i] = c ? c->size : 0;
    }
    bool sorted = true;
    for (size_t i = 1; i < n; ++i) {
      if (sizes[i] <= sizes[i - 1]) continue;
      sorted = false;
      if (blamed_sizes_.count(fl.chunks[i].value) || blamed_sizes_.count(fl.chunks[i - 1].value)) continue;
      add("largebin-order", fl.chunks[i], fl.arena, "",
          fmt::format("large chunk {} (size {:#x}) follows {} (size {:#x}) in {}, which is sorted largest first",
                      to_hex(fl.chunks[i]), sizes[i], to_hex(fl.chunks[i - 1]), sizes[i - 1], list_name(fl)),
          "a size overwritten after the chunk was freed, or a forged fd link: malloc's best fit would take the "
          "wrong chunk");
    }
    // The expected ring is meaningless in an unsorted bin; the order finding says enough.
    if (!sorted) return;
    std::vector<size_t> heads;
    for (size_t i = 0; i < n; ++i)
      if (i == 0 || sizes[i] != sizes[i - 1]) heads.push_back(i);
    const bool complete = list_complete(fl);
    const size_t k = heads.size();
    size_t h = 0;
    for (size_t i = 0; i < n; ++i) {
      if ((i & 0xfff) == 0) check_cancel(cancel_);
      const Address c = fl.chunks[i];
      auto fdn = t_.read_u64(c + 4 * l_.size_sz), bkn = t_.read_u64(c + 5 * l_.size_sz);
      const bool head = h < k && heads[h] == i;
      if (!fdn || !bkn) {
        h += head;
        continue;
      }
      if (!head) {
        if (*fdn != 0)
          add("largebin-nextsize", c, fl.arena, msg::kNotSmall,
              fmt::format("large chunk {} (size {:#x}) is not the first of its size in {} but has fd_nextsize {} "
                          "(only the first chunk of each size is on the nextsize list)",
                          to_hex(c), sizes[i], list_name(fl), pointee(Address(*fdn))),
              "write after free of its fd_nextsize pointer");
        continue;
      }
      // The ring's wrap-around links are only known when the whole bin was read.
      const Address want_fd = fl.chunks[heads[(h + 1) % k]], want_bk = fl.chunks[heads[(h + k - 1) % k]];
      const bool check_fd = *fdn != want_fd.value && (complete || h + 1 < k);
      const bool check_bk = *bkn != want_bk.value && (complete || h > 0);
      ++h;
      if (!check_fd && !check_bk) continue;
      std::string wrong;
      if (check_fd)
        wrong = fmt::format("fd_nextsize {}, not {} (the first chunk of the next smaller size)",
                            pointee(Address(*fdn)), to_hex(want_fd));
      if (check_bk)
        wrong += fmt::format("{}bk_nextsize {}, not {} (the first chunk of the next larger size)",
                             wrong.empty() ? "" : " and ", pointee(Address(*bkn)), to_hex(want_bk));
      add("largebin-nextsize", c, fl.arena, msg::kLargeNextsize,
          fmt::format("large chunk {} (size {:#x}), the first of its size in {}, has {}; taking it out of the bin "
                      "would abort with \"{}\"",
                      to_hex(c), sizes[i], list_name(fl), wrong, msg::kNotSmall),
          check_bk ? "write after free of its bk_nextsize pointer (the largebin attack: sorting a smaller chunk "
                     "into this bin writes that chunk's address through it)"
                   : "write after free of its fd_nextsize pointer");
    }
  }

  // Every tcache entry carries tcache_key; one that does not lost the
  // double-free protection to a write after free.
  void check_tcache_keys(const FreeList& fl) {
    std::optional<uint64_t> want = key_;
    if (!tcache_keys_.empty()) {
      // The tcache whose entries[] array holds this list's head.
      const uint64_t entries_at = l_.tcache_bins * l_.tcache_counts_width;
      for (const auto& t : h_.tcaches)
        if (fl.head >= t.address + entries_at && fl.head - (t.address + entries_at) < 8u * l_.tcache_bins)
          want = t.address.value;
    }
    if (!want) return;
    for (Address c : fl.chunks) {
      auto k = t_.read_u64(c + 3 * l_.size_sz);
      if (!k || *k == *want) continue;
      add("tcache-key", c, fl.arena, "",
          fmt::format("tcache entry {} has key {:#x}, not {} {:#x}", to_hex(c + 2 * l_.size_sz), *k,
                      key_ ? "tcache_key" : "its tcache's address", *want),
          "write after free over the entry's key (the chunk's second word): a second free would go unnoticed");
    }
  }

  // ---------------------------------------------------------------- chunks

  void check_chunks() {
    // Every chunk's words in address order: through one reader.
    WordReader words(t_);
    auto u64 = [&words](Address a) { return words.u64(a).value_or(0); };
    // The walk noted which chunks hold the key when it knew it (the same
    // answer as reading each chunk's second word here).
    const bool holders_known = key_ && h_.tcache_key == key_;
    auto holder = h_.tcache_key_holders.begin();
    const bool key_reads = !holders_known && (key_ || !tcache_keys_.empty());
    // The words a chunk's tests read, loaded kAhead chunks before: those of
    // free chunks and of chunks with PREV_INUSE clear (and every in-use one's
    // key when the walk did not note the holders).
    constexpr size_t kAhead = 16;
    auto prefetch = [&](const Chunk& c) {
      if (c.kind == ChunkState::kMmapped || c.kind == ChunkState::kUnknown || c.kind == ChunkState::kMetadata)
        return;
      if (!prev_sizes_walked_) {
        if (!(c.bits & kPrevInuse)) words.prefetch(c.address);
        if (binned_state(glibc::state_of(c))) words.prefetch(c.end());
      }
      if (key_reads && c.kind == ChunkState::kInUse) words.prefetch(c.address + 3 * l_.size_sz);
    };
    // Most chunks need none of the tests below: handed out (in use, tcache,
    // fast), PREV_INUSE set, aligned, the arena bit their arena wants, and
    // (in use) not a key holder. Told apart first, in a few instructions.
    // want_bits[a]: the bits (P and A) a handed-out chunk of arena a has.
    std::vector<uint8_t> want_bits(h_.arenas.size());
    for (size_t a = 0; a < h_.arenas.size(); ++a) want_bits[a] = kPrevInuse | (h_.arenas[a].main ? 0 : kNonMainArena);
    const uint64_t misaligned = l_.malloc_alignment - 1;
    auto nothing_to_test = [&](const Chunk& c) {
      if (c.kind > ChunkState::kFast || c.owner < 0 || static_cast<size_t>(c.owner) >= want_bits.size()) return false;
      if ((c.bits & (kPrevInuse | kNonMainArena)) != want_bits[static_cast<size_t>(c.owner)]) return false;
      if (glibc::chunk_data(c).value & misaligned) return false;
      if (c.kind != ChunkState::kInUse) return true;
      return !key_reads && (holder == h_.tcache_key_holders.end() || c.address < *holder);
    };
    const size_t count = h_.blocks.size();
    size_t i = 0;
    for (const auto& c : h_.blocks) {
      if (i + kAhead < count) prefetch(h_.blocks[i + kAhead]);
      if ((++i & 0xffff) == 0) check_cancel(cancel_);
      if (nothing_to_test(c) || !wanted(c.owner)) continue;
      if (c.kind == ChunkState::kMmapped) {
        check_mmapped(c);
        continue;
      }
      if (c.kind == ChunkState::kUnknown || c.kind == ChunkState::kMetadata) continue;
      if (!glibc::chunk_data(c).aligned(l_.malloc_alignment))
        add("unaligned-chunk", c.address, c.owner, msg::kInvalidPointer,
            fmt::format("chunk {} is not {}-byte aligned", to_hex(c.address), l_.malloc_alignment),
            "a forged chunk");
      const glibc::Arena* ar = arena(c.owner);
      const bool want_a = ar && !ar->main;
      // glibc sets NON_MAIN_ARENA on what it hands out (and keeps it through
      // tcache and fastbins); binned chunks and the top get plain heads.
      const bool handed_out = c.kind == ChunkState::kInUse || c.kind == ChunkState::kTcache ||
                              c.kind == ChunkState::kFast;
      if (handed_out && ar && ((c.bits & kNonMainArena) != 0) != want_a &&
          !blamed_sizes_.count(c.address.value))
        add("arena-bit", c.address, c.owner, "",
            fmt::format("chunk {} has NON_MAIN_ARENA {} in arena {}", to_hex(c.address),
                        (c.bits & kNonMainArena) ? "set" : "clear", c.owner),
            header_cause(c) + ": free() would hand it to the wrong arena");
      const bool binned = c.kind == ChunkState::kUnsorted || c.kind == ChunkState::kSmall ||
                          c.kind == ChunkState::kLarge;
      const Chunk* n = after(c);
      if (binned && ar && c.size > ar->system_mem)
        add("invalid-size", c.address, c.owner, msg::kUnsortedSize,
            fmt::format("free chunk {} has size {:#x}, more than its arena's system_mem {:#x}", to_hex(c.address),
                        c.size, ar->system_mem),
            header_cause(c));
      if (binned && n && n->kind != ChunkState::kUnknown) {
        const auto walked = walked_prev_size(*n, &c);
        const uint64_t prev_size = walked ? *walked : u64(n->address);
        if (prev_size != c.size)
          add("prev-size-mismatch", c.address, c.owner,
              c.kind == ChunkState::kUnsorted ? msg::kUnsortedPrevSize : msg::kSizeVsPrevSize,
              fmt::format("free chunk {} has size {:#x} but the next chunk {} has prev_size {:#x}",
                          to_hex(c.address), c.size, to_hex(n->address), prev_size),
              "the next chunk's prev_size was overwritten (overflow from this chunk, a write after free), or "
              "this chunk's size was");
      }
      // A clear PREV_INUSE makes prev_size meaningful: it must lead back to
      // the chunk before (free() merges backward by it).
      if (!(c.bits & kPrevInuse) && c.kind != ChunkState::kFreeUnlisted) {
        const Chunk* p = before(c);
        const auto walked = walked_prev_size(c, p);
        const uint64_t prev_size = walked ? *walked : u64(c.address);
        if (p && p->kind != ChunkState::kMetadata && p->kind != ChunkState::kUnknown && prev_size != p->size &&
            !blamed_sizes_.count(c.address.value) && !binned_state(glibc::state_of(*p))) {
          Address merged = c.address - prev_size;
          add("forged-prev-size", c.address, c.owner, msg::kSizeVsPrevSizeConsolidating,
              fmt::format("chunk {} has PREV_INUSE clear and prev_size {:#x}, but the chunk before it is {}; "
                          "freeing it would merge back to {} ({})",
                          to_hex(c.address), prev_size, describe(*p), to_hex(merged),
                          h_.chunk_at(merged) ? "a chunk start" : whereabouts(merged)),
              "prev_size and PREV_INUSE overwritten: " + header_cause(c));
        }
      }
      if (c.kind == ChunkState::kInUse && (key_ || !tcache_keys_.empty()) && c.size >= 4 * l_.size_sz) {
        std::optional<uint64_t> k;
        if (holders_known) {
          while (holder != h_.tcache_key_holders.end() && *holder < c.address) ++holder;
          if (holder != h_.tcache_key_holders.end() && *holder == c.address) k = key_;
        } else {
          k = words.u64(c.address + 3 * l_.size_sz);
        }
        if (k && (key_ ? *k == *key_ : tcache_keys_.count(*k) > 0))
          add("tcache-key-in-use", c.address, c.owner, msg::kTcacheDoubleFree,
              fmt::format("in-use chunk {} holds tcache key {:#x} in its second word", to_hex(c.address), *k),
              "it was freed into a tcache and is no longer on its list: a dangling pointer (double free or "
              "write after free)");
      }
    }
  }

  // c's prev_size as the walk saw it, when c has PREV_INUSE clear and p is
  // the one chunk ending at c: the walk compared the two (prev_size_exceptions).
  std::optional<uint64_t> walked_prev_size(const Chunk& c, const Chunk* p) const {
    if (!prev_sizes_walked_ || (c.bits & kPrevInuse) || c.owner < 0 || !p ||
        p->end() != c.address)
      return std::nullopt;
    if (c.kind == ChunkState::kMetadata || c.kind == ChunkState::kUnknown || c.kind == ChunkState::kMmapped)
      return std::nullopt;  // not a chunk of the walk's own
    const auto& ex = h_.prev_size_exceptions;
    auto it = std::lower_bound(ex.begin(), ex.end(), c.address,
                               [](const glibc::Heap::PrevSize& e, Address a) { return e.chunk < a; });
    if (it != ex.end() && it->chunk == c.address) return it->prev_size;
    return uint64_t{p->size};
  }

  static bool binned_state(ChunkState s) {
    return s == ChunkState::kUnsorted || s == ChunkState::kSmall || s == ChunkState::kLarge;
  }

  // free() of an mmapped chunk: munmap_chunk (glibc 2.36) wants the mapping
  // [p - prev_size, p + size) in whole pages. From 2.43 the size field holds
  // the chunk's own size and the mapping is that rounded up to pages.
  bool sizes_in_pages() const { return l_.major == 2 && l_.minor < 43; }

  void check_mmapped(const Chunk& c) {
    uint64_t prev_size = u64(c.address);
    uint64_t raw = u64(c.address + l_.size_sz);
    uint64_t size = raw & ~uint64_t{7};
    bool ok = (raw & 7) == kIsMmapped && prev_size % kPage == 0 && prev_size <= c.address.value &&
              (c.address.value - prev_size) % kPage == 0 && (!sizes_in_pages() || size % kPage == 0);
    if (!ok)
      add("mmapped-header", c.address, glibc::kMmappedArena, msg::kMunmap,
          fmt::format("mmapped chunk {} has prev_size {:#x} and size field {:#x}: its mapping {} would not be "
                      "whole pages",
                      to_hex(c.address), prev_size, raw, sizes_in_pages() ? "[p - prev_size, p + size)" : "start"),
          "its header was overwritten (an underflow from its own data, or a stray write)");
  }

  // An mmapped chunk whose prev_size or IS_MMAPPED bit was overwritten is
  // not taken for one by the walk, but mp_ still counts it. When mp_ counts
  // more than were found, the anonymous mappings the walk scanned are looked
  // at again for page starts that keep a plausible size but lost the rest.
  void find_damaged_mmapped() {
    uint64_t found = 0;
    for (const auto& c : h_.blocks) found += c.kind == ChunkState::kMmapped;
    if (h_.mp.n_mmaps <= found) return;
    uint64_t missing = h_.mp.n_mmaps - found;
    std::vector<AddressRange> stacks;
    for (const auto& th : t_.threads())
      if (const Region* r = t_.find_region(th.sp)) stacks.push_back(r->range);
    const glibc::Arena* main = arena(0);
    for (const auto& r : t_.regions()) {
      if (!r.writable() || !(r.perms & kPermRead) || !r.path.empty() || !r.readable) continue;
      if (std::find(stacks.begin(), stacks.end(), r.range) != stacks.end() || in_some_heap(r.range.begin)) continue;
      check_cancel(cancel_);
      // Offsets within the region: no address wraps at the top of the space.
      const uint64_t span = r.range.size();
      size_t probes = 0;
      for (uint64_t off = 0; span - off >= kPage && missing > 0; off += kPage) {
        if ((++probes & 0xfff) == 0) check_cancel(cancel_);
        const Address p = r.range.begin + off;
        if (const Chunk* c = h_.chunk_containing(p); c && c->kind == ChunkState::kMmapped) continue;
        auto prev = t_.read_u64(p);
        auto raw = t_.read_u64(p + l_.size_sz);
        if (!prev || !raw) continue;
        const uint64_t size = *raw & ~uint64_t{7}, flags = *raw & 7;
        const uint64_t extent = size > UINT64_MAX - kPage ? 0 : (size + kPage - 1) / kPage * kPage;
        if (size < kPage || size % l_.malloc_alignment || extent == 0 || extent > span - off) continue;
        if (*prev == 0 && flags == kIsMmapped) continue;  // intact (the walk's own test)
        if (*prev != 0 && flags != kIsMmapped) continue;  // two words smashed: too little to go by
        --missing;
        std::string message, what;
        if (flags & kIsMmapped) {
          // munmap_chunk checks the mapping's start and length.
          const bool pages = *prev <= p.value && ((p.value - *prev) | (*prev + size)) % kPage == 0;
          message = pages ? "" : msg::kMunmap;
          what = fmt::format("prev_size {:#x} (0 for a chunk at the start of its mapping)", *prev);
        } else {
          // Without IS_MMAPPED, free() takes it for a chunk of the main arena,
          // one that lies past the arena's top.
          message = main && main->top_size <= UINT64_MAX - main->top.value && p >= main->top + main->top_size
                        ? msg::kFreeOut
                        : "";
          what = fmt::format("size field {:#x} without IS_MMAPPED", *raw);
        }
        add("mmapped-header", p, glibc::kMmappedArena, message,
            fmt::format("mmapped chunk {} (mapping of {:#x} bytes) has {}; the heap walk could not take it for "
                        "one, and mp_ counts {} mmapped chunks where {} were found",
                        to_hex(p), extent, what, h_.mp.n_mmaps, found),
            "its header was overwritten (an underflow from its own data, or a stray write)");
        off += extent - kPage;  // past the rest of its mapping
      }
    }
  }

  bool in_some_heap(Address a) const {
    for (const auto& ar : h_.arenas)
      for (const auto& hs : ar.heaps)
        if (hs.range.contains(a)) return true;
    return false;
  }

  void check_tops() {
    for (const auto& ar : h_.arenas) {
      if (!wanted(ar.index) || reported_top_.count(ar.top.value)) continue;
      uint64_t raw = u64(ar.top + l_.size_sz);
      uint64_t size = raw & ~uint64_t{7};
      if (size > ar.system_mem)
        add("top-size", ar.top, ar.index, msg::kTopSize,
            fmt::format("top chunk {} has size {:#x}, more than the arena's system_mem {:#x}", to_hex(ar.top), size,
                        ar.system_mem),
            "overflow from the chunk before the top (house of force)");
      if (size <= ar.system_mem && !mapped_through(ar.top, size))
        add("top-size", ar.top, ar.index, "",
            fmt::format("top chunk {} has size {:#x}, which runs past the memory mapped there (and the "
                        "arena's system_mem is {:#x})",
                        to_hex(ar.top), size, ar.system_mem),
            "the arena's malloc_state and the top's size were overwritten");
      if (!(raw & kPrevInuse)) {
        const Chunk* top = h_.chunk_at(ar.top);
        const Chunk* p = top ? before(*top) : nullptr;
        if (p && (p->kind == ChunkState::kInUse || p->kind == ChunkState::kTcache ||
                  p->kind == ChunkState::kFast))
          add("prev-inuse", ar.top, ar.index, "",
              fmt::format("top chunk {} has PREV_INUSE clear but the chunk before it is {}", to_hex(ar.top),
                          describe(*p)),
              header_cause(*top));
      }
    }
  }

  // True when [a, a + n) lies in mapped regions without a gap.
  bool mapped_through(Address a, uint64_t n) const {
    if (n > UINT64_MAX - a.value) return false;
    const Address end = a + n;
    while (a < end) {
      const Region* r = t_.find_region(a);
      if (!r) return false;
      a = r->range.end;
    }
    return true;
  }

  void finish() {
    auto& fs = report_.findings;
    std::stable_sort(fs.begin(), fs.end(), [](const CheckFinding& a, const CheckFinding& b) {
      return a.address < b.address;
    });
    fs.erase(std::unique(fs.begin(), fs.end(),
                         [](const CheckFinding& a, const CheckFinding& b) {
                           return a.address == b.address && a.kind == b.kind;
                         }),
             fs.end());
  }
};

}  // namespace

CheckReport check_heap(const glibc::Heap& heap, const Target& target, const CheckOptions& options,
                       const CancelToken& cancel) {
  return Checker(heap, target, options, cancel).run();
}

}  // namespace heapscope
