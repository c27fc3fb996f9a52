// Tests for the ELF core file target, on real cores of target_helper and on
// broken files made from them.
#include "heapscope/core_file.h"
#include "targets/auxv.h"
#include "targets/target_warnings.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <set>

#include "programs/helper_process.h"
#include "targets/elf_image.h"

namespace heapscope {
namespace {

using testing::HelperCore;
using testing::info_u64;

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const char* data, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
}

class CoreFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { core_ = testing::make_helper_core(3).release(); }
  static void TearDownTestSuite() {
    delete core_;
    core_ = nullptr;
  }
  void SetUp() override {
    if (!core_->skip_reason.empty()) GTEST_SKIP() << core_->skip_reason;
    scratch_ = testing::make_temp_dir();
  }
  void TearDown() override { testing::remove_tree(scratch_); }

  std::unique_ptr<Target> open_ok(const std::string& path, CoreFileOptions o = {}) {
    auto t = open_core_file(path, o);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? std::move(*t) : nullptr;
  }
  std::string open_error(const std::string& path) {
    auto t = open_core_file(path);
    if (t.ok()) return "(opened)";
    EXPECT_EQ(t.error().message.find('\n'), std::string::npos);
    return t.error().message;
  }
  std::string write_variant(const std::string& name, const std::vector<char>& bytes) {
    std::string p = scratch_ + "/" + name;
    write_bytes(p, bytes.data(), bytes.size());
    return p;
  }

  static HelperCore* core_;
  std::string scratch_;
};
HelperCore* CoreFileTest::core_ = nullptr;

TEST_F(CoreFileTest, ThreadsPidAndDescription) {
  auto t = open_ok(core_->core);
  ASSERT_TRUE(t);
  int pid = static_cast<int>(info_u64(core_->info, "pid"));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(t->pid(), pid);
  EXPECT_EQ(t->core_path(), core_->core);
  EXPECT_EQ(t->description(), "core file " + core_->core + " (pid " + std::to_string(pid) + ", 3 threads)");
  ASSERT_EQ(t->threads().size(), 3u);
  std::set<int> tids;
  for (const auto& th : t->threads()) {
    tids.insert(th.tid);
    EXPECT_EQ(th.registers.size(), 27u);
    EXPECT_EQ(th.reg("rip"), th.pc.value);
    EXPECT_EQ(th.reg("rsp"), th.sp.value);
    EXPECT_EQ(th.reg("fs_base"), th.thread_pointer.value);
    EXPECT_NE(th.pc.value, 0u);
    EXPECT_NE(th.thread_pointer.value, 0u);
    EXPECT_TRUE(th.stack.contains(th.sp)) << to_hex(th.sp);
    // The thread pointer points at the thread's own TCB, whose first word is itself.
    EXPECT_EQ(t->read_u64(th.thread_pointer), th.thread_pointer.value);
  }
  EXPECT_EQ(tids.size(), 3u);
  EXPECT_TRUE(tids.count(pid));
  EXPECT_TRUE(t->notes().empty()) << t->notes()[0];
}

TEST_F(CoreFileTest, RegionsMatchTheProcessMaps) {
  auto t = open_ok(core_->core);
  ASSERT_TRUE(t);
  const auto& rs = t->regions();
  for (size_t i = 1; i < rs.size(); ++i) EXPECT_LE(rs[i - 1].range.end, rs[i].range.begin);
  auto maps = testing::read_maps(core_->dir + "/maps.txt");
  ASSERT_GT(maps.size(), 10u);
  for (const auto& m : maps) {
    const Region* r = t->find_region(Address(m.begin));
    ASSERT_NE(r, nullptr) << m.perms << " " << m.path << " at " << to_hex(m.begin);
    EXPECT_EQ(r->range.begin.value, m.begin) << m.path;
    EXPECT_EQ(bool(r->perms & kPermRead), m.perms[0] == 'r') << m.path;
    EXPECT_EQ(r->writable(), m.perms[1] == 'w') << m.path;
    EXPECT_EQ(r->executable(), m.perms[2] == 'x') << m.path;
    if (!m.path.empty() && m.path[0] == '/') {
      EXPECT_EQ(r->range.end.value, m.end) << m.path;
      EXPECT_EQ(r->path, m.path);
      EXPECT_EQ(r->file_offset, m.offset) << m.path;
      EXPECT_TRUE(r->readable) << m.path;
    }
  }
}

TEST_F(CoreFileTest, ReadsGlobalsAndHeapBytes) {
  auto t = open_ok(core_->core);
  ASSERT_TRUE(t);
  uint64_t marker = info_u64(core_->info, "marker_addr");
  ASSERT_NE(marker, 0u);
  EXPECT_EQ(t->read_u64(Address(marker)), info_u64(core_->info, "marker_value"));
  uint64_t heap = info_u64(core_->info, "heap_addr");
  uint64_t size = info_u64(core_->info, "heap_size");
  std::vector<std::byte> buf(size);
  ASSERT_EQ(t->read(Address(heap), buf), size);
  size_t bad = 0;
  for (size_t i = 0; i < size; ++i)
    bad += buf[i] != static_cast<std::byte>((i * 7) ^ 0x5a);
  EXPECT_EQ(bad, 0u);
  // view() returns at most what was asked and nothing outside regions.
  EXPECT_EQ(t->view(Address(heap), 16).size(), 16u);
  EXPECT_TRUE(t->view(Address(8), 16).empty());
  EXPECT_TRUE(t->view(Address(UINT64_MAX - 4), 16).empty());
}

// Locates the PT_LOAD for `vaddr` in a core file, for checking what it holds.
std::optional<Elf64_Phdr> core_load_at(const std::vector<char>& core, uint64_t vaddr) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, core.data(), sizeof eh);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr p;
    std::memcpy(&p, core.data() + eh.e_phoff + i * sizeof p, sizeof p);
    if (p.p_type == PT_LOAD && p.p_vaddr == vaddr) return p;
  }
  return std::nullopt;
}

TEST_F(CoreFileTest, FileBackedPagesComeFromTheMappedFile) {
  auto t = open_ok(core_->core);
  ASSERT_TRUE(t);
  const Module* libc = t->find_module("libc.so");
  ASSERT_NE(libc, nullptr);
  // The ELF header page of libc (the core keeps it) reads as ELF.
  char magic[4];
  ASSERT_TRUE(t->read_exact(libc->base, magic, 4));
  EXPECT_EQ(std::memcmp(magic, ELFMAG, 4), 0);

  // libc's code mapping is not in the core (p_filesz 0), yet it reads as the file.
  const Region* text = nullptr;
  for (const auto& r : t->regions())
    if (r.path == libc->path && r.executable()) text = &r;
  ASSERT_NE(text, nullptr);
  auto core_bytes = read_bytes(core_->core);
  auto ph = core_load_at(core_bytes, text->range.begin.value);
  ASSERT_TRUE(ph);
  EXPECT_LT(ph->p_filesz, ph->p_memsz) << "the kernel dumped libc's code; fallback untested";
  auto file = read_bytes(libc->path);
  ASSERT_GT(file.size(), text->file_offset + 8192);
  std::vector<std::byte> got(8192);
  ASSERT_EQ(t->read(text->range.begin, got), got.size());
  EXPECT_EQ(std::memcmp(got.data(), file.data() + text->file_offset, got.size()), 0);
}

TEST_F(CoreFileTest, ModulesWithBuildIdsExecutableFirst) {
  auto t = open_ok(core_->core);
  ASSERT_TRUE(t);
  ASSERT_FALSE(t->modules().empty());
  EXPECT_TRUE(t->modules()[0].path.ends_with("heapscope_target_helper")) << t->modules()[0].path;
  const Module* libc = t->find_module("libc.so");
  ASSERT_NE(libc, nullptr);
  ASSERT_EQ(libc->build_id.size(), 40u);
  // readelf is an independent oracle for the build-id.
  std::string cmd = "readelf -n " + libc->path + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) text += buf;
  pclose(p);
  auto at = text.find("Build ID: ");
  if (at == std::string::npos) GTEST_SKIP() << "readelf not available";
  EXPECT_EQ(text.substr(at + 10, 40), libc->build_id);
  // Each module's ranges are its regions; base is the lowest.
  for (const auto& m : t->modules()) {
    ASSERT_FALSE(m.ranges.empty());
    EXPECT_EQ(m.base, m.ranges.front().begin);
    EXPECT_EQ(m.path.find("locale-archive"), std::string::npos);
  }
  // One range per mapping of the file, as in the process's maps.
  size_t libc_maps = 0;
  for (const auto& m : testing::read_maps(core_->dir + "/maps.txt")) libc_maps += m.path == libc->path;
  EXPECT_EQ(libc->ranges.size(), libc_maps);
}

TEST_F(CoreFileTest, MissingMappedFilesMakeUnreadableRegionsAndANote) {
  CoreFileOptions o;
  o.sysroot = scratch_;  // nothing there: every mapped file is "missing"
  auto t = open_ok(core_->core, o);
  ASSERT_TRUE(t);
  const Module* libc = t->find_module("libc.so");
  ASSERT_NE(libc, nullptr);
  const Region* text = nullptr;
  for (const auto& r : t->regions())
    if (r.path == libc->path && r.executable()) text = &r;
  ASSERT_NE(text, nullptr);
  EXPECT_FALSE(text->readable);
  EXPECT_TRUE(t->view(text->range.begin, 8).empty());
  bool noted = false;
  for (const auto& n : t->notes())
    noted |= n == "note: " + libc->path + " is not on this machine; its unmodified pages cannot be read";
  EXPECT_TRUE(noted);
  // Dumped memory is still there.
  EXPECT_EQ(t->read_u64(Address(info_u64(core_->info, "marker_addr"))),
            info_u64(core_->info, "marker_value"));
  // The build-id still comes from the ELF header page kept in the core.
  EXPECT_EQ(libc->build_id.size(), 40u);
}

TEST_F(CoreFileTest, AnotherBuildOfAMappedFileIsNotUsed) {
  auto t0 = open_ok(core_->core);
  ASSERT_TRUE(t0);
  const Module* libc = t0->find_module("libc.so");
  const Module* libm = t0->find_module("libm.so");
  ASSERT_TRUE(libc && libm);
  // A sysroot where "libc" is really libm: same kind of file, another build-id.
  std::string dir = scratch_ + libc->path.substr(0, libc->path.rfind('/'));
  ASSERT_EQ(std::system(("mkdir -p " + dir + " && cp " + libm->path + " " + scratch_ + libc->path).c_str()), 0);
  CoreFileOptions o;
  o.sysroot = scratch_;
  auto t = open_ok(core_->core, o);
  ASSERT_TRUE(t);
  const Region* text = nullptr;
  for (const auto& r : t->regions())
    if (r.path == libc->path && r.executable()) text = &r;
  ASSERT_NE(text, nullptr);
  EXPECT_FALSE(text->readable);
  bool noted = false;
  for (const auto& n : t->notes())
    noted |= n.starts_with("note: " + libc->path + " on this machine is not the file the process mapped");
  EXPECT_TRUE(noted);
  EXPECT_EQ(t->find_module("libc.so")->build_id, libc->build_id);  // from the core's header page
}

// Hostile headers: random bytes flipped in the ELF header, program headers
// and notes must give an error or a usable target, never a crash.
TEST_F(CoreFileTest, CorruptedHeadersNeverCrash) {
  auto core = read_bytes(core_->core);
  Elf64_Ehdr eh;
  std::memcpy(&eh, core.data(), sizeof eh);
  uint64_t notes_end = 0;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr p;
    std::memcpy(&p, core.data() + eh.e_phoff + i * sizeof p, sizeof p);
    if (p.p_type == PT_NOTE) notes_end = std::max(notes_end, p.p_offset + p.p_filesz);
  }
  ASSERT_LE(notes_end, core.size());
  std::string path = write_variant("fuzz", core);
  std::mt19937_64 rng(12345);
  int opened = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<char> head(core.begin(), core.begin() + static_cast<long>(notes_end));
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Mostly the ELF and program headers, where every byte matters.
      uint64_t limit = (rng() % 2) ? eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr) : notes_end;
      head[rng() % limit] = static_cast<char>(rng() % 4 == 0 ? 0xff : rng());
    }
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.write(head.data(), static_cast<std::streamsize>(head.size()));
    }
    auto t = open_core_file(path);
    if (!t.ok()) {
      EXPECT_EQ(t.error().message.find('\n'), std::string::npos);
      continue;
    }
    ++opened;
    const Target& tg = **t;
    for (const auto& r : tg.regions()) {
      uint64_t x = 0;
      tg.read_exact(r.range.begin, &x, sizeof x);
      if (r.range.size() >= 8) tg.read_exact(r.range.end - 8, &x, sizeof x);
    }
    for (const auto& th : tg.threads()) tg.read_u64(th.sp);
    (void)tg.description();
  }
  EXPECT_GT(opened, 0);
}

TEST_F(CoreFileTest, BrokenFilesAreOneLineErrors) {
  auto core = read_bytes(core_->core);
  ASSERT_GT(core.size(), 4096u);
  EXPECT_EQ(open_error(write_variant("empty", {})), scratch_ + "/empty: empty file");
  EXPECT_EQ(open_error(write_variant("text", {'h', 'e', 'l', 'l', 'o', '\n'})),
            scratch_ + "/text: not an ELF file");
  auto exec = core;
  reinterpret_cast<Elf64_Ehdr*>(exec.data())->e_type = ET_EXEC;
  EXPECT_EQ(open_error(write_variant("exec", exec)), scratch_ + "/exec: not a core file (ELF type EXEC)");
  EXPECT_EQ(open_error(HEAPSCOPE_TARGET_HELPER),
            std::string(HEAPSCOPE_TARGET_HELPER) + ": not a core file (ELF type DYN)");
  auto riscv = core;
  reinterpret_cast<Elf64_Ehdr*>(riscv.data())->e_machine = EM_RISCV;
  EXPECT_EQ(open_error(write_variant("riscv", riscv)),
            scratch_ + "/riscv: unsupported architecture: ELF machine 243 (RISC-V)");
  EXPECT_NE(open_error(scratch_).find("is a directory"), std::string::npos);
  EXPECT_NE(open_error(scratch_ + "/nosuch").find("No such file or directory"), std::string::npos);
  if (geteuid() != 0) {
    std::string p = write_variant("secret", core);
    chmod(p.c_str(), 0);
    EXPECT_NE(open_error(p).find("Permission denied"), std::string::npos);
  }
}

// EM_AARCH64 cores open. The x86-64 core relabelled as aarch64 keeps its
// memory; its NT_PRSTATUS notes are too short for aarch64's 34 registers
// (struct user_pt_regs: x0..x30, sp, pc, pstate), so it has no threads.
TEST_F(CoreFileTest, AArch64CoresOpen) {
  auto arm = read_bytes(core_->core);
  reinterpret_cast<Elf64_Ehdr*>(arm.data())->e_machine = EM_AARCH64;
  auto t = open_ok(write_variant("arm", arm));
  auto x86 = open_ok(core_->core);
  ASSERT_TRUE(t && x86);
  EXPECT_EQ(t->arch(), Arch::kAArch64);
  EXPECT_EQ(x86->arch(), Arch::kX86_64);
  EXPECT_TRUE(t->threads().empty());
  ASSERT_EQ(t->regions().size(), x86->regions().size());
  for (size_t i = 0; i < t->regions().size(); ++i) EXPECT_EQ(t->regions()[i].range, x86->regions()[i].range);
}

TEST_F(CoreFileTest, TruncatedHeadersFailTruncatedDataOpens) {
  auto core = read_bytes(core_->core);
  Elf64_Ehdr eh;
  std::memcpy(&eh, core.data(), sizeof eh);
  uint64_t ph_end = eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr);
  uint64_t notes_end = 0, first_load = UINT64_MAX;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr p;
    std::memcpy(&p, core.data() + eh.e_phoff + i * sizeof p, sizeof p);
    if (p.p_type == PT_NOTE) notes_end = std::max(notes_end, p.p_offset + p.p_filesz);
    if (p.p_type == PT_LOAD && p.p_filesz) first_load = std::min(first_load, p.p_offset);
  }
  ASSERT_GT(notes_end, ph_end);
  for (uint64_t cut : {uint64_t{12}, uint64_t{40}, ph_end - 1, notes_end - 100}) {
    std::vector<char> part(core.begin(), core.begin() + static_cast<long>(cut));
    std::string err = open_error(write_variant("cut", part));
    EXPECT_NE(err.find("truncated core"), std::string::npos) << "cut at " << cut << ": " << err;
  }
  // Cut halfway through the memory: it opens, with what is left readable.
  uint64_t heap = info_u64(core_->info, "heap_addr");
  uint64_t marker = info_u64(core_->info, "marker_addr");
  size_t cut = (first_load + core.size()) / 2;
  std::vector<char> part(core.begin(), core.begin() + static_cast<long>(cut));
  auto t = open_ok(write_variant("half", part));
  ASSERT_TRUE(t);
  auto warnings = targets::target_warnings(*t);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(warnings[0].starts_with("the core is truncated: ")) << warnings[0];
  size_t unreadable = 0;
  for (const auto& r : t->regions()) unreadable += !r.readable;
  EXPECT_GT(unreadable, 0u);
  // The last dumped region is gone; the threads survived (they are notes).
  EXPECT_EQ(t->threads().size(), 3u);
  const Region* last = nullptr;
  for (const auto& r : t->regions())
    if (!r.readable) last = &r;
  ASSERT_NE(last, nullptr);
  EXPECT_TRUE(t->view(last->range.begin, 8).empty());
  (void)heap;
  (void)marker;
}

// Deliberately inconsistent headers: each is one clear line, never a crash,
// and never a result built on the bad numbers.
TEST_F(CoreFileTest, InconsistentHeadersAreOneLineErrors) {
  auto core = read_bytes(core_->core);
  auto with_header = [&](const char* name, auto edit) {
    auto v = core;
    edit(*reinterpret_cast<Elf64_Ehdr*>(v.data()));
    return open_error(write_variant(name, v));
  };
  auto one_line = [](const std::string& e) { return !e.empty() && e.find('\n') == std::string::npos; };
  std::string e32 = with_header("elf32", [](Elf64_Ehdr& h) { h.e_ident[EI_CLASS] = ELFCLASS32; });
  EXPECT_EQ(e32, scratch_ + "/elf32: unsupported architecture: 32-bit ELF");
  std::string ebe = with_header("be", [](Elf64_Ehdr& h) { h.e_ident[EI_DATA] = ELFDATA2MSB; });
  EXPECT_EQ(ebe, scratch_ + "/be: unsupported architecture: big-endian ELF");
  std::string nophdr = with_header("nophdr", [](Elf64_Ehdr& h) { h.e_phnum = 0; });
  EXPECT_NE(nophdr.find("no program headers"), std::string::npos) << nophdr;
  std::string entsize = with_header("entsize", [](Elf64_Ehdr& h) { h.e_phentsize = 12; });
  EXPECT_NE(entsize.find("program header size 12"), std::string::npos) << entsize;
  std::string far = with_header("far", [](Elf64_Ehdr& h) { h.e_phoff = UINT64_MAX - 8; });
  EXPECT_NE(far.find("truncated core"), std::string::npos) << far;
  const uint64_t size = core.size();
  std::string many = with_header("many", [&](Elf64_Ehdr& h) { h.e_phoff = size - 2 * sizeof(Elf64_Phdr); });
  EXPECT_NE(many.find("truncated core"), std::string::npos) << many;
  for (const auto& e : {e32, ebe, nophdr, entsize, far, many}) EXPECT_TRUE(one_line(e)) << e;
  // A note segment claiming more bytes than the file has.
  auto notes = core;
  const auto& eh = *reinterpret_cast<const Elf64_Ehdr*>(notes.data());
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto* p = reinterpret_cast<Elf64_Phdr*>(notes.data() + eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (p->p_type == PT_NOTE) p->p_filesz = UINT64_MAX - p->p_offset + 1;
  }
  std::string nerr = open_error(write_variant("notes", notes));
  EXPECT_NE(nerr.find("truncated core (notes end at overflow"), std::string::npos) << nerr;
  // Loads that overlap each other or lie past the end of the file open: the
  // overlap is clipped and the missing bytes are unreadable.
  auto loads = core;
  const auto& eh2 = *reinterpret_cast<const Elf64_Ehdr*>(loads.data());
  uint64_t first_vaddr = 0;
  for (unsigned i = 0; i < eh2.e_phnum; ++i) {
    auto* p = reinterpret_cast<Elf64_Phdr*>(loads.data() + eh2.e_phoff + i * sizeof(Elf64_Phdr));
    if (p->p_type != PT_LOAD) continue;
    if (!first_vaddr) {
      first_vaddr = p->p_vaddr;
      p->p_offset = UINT64_MAX - 16;  // data past the end of the file
    } else {
      p->p_vaddr = first_vaddr;  // every later load on top of the first
    }
  }
  auto t = open_ok(write_variant("loads", loads));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->view(Address(first_vaddr), 8).empty());
  for (size_t i = 1; i < t->regions().size(); ++i)
    EXPECT_LE(t->regions()[i - 1].range.end, t->regions()[i].range.begin);
}

// A core's notes bound what they can make us hold: 70,000 NT_PRSTATUS notes
// give at most 65,536 threads (a process with the default vm.max_map_count
// cannot have more), and an NT_AUXV of 100,000 entries at most 4096.
TEST_F(CoreFileTest, NotesCannotMakeUsHoldWithoutBound) {
  auto core = read_bytes(core_->core);
  Elf64_Ehdr eh;
  std::memcpy(&eh, core.data(), sizeof eh);
  auto note = [](std::vector<char>& out, uint32_t type, size_t descsz) {
    Elf64_Nhdr nh{5, static_cast<Elf64_Word>(descsz), type};
    out.insert(out.end(), reinterpret_cast<char*>(&nh), reinterpret_cast<char*>(&nh) + sizeof nh);
    const char name[8] = "CORE";
    out.insert(out.end(), name, name + 8);
    size_t at = out.size();
    out.resize(at + ((descsz + 3) & ~size_t{3}));
    return at;
  };
  std::vector<char> notes;
  for (int i = 0; i < 70000; ++i) {
    size_t at = note(notes, NT_PRSTATUS, 336);
    int32_t tid = 100000 + i;
    std::memcpy(notes.data() + at + 32, &tid, sizeof tid);
  }
  size_t auxv = note(notes, NT_AUXV, 100000 * 16);
  for (size_t k = 0; k < 100000; ++k) notes[auxv + k * 16] = 3;  // AT_PHDR, never AT_NULL
  // The notes, then the old program headers plus one PT_NOTE for them, at the end.
  uint64_t notes_off = core.size();
  core.insert(core.end(), notes.begin(), notes.end());
  core.resize((core.size() + 7) & ~size_t{7});
  uint64_t table = core.size();
  core.insert(core.end(), core.begin() + static_cast<long>(eh.e_phoff),
              core.begin() + static_cast<long>(eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr)));
  Elf64_Phdr ph{};
  ph.p_type = PT_NOTE;
  ph.p_offset = notes_off;
  ph.p_filesz = notes.size();
  core.insert(core.end(), reinterpret_cast<char*>(&ph), reinterpret_cast<char*>(&ph) + sizeof ph);
  eh.e_phoff = table;
  eh.e_phnum += 1;
  std::memcpy(core.data(), &eh, sizeof eh);

  auto t = open_ok(write_variant("many-notes", core));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->threads().size(), 65536u);
  EXPECT_EQ(targets::target_auxv(*t).size(), 4096u);
  bool said = false;
  for (const auto& n : t->notes()) said |= n.find("threads (NT_PRSTATUS) of the core were ignored") != std::string::npos;
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace heapscope
