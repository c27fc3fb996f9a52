// ArchRegs: per-architecture register sets as the kernel lays them out in
// NT_PRSTATUS and PTRACE_GETREGS (struct user_regs_struct). Adding an
// architecture is adding a row: its ELF machine, register names in order, and
// which of them are the pc, sp and thread pointer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "heapscope/target.h"

namespace heapscope::targets {

struct ArchRegs {
  uint16_t elf_machine;
  Arch arch;
  const char* name;
  std::span<const char* const> regs;
  int pc_index;
  int sp_index;
  int tp_index;  // -1 when the thread pointer lives in another note (aarch64: NT_ARM_TLS)
};

// The row for an ELF machine, or nullptr when unsupported.
const ArchRegs* arch_for_machine(uint16_t machine);
const ArchRegs& arch_regs(Arch arch);

// "AArch64", "i386", ... for messages; "unknown" otherwise.
std::string elf_machine_name(uint16_t machine);

// Builds a Thread from a raw register block laid out as `arch.regs`.
Thread make_thread(int tid, const ArchRegs& arch, const uint64_t* values, size_t count);

}  // namespace heapscope::targets
