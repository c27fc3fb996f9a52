// heap check: glibc's own consistency checks, applied ahead of time to every
// chunk and list of the walked heap. The walker already met many anomalies on
// its way (glibc::Finding); here each is named the way glibc 2.36 would name
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
}  // namespace msg

class Checker {
 public:
  Checker(const glibc::Heap& h, const Target& t, const CheckOptions& o, const CancelToken& c)
      : h_(h), t_(t), opt_(o), cancel_(c), l_(*h.layout) {}

  CheckReport run() {
    find_tcache_key();
    report_.tcache_key = key_;
    for (const auto& c : h_.chunks)
      if (wanted(c.arena)) ++report_.chunks_checked;
    translate_walker_findings();
    check_lists();
    check_chunks();
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
  std::set<uint64_t> blamed_sizes_;  // chunks already reported for a wrong size

  bool wanted(int arena) const { return !opt_.arena || arena == *opt_.arena; }

  void add(std::string kind, Address at, int arena, std::string glibc_message, std::string detail,
           std::string cause) {
    if (opt_.arena && arena != *opt_.arena) return;
    report_.findings.push_back({std::move(kind), at, arena, std::move(glibc_message), std::move(detail),
                                std::move(cause)});
  }

  uint64_t u64(Address a) const { return t_.read_u64(a).value_or(0); }

  const Chunk* before(const Chunk& c) const {
    if (&c == h_.chunks.data()) return nullptr;
    const Chunk* p = &c - 1;
    return (p->end() == c.address && p->arena == c.arena) ? p : nullptr;
  }
  const Chunk* after(const Chunk& c) const {
    const Chunk* n = &c + 1;
    if (n >= h_.chunks.data() + h_.chunks.size()) return nullptr;
    return (n->address == c.end() && n->arena == c.arena) ? n : nullptr;
  }

  // "in use chunk 0x... (size 0x..)" for causes and details.
  std::string describe(const Chunk& c) const {
    return fmt::format("{} chunk {} (size {:#x})", glibc::state_name(c.state), to_hex(c.address), c.size);
  }

  // Who wrote over a chunk's header: the chunk before it, in use or free.
  std::string header_cause(const Chunk& c) const {
    const Chunk* p = before(c);
    if (!p) return "its header was overwritten";
    // A free_unlisted chunk before is usually an artefact of the same
    // overwrite (its successor's PREV_INUSE went with the size).
    if (p->state == ChunkState::kInUse || p->state == ChunkState::kFreeUnlisted)
      return fmt::format("overflow from the chunk before it ({})", describe(*p));
    if (p->state == ChunkState::kUnknown) return "overflow from corrupted memory before it";
    return fmt::format("write after free past the end of the chunk before it ({})", describe(*p));
  }

  // tcache_key (glibc 2.34+: a random word; 2.29..2.33: the tcache's address)
  // from the symbol, else the value most tcache entries hold as their key.
  void find_tcache_key() {
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
        const glibc::Arena* ar = arena(f.arena);
        const Chunk* top = h_.chunk_at(f.address);
        add("top-size", f.address, f.arena, msg::kTopSize, f.detail,
            top ? header_cause(*top) + " (the top's size was overwritten)" : "the top's size was overwritten");
        if (ar) reported_top_.insert(ar->top.value);
      } else if (k == "double-listed") {
        add("double-free", f.address, f.arena, double_free_message(f.address), f.detail,
            "double free: the chunk was freed twice (or a list pointer was forged to reach it)");
      } else if (k == "free-unlisted") {
        free_unlisted(f);
      } else if (k == "prev-inuse") {
        const Chunk* n = h_.chunk_at(f.address);
        const Chunk* c = n ? before(*n) : nullptr;
        bool unsorted = c && c->state == ChunkState::kUnsorted;
        add("prev-inuse", c ? c->address : f.address, f.arena, unsorted ? msg::kUnsortedPrevInuse : "",
            f.detail,
            "the next chunk's header was rewritten (overflow from this chunk), or the chunk was reused "
            "while still in a bin (use after free)");
      } else if (k == "walk") {
        add("walk-gap", f.address, f.arena, "", f.detail, "a corrupted size in the chunks before it");
      } else if (k == "mmapped-count") {
        add(k, f.address, -1, "", f.detail, "an mmapped chunk's header was overwritten, or mp_ was");
      } else if (k == "unknown-version") {
        add(k, f.address, -1, "", f.detail, "this glibc is newer or older than the layouts heapscope knows");
      } else {
        add(k, f.address, f.arena, "", f.detail, "corrupted allocator metadata or an incomplete core");
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
  void bad_size(const glibc::Finding& f) {
    const Chunk* u = h_.chunk_at(f.address);
    const Chunk* p = u ? before(*u) : nullptr;
    uint64_t raw = u64(f.address + l_.size_sz);
    uint64_t size = raw & ~uint64_t{7};
    const uint64_t span = u ? u->size : 0;  // to where the walk resumed
    if (p && p->state != ChunkState::kMetadata && span < l_.min_chunk && span > 0) {
      uint64_t true_size = p->size + span;
      uint64_t p_raw = u64(p->address + l_.size_sz);
      bool nul = (p_raw & 0xff) == 0 && (true_size & ~uint64_t{0xff}) == p->size;
      blamed_sizes_.insert(p->address.value);
      add(nul ? "off-by-one-size" : "size-corrupt", p->address, p->arena, msg::kSizeVsPrevSize,
          fmt::format("chunk {} has size field {:#x} but the chunk chain resumes at {}: its size should be "
                      "{:#x}",
                      to_hex(p->address), p_raw, to_hex(u->end()), true_size),
          nul ? "off-by-one NUL byte written past the end of the chunk before it (the size's low byte is "
                "0x00): " + header_cause(*p)
              : header_cause(*p));
      return;
    }
    // A plausible size that runs into the top chunk: the chunks overlap.
    const glibc::Arena* ar = arena(f.arena);
    if (ar && size >= l_.min_chunk && !(size & (l_.malloc_alignment - 1)) && f.address < ar->top &&
        size <= UINT64_MAX - f.address.value && f.address + size > ar->top &&
        f.address + size <= ar->top + ar->top_size) {
      blamed_sizes_.insert(f.address.value);
      add("overlaps-top", f.address, f.arena, "double free or corruption (!prev)",
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
    std::string detail = fmt::format("chunk {} has size field {:#x}", to_hex(f.address), raw);
    if (u && u->end() != f.address && h_.chunk_at(u->end()))
      detail += fmt::format("; the chunk chain resumes at {} ({:#x} bytes on)", to_hex(u->end()), u->size);
    else
      detail += "; the rest of its heap cannot be parsed";
    blamed_sizes_.insert(f.address.value);
    add("invalid-size", f.address, f.arena, message, detail, u ? header_cause(*u) : "its header was overwritten");
  }

  void free_unlisted(const glibc::Finding& f) {
    const Chunk* c = h_.chunk_at(f.address);
    const Chunk* n = c ? after(*c) : nullptr;
    if (!c || !n) {
      add("free-unlisted", f.address, f.arena, "", f.detail, "a header was overwritten");
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
    add("free-unlisted", c->address, c->arena,
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

  void list_finding(const FreeList& fl, const glibc::Finding& f) {
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
      std::string message = fl.kind == ListKind::kUnsorted ? msg::kUnsortedLinks
                            : fl.kind == ListKind::kSmall  ? msg::kSmallLinks
                                                           : msg::kDoubleLinked;
      add("bin-link", f.address, fl.arena, message, f.detail,
          f.address == fl.head - 2 * l_.size_sz ? "the bin's bk in the arena was overwritten"
                                                : "write after free of its bk pointer (or an overflow into it)");
    } else {
      add(k, f.address, fl.arena, "", f.detail, "corrupted free list");
    }
  }

  // Every tcache entry carries tcache_key; one that does not lost the
  // double-free protection to a write after free.
  void check_tcache_keys(const FreeList& fl) {
    if (!key_) return;
    // 2.29..2.33: the key is the address of the tcache holding the entry,
    // so each thread's entries carry their own.
    std::optional<uint64_t> own;
    for (const auto& t : h_.tcaches)
      if (fl.head >= t.address && fl.head < t.address + l_.tcache_struct_size) own = t.address.value;
    for (Address c : fl.chunks) {
      auto k = t_.read_u64(c + 3 * l_.size_sz);
      if (!k || *k == *key_ || (own && *k == *own)) continue;
      add("tcache-key", c, fl.arena, "",
          fmt::format("tcache entry {} has key {:#x}, not tcache_key {:#x}", to_hex(c + 2 * l_.size_sz), *k, *key_),
          "write after free over the entry's key (the chunk's second word): a second free would go unnoticed");
    }
  }

  // ---------------------------------------------------------------- chunks

  void check_chunks() {
    size_t i = 0;
    for (const auto& c : h_.chunks) {
      if ((++i & 0xffff) == 0) check_cancel(cancel_);
      if (!wanted(c.arena)) continue;
      if (c.state == ChunkState::kMmapped) {
        check_mmapped(c);
        continue;
      }
      if (c.state == ChunkState::kUnknown || c.state == ChunkState::kMetadata) continue;
      if (!c.data().aligned(l_.malloc_alignment))
        add("unaligned-chunk", c.address, c.arena, msg::kInvalidPointer,
            fmt::format("chunk {} is not {}-byte aligned", to_hex(c.address), l_.malloc_alignment),
            "a forged chunk");
      const glibc::Arena* ar = arena(c.arena);
      const bool want_a = ar && !ar->main;
      // glibc sets NON_MAIN_ARENA on what it hands out (and keeps it through
      // tcache and fastbins); binned chunks and the top get plain heads.
      const bool handed_out = c.state == ChunkState::kInUse || c.state == ChunkState::kTcache ||
                              c.state == ChunkState::kFast;
      if (handed_out && ar && ((c.flags & kNonMainArena) != 0) != want_a &&
          !blamed_sizes_.count(c.address.value))
        add("arena-bit", c.address, c.arena, "",
            fmt::format("chunk {} has NON_MAIN_ARENA {} in arena {}", to_hex(c.address),
                        (c.flags & kNonMainArena) ? "set" : "clear", c.arena),
            header_cause(c) + ": free() would hand it to the wrong arena");
      const bool binned = c.state == ChunkState::kUnsorted || c.state == ChunkState::kSmall ||
                          c.state == ChunkState::kLarge;
      const Chunk* n = after(c);
      if (binned && ar && c.size > ar->system_mem)
        add("invalid-size", c.address, c.arena, msg::kUnsortedSize,
            fmt::format("free chunk {} has size {:#x}, more than its arena's system_mem {:#x}", to_hex(c.address),
                        c.size, ar->system_mem),
            header_cause(c));
      if (binned && n && n->state != ChunkState::kUnknown) {
        uint64_t prev_size = u64(n->address);
        if (prev_size != c.size)
          add("prev-size-mismatch", c.address, c.arena,
              c.state == ChunkState::kUnsorted ? msg::kUnsortedPrevSize : msg::kSizeVsPrevSize,
              fmt::format("free chunk {} has size {:#x} but the next chunk {} has prev_size {:#x}",
                          to_hex(c.address), c.size, to_hex(n->address), prev_size),
              "the next chunk's prev_size was overwritten (overflow from this chunk, a write after free), or "
              "this chunk's size was");
      }
      // A clear PREV_INUSE makes prev_size meaningful: it must lead back to
      // the chunk before (free() merges backward by it).
      if (!(c.flags & kPrevInuse) && c.state != ChunkState::kFreeUnlisted) {
        const Chunk* p = before(c);
        uint64_t prev_size = u64(c.address);
        if (p && p->state != ChunkState::kMetadata && p->state != ChunkState::kUnknown && prev_size != p->size &&
            !blamed_sizes_.count(c.address.value) && !binned_state(p->state)) {
          Address merged = c.address - prev_size;
          add("forged-prev-size", c.address, c.arena, msg::kSizeVsPrevSizeConsolidating,
              fmt::format("chunk {} has PREV_INUSE clear and prev_size {:#x}, but the chunk before it is {}; "
                          "freeing it would merge back to {} ({})",
                          to_hex(c.address), prev_size, describe(*p), to_hex(merged),
                          h_.chunk_at(merged) ? "a chunk start" : whereabouts(merged)),
              "prev_size and PREV_INUSE overwritten: " + header_cause(c));
        }
      }
      if (c.state == ChunkState::kInUse && key_ && c.size >= 4 * l_.size_sz) {
        auto k = t_.read_u64(c.address + 3 * l_.size_sz);
        if (k && *k == *key_)
          add("tcache-key-in-use", c.address, c.arena, msg::kTcacheDoubleFree,
              fmt::format("in-use chunk {} holds tcache_key {:#x} in its second word", to_hex(c.address), *key_),
              "it was freed into a tcache and is no longer on its list: a dangling pointer (double free or "
              "write after free)");
      }
    }
  }

  static bool binned_state(ChunkState s) {
    return s == ChunkState::kUnsorted || s == ChunkState::kSmall || s == ChunkState::kLarge;
  }

  void check_mmapped(const Chunk& c) {
    uint64_t prev_size = u64(c.address);
    uint64_t raw = u64(c.address + l_.size_sz);
    bool ok = (raw & 7) == kIsMmapped && c.size % kPage == 0 && prev_size % kPage == 0 &&
              (c.address.value - prev_size) % kPage == 0;
    if (!ok)
      add("mmapped-header", c.address, glibc::kMmappedArena, msg::kMunmap,
          fmt::format("mmapped chunk {} has prev_size {:#x} and size field {:#x}", to_hex(c.address), prev_size,
                      raw),
          "its header was overwritten");
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
        if (p && (p->state == ChunkState::kInUse || p->state == ChunkState::kTcache ||
                  p->state == ChunkState::kFast))
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
