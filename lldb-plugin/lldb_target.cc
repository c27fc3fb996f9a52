#include "lldb_target.h"

#include <lldb/API/SBFileSpec.h>
#include <lldb/API/SBFrame.h>
#include <lldb/API/SBMemoryRegionInfo.h>
#include <lldb/API/SBMemoryRegionInfoList.h>
#include <lldb/API/SBModule.h>
#include <lldb/API/SBSection.h>
#include <lldb/API/SBThread.h>
#include <lldb/API/SBValue.h>
#include <lldb/API/SBValueList.h>

#include <algorithm>
#include <cctype>

#include "heapscope/callback_target.h"

namespace heapscope::lldb_plugin {
namespace {


Arch arch_of(lldb::SBTarget target) {
  const char* triple = target.GetTriple();
  if (triple && std::string_view(triple).starts_with("aarch64")) return Arch::kAArch64;
  return Arch::kX86_64;
}

std::string file_path(const lldb::SBFileSpec& spec) {
  char buf[4096];
  uint32_t n = spec.GetPath(buf, sizeof buf);
  return n ? std::string(buf, std::min<size_t>(n, sizeof buf - 1)) : std::string();
}

// LLDB prints an ELF build-id as upper-case hex groups with dashes.
std::string build_id_from_uuid(const char* uuid) {
  std::string out;
  if (!uuid) return out;
  for (const char* p = uuid; *p; ++p)
    if (std::isxdigit(static_cast<unsigned char>(*p)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  return out;
}

const Region* region_of(const std::vector<Region>& regions, Address a) {
  auto it = std::upper_bound(regions.begin(), regions.end(), a,
                             [](Address x, const Region& r) { return x < r.range.begin; });
  if (it == regions.begin()) return nullptr;
  --it;
  return it->range.contains(a) ? &*it : nullptr;
}

}  // namespace

std::vector<Thread> threads_from_lldb(lldb::SBProcess process, const std::vector<Region>& regions) {
  std::vector<Thread> out;
  const uint32_t n = process.GetNumThreads();
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    lldb::SBThread thread = process.GetThreadAtIndex(i);
    if (!thread.IsValid()) continue;
    Thread t;
    t.tid = static_cast<int>(thread.GetThreadID());
    lldb::SBFrame frame = thread.GetFrameAtIndex(0);
    if (frame.IsValid()) {
      t.pc = Address(frame.GetPC());
      t.sp = Address(frame.GetSP());
      // The first register set is the general purpose one; on x86-64 Linux
      // it also carries fs_base and gs_base. Sub-registers (eax, ax, al) are
      // left out: the core's names are the kernel's 64-bit ones.
      lldb::SBValueList sets = frame.GetRegisters();
      if (sets.GetSize() > 0) {
        lldb::SBValue gpr = sets.GetValueAtIndex(0);
        const uint32_t count = gpr.GetNumChildren();
        for (uint32_t r = 0; r < count; ++r) {
          lldb::SBValue reg = gpr.GetChildAtIndex(r);
          if (!reg.IsValid() || reg.GetByteSize() != 8 || !reg.GetName()) continue;
          lldb::SBError err;
          uint64_t v = reg.GetValueAsUnsigned(err, 0);
          if (err.Fail()) continue;
          std::string name = reg.GetName();
          if (name == "rflags") name = "eflags";  // user_regs_struct's name
          t.registers.push_back({std::move(name), v});
        }
      }
    }
    if (auto fs = t.reg("fs_base")) t.thread_pointer = Address(*fs);
    else if (auto tp = t.reg("tpidr")) t.thread_pointer = Address(*tp);
    if (const Region* r = region_of(regions, t.sp)) t.stack = r->range;
    out.push_back(std::move(t));
  }
  return out;
}

std::unique_ptr<Target> make_sb_process_target(lldb::SBTarget target, lldb::SBProcess process,
                                               std::optional<std::string> core_path) {
  // Regions, in address order, mapped ones only.
  std::vector<Region> regions;
  lldb::SBMemoryRegionInfoList list = process.GetMemoryRegions();
  for (uint32_t i = 0; i < list.GetSize(); ++i) {
    lldb::SBMemoryRegionInfo info;
    if (!list.GetMemoryRegionAtIndex(i, info) || !info.IsMapped()) continue;
    Region r;
    r.range = {Address(info.GetRegionBase()), Address(info.GetRegionEnd())};
    if (r.range.empty()) continue;
    r.perms = (info.IsReadable() ? kPermRead : 0) | (info.IsWritable() ? kPermWrite : 0) |
              (info.IsExecutable() ? kPermExec : 0);
    if (const char* name = info.GetName()) r.path = name;
    r.readable = info.IsReadable();
    regions.push_back(std::move(r));
  }
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.range.begin < b.range.begin; });

  // Modules: every loaded image with the load ranges of its sections.
  std::vector<Module> modules;
  for (uint32_t i = 0; i < target.GetNumModules(); ++i) {
    lldb::SBModule module = target.GetModuleAtIndex(i);
    if (!module.IsValid()) continue;
    Module m;
    m.path = file_path(module.GetPlatformFileSpec());
    if (m.path.empty()) m.path = file_path(module.GetFileSpec());
    m.build_id = build_id_from_uuid(module.GetUUIDString());
    uint64_t lowest = UINT64_MAX;
    for (size_t s = 0; s < module.GetNumSections(); ++s) {
      lldb::SBSection section = module.GetSectionAtIndex(s);
      lldb::addr_t load = section.GetLoadAddress(target);
      uint64_t size = section.GetByteSize();
      if (load == LLDB_INVALID_ADDRESS || size == 0) continue;
      m.ranges.push_back({Address(load), Address(load + size)});
      lowest = std::min<uint64_t>(lowest, load);
    }
    if (m.ranges.empty()) continue;  // not loaded in this process
    std::sort(m.ranges.begin(), m.ranges.end());
    lldb::addr_t header = module.GetObjectFileHeaderAddress().GetLoadAddress(target);
    m.base = Address(header != LLDB_INVALID_ADDRESS ? header : lowest);
    modules.push_back(std::move(m));
  }

  // A core's regions are named after ELF segments ("PT_LOAD[1]"): name the
  // ones inside a module after its file, as /proc/PID/maps would.
  for (Region& r : regions) {
    if (!r.path.empty() && !r.path.starts_with("PT_LOAD")) continue;
    r.path.clear();
    for (const Module& m : modules)
      for (const AddressRange& mr : m.ranges)
        if (mr.contains(r.range.begin)) r.path = m.path;
  }

  std::vector<Thread> threads = threads_from_lldb(process, regions);
  std::optional<int> pid;
  lldb::pid_t p = process.GetProcessID();
  if (p != LLDB_INVALID_PROCESS_ID && p != 0) pid = static_cast<int>(p);
  const char* plugin = process.GetPluginName();
  std::string description = "process " + (pid ? std::to_string(*pid) : std::string("?")) +
                            " through lldb (" + (plugin ? plugin : "unknown") + ")";

  // SBProcess::ReadMemory stops at the first unreadable byte and returns
  // what it got. Where the process has nothing (a core that left out a
  // library's read-only pages), SBTarget::ReadMemory reads the section from
  // the module's file, as LLDB itself does.
  auto read = [process, target](uint64_t addr, void* dst, size_t n) mutable -> size_t {
    lldb::SBError err;
    size_t got = process.ReadMemory(addr, dst, n, err);
    if (got != 0) return got;
    lldb::SBAddress where = target.ResolveLoadAddress(addr);
    if (!where.IsValid() || !where.GetSection().IsValid()) return 0;
    err.Clear();
    got = target.ReadMemory(where, dst, n, err);
    return err.Fail() ? 0 : got;
  };
  auto t = std::make_unique<CallbackTarget>(std::move(read), std::move(regions), std::move(threads),
                                            std::move(modules), std::move(description));
  t->set_arch(arch_of(target));
  t->set_pid(pid);
  t->set_core_path(std::move(core_path));
  return t;
}

}  // namespace heapscope::lldb_plugin
