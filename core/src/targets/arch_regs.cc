// ArchRegs: the register tables.
#include "targets/arch_regs.h"

#include <elf.h>

namespace heapscope::targets {

namespace {

// struct user_regs_struct, <sys/user.h>, x86-64.
constexpr const char* kX86_64Regs[] = {
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11",     "r10",     "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"};

// struct user_pt_regs, <asm/ptrace.h>, aarch64: x0..x30, sp, pc, pstate. The
// thread pointer (tpidr_el0) is not among them: the kernel writes it in its
// own note, NT_ARM_TLS (qemu-user writes none).
constexpr const char* kAArch64Regs[] = {
    "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10", "x11",
    "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23",
    "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp",  "pc",  "pstate"};

constexpr ArchRegs kArches[] = {
    {EM_X86_64, Arch::kX86_64, "x86-64", kX86_64Regs, 16, 19, 21},
    {EM_AARCH64, Arch::kAArch64, "aarch64", kAArch64Regs, 32, 31, -1},
};

}  // namespace

const ArchRegs* arch_for_machine(uint16_t machine) {
  for (const auto& a : kArches)
    if (a.elf_machine == machine) return &a;
  return nullptr;
}

const ArchRegs& arch_regs(Arch arch) {
  for (const auto& a : kArches)
    if (a.arch == arch) return a;
  return kArches[0];
}

std::string elf_machine_name(uint16_t machine) {
  switch (machine) {
    case EM_386: return "i386";
    case EM_X86_64: return "x86-64";
    case EM_ARM: return "ARM";
    case EM_AARCH64: return "AArch64";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "PowerPC64";
    case EM_PPC: return "PowerPC";
    case EM_S390: return "S/390";
    case EM_MIPS: return "MIPS";
    case EM_SPARCV9: return "SPARC V9";
    case EM_LOONGARCH: return "LoongArch";
    default: return "unknown";
  }
}

Thread make_thread(int tid, const ArchRegs& arch, const uint64_t* values, size_t count) {
  Thread t;
  t.tid = tid;
  size_t n = std::min(count, arch.regs.size());
  t.registers.reserve(n);
  for (size_t i = 0; i < n; ++i) t.registers.push_back({arch.regs[i], values[i]});
  auto get = [&](int i) { return i >= 0 && static_cast<size_t>(i) < n ? values[i] : 0; };
  t.pc = Address(get(arch.pc_index));
  t.sp = Address(get(arch.sp_index));
  t.thread_pointer = Address(get(arch.tp_index));
  return t;
}

}  // namespace heapscope::targets
