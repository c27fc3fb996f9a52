// CoreFile: an ELF64 core dump as a Target. The core is mmapped; PT_LOAD
// segments become regions, NT_PRSTATUS notes threads, NT_FILE mapped files
// (modules, and the source of file-backed pages the kernel left out of the
// core), NT_AUXV the auxiliary vector, NT_ARM_TLS aarch64 thread pointers.
// A core without NT_FILE (qemu-user's) gets its file mappings from the
// dynamic linker's link_map in memory instead (targets/link_map.h).
// view() serves bytes straight out of the mappings: a sorted list of pieces,
// searched with a one-entry cache.
#include "heapscope/core_file.h"

#include <elf.h>
#include <unistd.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "heapscope/concurrent_reads.h"
#include "targets/arch_regs.h"
#include "targets/auxv.h"
#include "targets/checked.h"
#include "targets/compressed_core.h"
#include "targets/dump_layout.h"
#include "targets/elf_image.h"
#include "targets/link_map.h"
#include "targets/mapped_file.h"
#include "targets/modules.h"
#include "targets/page_size.h"
#include "targets/target_warnings.h"
#include "util/memory_hints.h"
#include "util/mapping_path.h"

namespace heapscope {

namespace {

using namespace targets;

// struct elf_prstatus / elf_prpsinfo offsets (64-bit Linux, all arches).
constexpr uint64_t kPrstatusPid = 32;
constexpr uint64_t kPrstatusRegs = 112;
constexpr uint64_t kPrpsinfoPid = 24;
constexpr uint64_t kMaxNoteSegment = uint64_t{1} << 30;
// What a core's notes may make us hold. The kernel writes one NT_FILE entry
// per file mapping and one PT_LOAD per mapping, and a process has at most
// vm.max_map_count (65530 by default) mappings, so at most half as many
// threads (a stack and its guard each); gdb's gcore may leave PT_LOADs out,
// so the bound on entries and threads is the larger of the two. A path is
// at most PATH_MAX, all paths together at most kMaxFilePathBytes, and the
// auxiliary vector (about 30 entries on Linux) at most kMaxAuxvEntries.
constexpr uint64_t kMinNoteEntryBound = 65536;
constexpr size_t kMaxFilePath = 4096;
constexpr uint64_t kMaxFilePathBytes = uint64_t{32} << 20;
constexpr uint64_t kMaxAuxvEntries = 4096;
// Notes on mapped files not read: the first few name the files, one more says there are more.
constexpr size_t kMaxMissingFileNotes = 16;

// A run of target addresses whose bytes live at `data` in our address space.
struct Piece {
  uint64_t begin;
  uint64_t end;
  const std::byte* data;
};

struct FileMapping {
  uint64_t start, end, offset;
  std::string path;
};

struct LoadSegment {
  uint64_t vaddr, memsz, offset, filesz;
  uint32_t flags;
};

std::string type_name(uint16_t t) {
  switch (t) {
    case ET_NONE: return "NONE";
    case ET_REL: return "REL";
    case ET_EXEC: return "EXEC";
    case ET_DYN: return "DYN";
    default: return std::to_string(t);
  }
}

// ConcurrentReads: the pieces are immutable mappings, last_ is atomic.
class CoreFile final : public Target, public HasAuxv, public HasWarnings, public HasDumpLayout,
                       public ConcurrentReads {
 public:
  std::span<const std::byte> view(Address addr, uint64_t max_size) const override {
    const uint64_t a = addr.value;
    size_t i = last_.load(std::memory_order_relaxed);
    if (i >= pieces_.size() || a < pieces_[i].begin || a >= pieces_[i].end) {
      auto it = std::upper_bound(pieces_.begin(), pieces_.end(), a,
                                 [](uint64_t x, const Piece& p) { return x < p.begin; });
      if (it == pieces_.begin()) return {};
      --it;
      if (a >= it->end) return {};
      i = static_cast<size_t>(it - pieces_.begin());
      last_.store(i, std::memory_order_relaxed);
    }
    const Piece& p = pieces_[i];
    uint64_t n = std::min(max_size, p.end - a);
    return {p.data + (a - p.begin), n};
  }

  void will_read(AddressRange range) const override {
    for_each_piece(range, [](const Piece&, const std::byte* p, uint64_t n) { util::populate_for_read(p, n); });
  }

  // Only pages of the files we mapped read-only (the core, mapped ELF
  // files) are dropped: never zero-filled or copied buffers.
  void done_reading(AddressRange range) const override {
    for_each_piece(range, [this](const Piece& piece, const std::byte* p, uint64_t n) {
      if (is_file_page(piece.data)) util::release_file_pages(p, n);
    });
  }

  const std::vector<Region>& regions() const override { return regions_; }
  const std::vector<Thread>& threads() const override { return threads_; }
  const std::vector<Module>& modules() const override { return modules_; }
  Arch arch() const override { return arch_; }
  std::optional<int> pid() const override { return pid_; }
  std::string description() const override {
    return fmt::format("core file {} (pid {}, {} thread{})", path_, pid_ ? std::to_string(*pid_) : "?",
                       threads_.size(), threads_.size() == 1 ? "" : "s");
  }
  std::vector<std::string> notes() const override { return notes_; }
  std::vector<std::string> warnings() const override { return warnings_; }
  std::optional<std::string> core_path() const override { return path_; }
  const std::vector<AuxvEntry>& auxv() const override { return auxv_; }
  Result<DumpLayout> dump_layout() const override {
    DumpLayout layout;
    layout.segments = dumped_;
    if (compressed_)
      layout.why_not = "the core was compressed: its holes were not kept";
    else
      find_data_extents(path_, layout);
    return layout;
  }

  static Result<std::unique_ptr<Target>> open(const std::string& path, const CoreFileOptions& opt);

 private:
  Error fail(const std::string& what) const { return Error{path_ + ": " + what}; }
  std::optional<Error> parse_notes(std::span<const std::byte> seg, const ArchRegs& arch);
  void parse_file_note(std::span<const std::byte> desc);
  void note_unread_file(std::string note);
  void add_load(const LoadSegment& seg);
  void lay_out(std::vector<LoadSegment> loads);
  void mappings_from_link_map(const std::vector<LoadSegment>& loads, uint16_t machine);
  void find_header_build_ids(const std::vector<LoadSegment>& loads);
  const MappedFile* mapped(const std::string& path);
  // f(piece, bytes, length) for the part of each piece inside range.
  template <typename F>
  void for_each_piece(AddressRange range, F&& f) const {
    auto it = std::upper_bound(pieces_.begin(), pieces_.end(), range.begin.value,
                               [](uint64_t x, const Piece& p) { return x < p.begin; });
    if (it != pieces_.begin()) --it;
    for (; it != pieces_.end() && it->begin < range.end.value; ++it) {
      uint64_t b = std::max(it->begin, range.begin.value), e = std::min(it->end, range.end.value);
      if (b < e) f(*it, it->data + (b - it->begin), e - b);
    }
  }
  bool is_file_page(const std::byte* p) const {
    auto in = [p](std::span<const std::byte> b) { return !b.empty() && p >= b.data() && p < b.data() + b.size(); };
    if (in(core_.bytes())) return true;
    for (const auto& [path, f] : files_)
      if (f && in(f->bytes())) return true;
    return false;
  }

  std::string path_;
  std::string sysroot_;
  MappedFile core_;
  std::map<std::string, std::unique_ptr<MappedFile>> files_;  // null: missing on this machine
  std::map<uint64_t, FileMapping> file_mappings_;              // NT_FILE, by start
  std::map<std::string, std::string> header_build_ids_;        // from ELF header pages in the core
  std::map<std::string, std::span<const std::byte>> header_pages_;  // first page of each file, if kept
  bool compressed_ = false;
  std::vector<DumpedSegment> dumped_;  // the PT_LOADs as add_load placed them
  std::vector<Piece> pieces_;
  mutable std::atomic<size_t> last_{0};
  std::vector<Region> regions_;
  std::vector<Thread> threads_;
  std::vector<Module> modules_;
  std::vector<AuxvEntry> auxv_;
  std::vector<std::string> notes_;
  std::vector<std::string> warnings_;
  size_t missing_files_ = 0;
  uint64_t note_entry_bound_ = kMinNoteEntryBound;
  uint64_t file_path_bytes_ = 0;
  uint64_t dropped_file_entries_ = 0;
  uint64_t dropped_threads_ = 0;
  std::optional<int> pid_;
  Arch arch_ = Arch::kX86_64;
  // A core cut short: bytes its PT_LOADs promise that the file lacks.
  uint64_t segment_bytes_ = 0;
  uint64_t truncated_bytes_ = 0;
  uint64_t first_missing_ = UINT64_MAX;
};

const MappedFile* CoreFile::mapped(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second.get();
  MappingEvidence evidence;
  if (auto id = header_build_ids_.find(path); id != header_build_ids_.end()) evidence.build_id = id->second;
  if (auto page = header_pages_.find(path); page != header_pages_.end()) evidence.first_page = page->second;
  std::unique_ptr<MappedFile> f;
  if (auto r = open_file_a_core_maps(sysroot_, path, evidence))
    f = std::make_unique<MappedFile>(std::move(*r));
  else if (!r.error().message.empty())
    note_unread_file(r.error().message);
  return files_.emplace(path, std::move(f)).first->second.get();
}

void CoreFile::note_unread_file(std::string note) {
  if (++missing_files_ <= kMaxMissingFileNotes)
    notes_.push_back(std::move(note));
  else if (missing_files_ == kMaxMissingFileNotes + 1)
    notes_.push_back("note: more mapped files are not read either");
}

// NT_FILE: count, page size, count x {start, end, page offset}, then the
// paths. Entries past the bounds above are dropped (and said so once, after
// all notes).
void CoreFile::parse_file_note(std::span<const std::byte> desc) {
  auto count = load<uint64_t>(desc, 0);
  auto page = load<uint64_t>(desc, 8);
  if (!count || !page) return;
  auto table = checked_mul(*count, 24);
  if (!table || !in_bounds(desc.size(), 16, *table)) return;
  uint64_t str = 16 + *table;
  for (uint64_t k = 0; k < *count && str < desc.size(); ++k) {
    const char* s = reinterpret_cast<const char*>(desc.data() + str);
    size_t len = strnlen(s, desc.size() - str);
    str += len + 1;
    FileMapping m;
    m.start = *load<uint64_t>(desc, 16 + k * 24);
    m.end = *load<uint64_t>(desc, 16 + k * 24 + 8);
    m.offset = checked_mul(*load<uint64_t>(desc, 16 + k * 24 + 16), *page).value_or(0);
    if (m.end <= m.start) continue;
    if (file_mappings_.size() >= note_entry_bound_ || len > kMaxFilePath ||
        file_path_bytes_ + len > kMaxFilePathBytes) {
      ++dropped_file_entries_;
      continue;
    }
    file_path_bytes_ += len;
    m.path.assign(s, len);
    file_mappings_[m.start] = std::move(m);
  }
}

std::optional<Error> CoreFile::parse_notes(std::span<const std::byte> seg, const ArchRegs& arch) {
  uint64_t off = 0;
  while (off < seg.size()) {
    auto nh = load<Elf64_Nhdr>(seg, off);
    if (!nh) return fail(fmt::format("truncated core (note header cut at offset {:#x})", off));
    uint64_t name_off = off + sizeof(Elf64_Nhdr);
    auto desc_off = checked_add(name_off, align_up(nh->n_namesz, 4));
    auto next = desc_off ? checked_add(*desc_off, align_up(nh->n_descsz, 4)) : std::nullopt;
    if (!next || !in_bounds(seg.size(), *desc_off, nh->n_descsz))
      return fail(fmt::format("truncated core (note of type {} runs past its segment)", nh->n_type));
    auto name = subspan(seg, name_off, nh->n_namesz);
    auto desc = seg.subspan(*desc_off, nh->n_descsz);
    bool core_name = nh->n_namesz >= 4 && std::memcmp(name.data(), "CORE", 4) == 0;
    bool linux_name = nh->n_namesz >= 5 && std::memcmp(name.data(), "LINUX", 5) == 0;
    // The thread's tpidr_el0; it follows that thread's NT_PRSTATUS.
    if (linux_name && nh->n_type == NT_ARM_TLS && arch.arch == Arch::kAArch64 && !threads_.empty()) {
      if (auto tp = load<uint64_t>(desc, 0)) {
        threads_.back().thread_pointer = Address(*tp);
        threads_.back().registers.push_back({"tpidr_el0", *tp});
      }
    }
    if (core_name) {
      switch (nh->n_type) {
        case NT_PRSTATUS: {
          auto tid = load<int32_t>(desc, kPrstatusPid);
          size_t nregs = arch.regs.size();
          if (tid && threads_.size() >= note_entry_bound_) {
            ++dropped_threads_;
          } else if (tid && desc.size() >= kPrstatusRegs + nregs * 8) {
            std::vector<uint64_t> vals(nregs);
            std::memcpy(vals.data(), desc.data() + kPrstatusRegs, nregs * 8);
            threads_.push_back(make_thread(*tid, arch, vals.data(), nregs));
            if (!pid_) pid_ = *tid;
          }
          break;
        }
        case NT_PRPSINFO:
          if (auto p = load<int32_t>(desc, kPrpsinfoPid)) pid_ = *p;
          break;
        case NT_AUXV:
          auxv_ = parse_auxv(desc.data(), std::min<uint64_t>(desc.size(), kMaxAuxvEntries * 16));
          break;
        case NT_FILE:
          parse_file_note(desc);
          break;
        default:
          break;
      }
    }
    off = *next;
  }
  return std::nullopt;
}

// The kernel keeps the first page of each mapped ELF file in the core
// (coredump_filter bit 4); its build-id note says which file the process had.
void CoreFile::find_header_build_ids(const std::vector<LoadSegment>& loads) {
  for (const auto& seg : loads) {
    auto fm = file_mappings_.find(seg.vaddr);
    if (fm == file_mappings_.end() || fm->second.offset != 0 || seg.filesz == 0) continue;
    auto page = subspan(core_.bytes(), seg.offset, std::min(seg.filesz, seg.memsz));
    if (page.empty()) continue;
    header_pages_.emplace(fm->second.path, page.first(std::min<size_t>(page.size(), 4096)));
    std::string id = read_build_id(span_reader(page), ImageLayout::kMemory);
    if (!id.empty()) header_build_ids_.emplace(fm->second.path, id);
  }
}

void CoreFile::add_load(const LoadSegment& seg) {
  const uint64_t begin = seg.vaddr;
  const uint64_t end = begin + seg.memsz;  // checked by the caller
  Region proto;
  proto.perms = static_cast<uint8_t>(((seg.flags & PF_R) ? kPermRead : 0) |
                                     ((seg.flags & PF_W) ? kPermWrite : 0) |
                                     ((seg.flags & PF_X) ? kPermExec : 0));
  // The NT_FILE mapping this segment lies in, and where in the file it starts.
  const FileMapping* fm = nullptr;
  uint64_t fm_offset = 0;
  if (auto it = file_mappings_.upper_bound(begin); it != file_mappings_.begin()) {
    --it;
    if (begin >= it->second.start && begin < it->second.end) {
      fm = &it->second;
      fm_offset = checked_add(fm->offset, begin - fm->start).value_or(UINT64_MAX);
      proto.path = fm->path;
      proto.file_offset = fm_offset;
    }
  }

  // Bytes in the core: [begin, begin + in_core); what the headers promise
  // beyond the end of the file is missing (a truncated core).
  uint64_t filesz = std::min(seg.filesz, seg.memsz);
  uint64_t in_core = 0;
  if (seg.offset < core_.size()) in_core = std::min<uint64_t>(filesz, core_.size() - seg.offset);
  segment_bytes_ += filesz;
  dumped_.push_back({begin, seg.memsz, seg.offset, in_core});
  if (in_core < filesz) {
    truncated_bytes_ += filesz - in_core;
    first_missing_ = std::min(first_missing_, begin + in_core);
  }

  // Sub-runs of the segment, each readable or not.
  struct Run {
    uint64_t b, e;
    const std::byte* data;
  };
  std::vector<Run> runs;
  if (in_core) runs.push_back({begin, begin + in_core, core_.bytes().data() + seg.offset});
  if (in_core < filesz) runs.push_back({begin + in_core, begin + filesz, nullptr});
  if (filesz < seg.memsz) {
    // Pages the kernel did not dump. For a file mapping they are the file's
    // own (unmodified) pages; past the file's end they would fault.
    uint64_t b = begin + filesz;
    const MappedFile* f = fm ? mapped(fm->path) : nullptr;
    if (f) {
      uint64_t foff = checked_add(fm_offset, filesz).value_or(UINT64_MAX);
      uint64_t avail = foff < f->size() ? std::min<uint64_t>(end - b, f->size() - foff) : 0;
      if (avail) runs.push_back({b, b + avail, f->bytes().data() + foff});
      b += avail;
    }
    if (b < end) runs.push_back({b, end, nullptr});
  }

  for (const Run& r : runs) {
    if (r.data) pieces_.push_back({r.b, r.e, r.data});
    bool readable = r.data != nullptr;
    // Neighbouring runs of the same readability stay one region.
    if (!regions_.empty() && regions_.back().range.end.value == r.b &&
        regions_.back().readable == readable && regions_.back().range.begin.value >= begin) {
      regions_.back().range.end = Address(r.e);
      continue;
    }
    Region reg = proto;
    reg.range = {Address(r.b), Address(r.e)};
    reg.readable = readable;
    if (fm) reg.file_offset = fm_offset + (r.b - begin);
    regions_.push_back(std::move(reg));
  }
}

void CoreFile::lay_out(std::vector<LoadSegment> loads) {
  pieces_.clear();
  regions_.clear();
  segment_bytes_ = 0;
  truncated_bytes_ = 0;
  first_missing_ = UINT64_MAX;
  last_.store(0, std::memory_order_relaxed);
  // gdb's gcore writes no PT_LOAD at all for file mappings it did not dump
  // (read-only text and data); the kernel writes one with p_filesz 0. Give
  // such mappings a segment too, so their bytes come from the file on disk.
  {
    std::vector<std::pair<uint64_t, uint64_t>> covered;
    for (const auto& l : loads) covered.push_back({l.vaddr, l.vaddr + l.memsz});
    std::sort(covered.begin(), covered.end());
    for (const auto& [start, fm] : file_mappings_) {
      uint64_t b = fm.start;
      for (const auto& [cb, ce] : covered) {
        if (ce <= b) continue;
        if (cb >= fm.end) break;
        if (cb > b) loads.push_back({b, cb - b, 0, 0, PF_R});
        b = std::max(b, ce);
        if (b >= fm.end) break;
      }
      if (b < fm.end) loads.push_back({b, fm.end - b, 0, 0, PF_R});
    }
  }

  // Sorted, non-overlapping: a hostile core may overlap segments; later
  // ones are clipped to start where the previous one ended.
  std::stable_sort(loads.begin(), loads.end(),
                   [](const LoadSegment& a, const LoadSegment& b) { return a.vaddr < b.vaddr; });
  find_header_build_ids(loads);
  uint64_t prev_end = 0;
  for (auto seg : loads) {
    if (seg.vaddr < prev_end) {
      uint64_t cut = prev_end - seg.vaddr;
      if (cut >= seg.memsz) continue;
      seg.vaddr += cut;
      seg.memsz -= cut;
      seg.offset = checked_add(seg.offset, cut).value_or(UINT64_MAX);
      seg.filesz = seg.filesz > cut ? seg.filesz - cut : 0;
    }
    add_load(seg);
    prev_end = seg.vaddr + seg.memsz;
  }
}

// No NT_FILE: the same mappings from the dynamic linker's list of loaded
// objects, each object's PT_LOAD segments placed at its load bias (what the
// kernel and ld.so mapped from the file). The executable's own link_map entry
// has no name: its path comes from AT_EXECFN, relative to the core's
// directory when relative (qemu-user writes the core in the process's cwd),
// and is accepted only when its entry point and program headers land where
// AT_ENTRY and AT_PHDR say. A library is accepted when its dynamic section
// lands at l_ld. Then the segments are laid out again with these mappings.
void CoreFile::mappings_from_link_map(const std::vector<LoadSegment>& loads, uint16_t machine) {
  const uint64_t page = page_size(*this);
  // Build-ids of the files on disk that open_elf read. Once a file is placed
  // where the dynamic linker's list says (its dynamic section at l_ld, or
  // the entry point and program headers at AT_ENTRY and AT_PHDR), that
  // check stands for the ELF header page these cores lack (qemu dumps none):
  // the file may lend its pages (open_file_a_core_maps).
  std::map<std::string, std::string> disk_ids;
  auto pages_of = [&](const std::string& name, const std::vector<Elf64_Phdr>& phdrs, uint64_t bias) {
    if (auto id = disk_ids.find(name); id != disk_ids.end() && !id->second.empty())
      header_build_ids_.emplace(name, id->second);
    for (const auto& p : phdrs) {
      if (p.p_type != PT_LOAD || p.p_filesz == 0) continue;
      auto b = checked_add(bias, p.p_vaddr & ~(page - 1));
      auto e = checked_add(p.p_vaddr, p.p_filesz);
      auto e2 = e ? checked_add(bias, align_up(*e, page)) : std::nullopt;
      if (!b || !e2 || *e2 <= *b) continue;
      file_mappings_[*b] = FileMapping{*b, *e2, p.p_offset & ~(page - 1), name};
    }
  };
  auto open_elf = [&](const std::string& path, uint64_t* entry) -> std::vector<Elf64_Phdr> {
    if (util::is_unopenable_mapping_path(path)) return {};
    auto f = MappedFile::open(sysroot_ + path);
    if (!f) return {};
    uint16_t m = 0;
    auto phdrs = elf_file_phdrs(f->bytes(), &m, entry);
    if (m != machine) return {};
    disk_ids[path] = read_build_id(span_reader(f->bytes()), ImageLayout::kFile);
    return phdrs;
  };

  // The executable.
  std::string exe;
  std::vector<Elf64_Phdr> exe_phdrs;
  std::optional<uint64_t> exe_bias;
  auto execfn = auxv_value(*this, AT_EXECFN);
  auto at_entry = auxv_value(*this, AT_ENTRY);
  auto at_phdr = auxv_value(*this, AT_PHDR);
  if (execfn && at_entry && at_phdr) {
    char buf[4096];
    size_t n = read(Address(*execfn), {reinterpret_cast<std::byte*>(buf), sizeof buf});
    std::string name(buf, strnlen(buf, n));
    if (!name.empty() && name.size() < n) {
      if (name[0] != '/') {
        auto slash = path_.rfind('/');
        std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
        name = dir + "/" + (name.starts_with("./") ? name.substr(2) : name);
      }
      uint64_t entry = 0;
      auto phdrs = open_elf(name, &entry);
      uint64_t bias = *at_entry - entry;
      bool phdr_ok = true;
      for (const auto& p : phdrs)
        if (p.p_type == PT_PHDR) phdr_ok = bias + p.p_vaddr == *at_phdr;
      if (!phdrs.empty() && phdr_ok) {
        exe = name;
        exe_phdrs = std::move(phdrs);
        exe_bias = bias;
      }
    }
  }

  auto r_debug = find_r_debug(*this, auxv_, exe_phdrs);
  if (r_debug) {
    for (const auto& o : walk_link_map(*this, *r_debug)) {
      if (o.name.empty()) continue;  // the executable, or the vdso
      if (o.name[0] != '/') continue;  // linux-vdso.so.1: no file
      auto phdrs = open_elf(o.name, nullptr);
      if (phdrs.empty()) {
        note_unread_file(
            fmt::format("note: {} is not on this machine; its unmodified pages cannot be read", o.name));
        continue;
      }
      bool dyn_ok = true;
      for (const auto& p : phdrs)
        if (p.p_type == PT_DYNAMIC && o.l_ld) dyn_ok = o.l_addr + p.p_vaddr == o.l_ld;
      if (!dyn_ok) {
        notes_.push_back(fmt::format(
            "note: {} on this machine is not the file the process mapped (its dynamic section would be at "
            "{:#x}, the dynamic linker has {:#x}); its unmodified pages cannot be read",
            o.name, o.l_addr, o.l_ld));
        continue;
      }
      pages_of(o.name, phdrs, o.l_addr);
    }
  }
  if (exe_bias) pages_of(exe, exe_phdrs, *exe_bias);
  if (file_mappings_.empty()) {
    notes_.push_back(
        "note: the core has no list of mapped files (NT_FILE) and the dynamic linker's list of loaded "
        "objects was not found in it; code and read-only data of the program and its libraries cannot be "
        "read");
    return;
  }
  lay_out(loads);
}

// The core's bytes: the file itself, or, when it is compressed (told by its
// magic bytes), its decompressed copy in an unlinked file.
Result<MappedFile> map_core(const std::string& path, bool& was_compressed) {
  auto file = util::open_regular_file(path);
  if (!file) return file.error();
  std::byte head[8] = {};
  ssize_t n = pread(file->fd.get(), head, sizeof head, 0);
  Compression kind = detect_compression({head, n > 0 ? static_cast<size_t>(n) : 0});
  was_compressed = kind != Compression::kNone;
  if (kind == Compression::kNone) return MappedFile::map(*file, path);
  auto compressed = MappedFile::map(*file, path);
  if (!compressed) return compressed.error();
  auto plain = decompress_core(compressed->bytes(), kind, path, default_decompress_limits());
  if (!plain) return plain.error();
  return MappedFile::map(*plain, path);
}

Result<std::unique_ptr<Target>> CoreFile::open(const std::string& path, const CoreFileOptions& opt) {
  auto core = std::make_unique<CoreFile>();
  core->path_ = path;
  core->sysroot_ = opt.sysroot;
  auto mf = map_core(path, core->compressed_);
  if (!mf) return mf.error();
  core->core_ = std::move(*mf);
  auto bytes = core->core_.bytes();

  if (bytes.size() < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    return core->fail("not an ELF file");
  if (bytes.size() < EI_NIDENT) return core->fail("truncated core (ELF identification cut)");
  auto cls = static_cast<unsigned char>(bytes[EI_CLASS]);
  auto data = static_cast<unsigned char>(bytes[EI_DATA]);
  if (cls != ELFCLASS64)
    return core->fail(cls == ELFCLASS32 ? "unsupported architecture: 32-bit ELF"
                                        : fmt::format("not a valid ELF file (class {})", cls));
  if (data != ELFDATA2LSB) return core->fail("unsupported architecture: big-endian ELF");
  auto eh = load<Elf64_Ehdr>(bytes, 0);
  if (!eh) return core->fail(fmt::format("truncated core (ELF header cut at {} bytes)", bytes.size()));
  if (eh->e_type != ET_CORE) return core->fail("not a core file (ELF type " + type_name(eh->e_type) + ")");
  const ArchRegs* arch = arch_for_machine(eh->e_machine);
  if (!arch)
    return core->fail(fmt::format("unsupported architecture: ELF machine {} ({})", eh->e_machine,
                                  elf_machine_name(eh->e_machine)));
  core->arch_ = arch->arch;

  // Program headers. More than 65534 of them: the count is in section 0.
  uint64_t phnum = eh->e_phnum;
  if (phnum == PN_XNUM) {
    auto sh = load<Elf64_Shdr>(bytes, eh->e_shoff);
    if (!sh) return core->fail("truncated core (section header 0 is past the end of the file)");
    phnum = sh->sh_info;
  }
  if (phnum == 0) return core->fail("not a valid core file (no program headers)");
  if (eh->e_phentsize != sizeof(Elf64_Phdr))
    return core->fail(fmt::format("not a valid core file (program header size {})", eh->e_phentsize));
  auto ph_bytes = checked_mul(phnum, sizeof(Elf64_Phdr));
  auto ph_end = ph_bytes ? checked_add(eh->e_phoff, *ph_bytes) : std::nullopt;
  if (!ph_end || *ph_end > bytes.size())
    return core->fail(fmt::format("truncated core (program headers end at {}, file is {} bytes)",
                                  ph_end ? std::to_string(*ph_end) : "overflow", bytes.size()));

  std::vector<LoadSegment> loads;
  std::vector<std::span<const std::byte>> note_segs;
  for (uint64_t i = 0; i < phnum; ++i) {
    auto p = *load<Elf64_Phdr>(bytes, eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (p.p_type == PT_NOTE) {
      auto end = checked_add(p.p_offset, p.p_filesz);
      if (!end || *end > bytes.size() || p.p_filesz > kMaxNoteSegment)
        return core->fail(fmt::format("truncated core (notes end at {}, file is {} bytes)",
                                      end ? std::to_string(*end) : "overflow", bytes.size()));
      note_segs.push_back(bytes.subspan(p.p_offset, p.p_filesz));
    } else if (p.p_type == PT_LOAD && p.p_memsz) {
      uint64_t memsz = p.p_memsz;
      if (!checked_add(p.p_vaddr, memsz)) memsz = UINT64_MAX - p.p_vaddr;  // clip at the top
      loads.push_back({p.p_vaddr, memsz, p.p_offset, p.p_filesz, p.p_flags});
    }
  }
  core->note_entry_bound_ = std::max<uint64_t>(kMinNoteEntryBound, loads.size());
  for (auto seg : note_segs)
    if (auto err = core->parse_notes(seg, *arch)) return *err;
  if (core->dropped_file_entries_)
    core->notes_.push_back(fmt::format(
        "note: {} mapped-file entries (NT_FILE) of the core were ignored: more than {} entries, a path "
        "longer than {} bytes, or more than {} bytes of paths",
        core->dropped_file_entries_, core->note_entry_bound_, kMaxFilePath, kMaxFilePathBytes));
  if (core->dropped_threads_)
    core->notes_.push_back(fmt::format("note: {} threads (NT_PRSTATUS) of the core were ignored: more than {}",
                                       core->dropped_threads_, core->note_entry_bound_));

  core->lay_out(loads);
  if (core->file_mappings_.empty()) core->mappings_from_link_map(loads, eh->e_machine);
  if (core->truncated_bytes_)
    core->warnings_.push_back(fmt::format(
        "the core is truncated: {} of {} bytes of its segments are missing (first missing at {:#x})",
        core->truncated_bytes_, core->segment_bytes_, core->first_missing_));

  for (auto& t : core->threads_) t.stack = stack_range_for(*core, t.sp);
  core->modules_ = build_modules(*core, core->regions_, core->sysroot_, auxv_value(*core, AT_ENTRY));
  return std::unique_ptr<Target>(std::move(core));
}

}  // namespace

Result<std::unique_ptr<Target>> open_core_file(const std::string& path, const CoreFileOptions& options) {
  // What a hostile core makes us allocate is bounded, but the bounds may
  // still exceed what this machine has: one line, as in commands.
  try {
    return CoreFile::open(path, options);
  } catch (const std::bad_alloc&) {
    return Error{path + ": out of memory while opening the core"};
  }
}

}  // namespace heapscope
