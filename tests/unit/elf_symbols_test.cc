// Tests for the libdwfl symbol resolver against gdb's own answers on a live
// child and on a core, and against addresses the helper printed itself.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <dlfcn.h>

#include <regex>

#include "heapscope/buffer_target.h"
#include "heapscope/core_file.h"
#include "heapscope/live_process.h"
#include "heapscope/symbols.h"
#include "programs/helper_process.h"

namespace heapscope {
namespace {

using testing::info_u64;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool have_gdb() { return run("command -v gdb").find("gdb") != std::string::npos; }

// The addresses gdb prints for `p &SYM` for each symbol, in order (0 when
// gdb printed none).
std::vector<uint64_t> gdb_addresses(const std::string& args, const std::vector<std::string>& syms) {
  std::string cmd = "gdb -batch -nx " + args;
  for (const auto& s : syms) cmd += " -ex 'p &" + s + "'";
  std::string out = run(cmd + " 2>/dev/null");
  std::vector<uint64_t> r;
  std::regex re(R"(\$\d+ = \([^)]*\) (0x[0-9a-f]+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it)
    r.push_back(std::strtoull((*it)[1].str().c_str(), nullptr, 16));
  r.resize(syms.size());
  return r;
}

bool libc_debuginfo_installed(const Target& t) {
  const Module* libc = t.find_module("libc.so");
  if (!libc || libc->build_id.size() < 3) return false;
  struct stat st;
  std::string p = "/usr/lib/debug/.build-id/" + libc->build_id.substr(0, 2) + "/" +
                  libc->build_id.substr(2) + ".debug";
  return stat(p.c_str(), &st) == 0;
}

// Checks that hold for any target of target_helper.
void check_helper_symbols(const Target& t, const testing::Info& info) {
  auto syms = make_elf_symbols(t, {});
  // Addresses the process printed itself.
  EXPECT_EQ(syms->find("", "g_marker"), Address(info_u64(info, "marker_addr")));
  EXPECT_EQ(syms->find("libc.so", "malloc"), Address(info_u64(info, "malloc_addr")));
  EXPECT_EQ(syms->find("libc.so", "no_such_symbol_here"), std::nullopt);
  EXPECT_EQ(syms->find("no_such_module", "malloc"), std::nullopt);

  auto f = syms->at(Address(info_u64(info, "function_addr")));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "helper_function");
  EXPECT_EQ(f->offset, 0u);
  EXPECT_EQ(f->module, "heapscope_target_helper");
  EXPECT_TRUE(f->file.ends_with("target_helper.cc")) << f->file;
  EXPECT_GT(f->line, 0);
  auto inside = syms->at(Address(info_u64(info, "function_addr") + 3));
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->name, "helper_function");
  EXPECT_EQ(inside->offset, 3u);
  EXPECT_EQ(format_symbol(*inside), "helper_function+0x3");

  auto vt = syms->at(Address(info_u64(info, "vtable_ptr")));
  ASSERT_TRUE(vt);
  EXPECT_EQ(vt->name, "vtable for HelperSquare");
  EXPECT_EQ(vt->offset, 16u);  // the vptr points past offset-to-top and typeinfo

  auto m = syms->at(Address(info_u64(info, "malloc_addr")));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->module, "libc.so.6");
  EXPECT_EQ(syms->at(Address(16)), std::nullopt);

  // Without debug files: only libc's own tables, and it has no .symtab.
  auto own = make_elf_symbols(t, {.use_debuginfo = false});
  EXPECT_EQ(own->find("libc.so", "main_arena"), std::nullopt);
  EXPECT_EQ(own->find("libc.so", "malloc"), Address(info_u64(info, "malloc_addr")));
  EXPECT_FALSE(own->has_full_symbols("libc.so"));
  EXPECT_TRUE(own->has_full_symbols("heapscope_target_helper"));  // not stripped
}

TEST(ElfSymbols, LiveProcessMatchesGdb) {
  auto child = testing::start_helper_child(2);
  ASSERT_FALSE(child->info.empty());
  std::vector<uint64_t> gdb;
  if (have_gdb()) gdb = gdb_addresses("-p " + std::to_string(child->pid), {"main_arena", "mp_"});
  auto t = open_live_process(child->pid, StopMode::kStopAndDetach);
  ASSERT_TRUE(t.ok()) << t.error().message;
  check_helper_symbols(**t, child->info);
  if (!libc_debuginfo_installed(**t)) GTEST_SKIP() << "libc6-dbg is not installed";
  auto syms = make_elf_symbols(**t, {});
  EXPECT_TRUE(syms->has_full_symbols("libc.so"));
  auto arena = syms->find("libc.so", "main_arena");
  auto mp = syms->find("libc.so", "mp_");
  ASSERT_TRUE(arena);
  ASSERT_TRUE(mp);
  EXPECT_EQ((*t)->find_module("libc.so"), (*t)->find_module("libc.so.6"));
  if (gdb.empty()) GTEST_SKIP() << "gdb is not installed";
  EXPECT_NE(gdb[0], 0u);
  EXPECT_EQ(arena->value, gdb[0]);
  EXPECT_EQ(mp->value, gdb[1]);
  auto name = syms->at(*arena);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->name, "main_arena");
}

TEST(ElfSymbols, CoreMatchesGdb) {
  auto core = testing::make_helper_core(1);
  if (!core->skip_reason.empty()) GTEST_SKIP() << core->skip_reason;
  auto t = open_core_file(core->core);
  ASSERT_TRUE(t.ok()) << t.error().message;
  check_helper_symbols(**t, core->info);
  if (!libc_debuginfo_installed(**t)) GTEST_SKIP() << "libc6-dbg is not installed";
  if (!have_gdb()) GTEST_SKIP() << "gdb is not installed";
  auto gdb = gdb_addresses(std::string(HEAPSCOPE_TARGET_HELPER) + " " + core->core, {"main_arena", "mp_"});
  auto syms = make_elf_symbols(**t, {});
  EXPECT_EQ(syms->find("libc", "main_arena"), Address(gdb[0]));
  EXPECT_EQ(syms->find("libc", "mp_"), Address(gdb[1]));
  EXPECT_NE(gdb[0], 0u);
}

// Modules named by a buffer target, to check what is skipped.
std::string libc_path() {
  std::string maps = testing::read_text("/proc/self/maps");
  std::regex re(R"((/\S*/libc\.so\.6))");
  std::smatch m;
  return std::regex_search(maps, m, re) ? m[1].str() : "";
}

TEST(ElfSymbols, SkipsMissingFilesAndOtherBuilds) {
  std::string libc = libc_path();
  ASSERT_FALSE(libc.empty());
  auto make = [&](const std::string& path, const std::string& build_id) {
    auto t = std::make_unique<BufferTarget>();
    t->add_region(Address(0x7f0000000000), std::vector<std::byte>(4096), kPermRead, path);
    Module m;
    m.path = path;
    m.base = Address(0x7f0000000000);
    m.ranges = {{m.base, m.base + 0x200000}};
    m.build_id = build_id;
    t->add_module(m);
    return t;
  };
  // Placed at 0x7f0000000000: malloc is there plus its offset in the file.
  auto good = make(libc, "");
  auto syms = make_elf_symbols(*good, {});
  auto malloc_at = syms->find("libc.so", "malloc");
  ASSERT_TRUE(malloc_at);
  EXPECT_GT(malloc_at->value, 0x7f0000000000u);
  auto back = syms->at(*malloc_at);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->offset, 0u);

  auto other_build = make(libc, std::string(40, '0'));
  auto other_syms = make_elf_symbols(*other_build, {});
  EXPECT_EQ(other_syms->find("libc.so", "malloc"), std::nullopt);
  // Not silently: a note names the file and both build-ids.
  ASSERT_EQ(other_syms->notes().size(), 1u);
  EXPECT_TRUE(other_syms->notes()[0].starts_with("note: " + libc + " on this machine is not the file the "
                                                 "process mapped (build-id "))
      << other_syms->notes()[0];
  EXPECT_NE(other_syms->notes()[0].find(", the target has " + std::string(40, '0') + "); its symbols are not used"),
            std::string::npos);
  EXPECT_TRUE(syms->notes().empty());
  auto missing = make("/nonexistent/lib/libc.so.6", "");
  auto none = make_elf_symbols(*missing, {});
  EXPECT_EQ(none->find("libc.so", "malloc"), std::nullopt);
  EXPECT_EQ(none->at(Address(0x7f0000000100)), std::nullopt);
  EXPECT_FALSE(none->has_full_symbols("libc.so"));
}

}  // namespace
}  // namespace heapscope
