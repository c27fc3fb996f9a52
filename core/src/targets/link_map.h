// LinkMap: the objects a process's dynamic linker loaded, read from its
// `r_debug` / `link_map` list in the target's memory (glibc's <link.h>).
// A core file without NT_FILE (qemu-user writes none) names its modules only
// there: the core-file target turns each object into file mappings with the
// object's program headers, as if NT_FILE had listed them.
//
// Everything read here is hostile: the walk is bounded and cycle-safe, and
// a name is read up to a fixed length.
#pragma once

#include <elf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/target.h"
#include "targets/auxv.h"

namespace heapscope::targets {

struct LoadedObject {
  std::string name;  // l_name as the dynamic linker has it: empty for the executable
  uint64_t l_addr = 0;  // load bias
  uint64_t l_ld = 0;    // address of its dynamic section (0 if unknown)
};

// The address of r_debug, in this order:
//  1. the DT_DEBUG entry of the executable's dynamic section, found from its
//     program headers (`exe_phdrs` when given, e.g. read from the executable
//     on disk; else read at AT_PHDR in the target) and their load bias
//     (AT_PHDR - PT_PHDR.p_vaddr);
//  2. a bounded scan of the target's small writable regions for an r_debug
//     whose r_ldbase is AT_BASE (the dynamic linker's own _r_debug).
// nullopt for a static executable (no AT_BASE) or when neither finds one.
std::optional<uint64_t> find_r_debug(const Target& target, const std::vector<AuxvEntry>& auxv,
                                     const std::vector<Elf64_Phdr>& exe_phdrs = {});

// True when `addr` holds a plausible r_debug: version 1 or 2, a readable
// r_map, and r_ldbase equal to `ldbase` when that is not 0.
bool looks_like_r_debug(const Target& target, uint64_t addr, uint64_t ldbase);

// The link_map list from r_debug.r_map, in list order; stops at a null or
// unreadable l_next, a cycle, or `max_objects` entries.
std::vector<LoadedObject> walk_link_map(const Target& target, uint64_t r_debug,
                                        size_t max_objects = 4096);

// Program headers of an ELF64 image in `bytes` (an ELF file as on disk);
// empty when it is not one or they do not fit. `machine` receives e_machine
// and `entry` e_entry.
std::vector<Elf64_Phdr> elf_file_phdrs(std::span<const std::byte> bytes, uint16_t* machine = nullptr,
                                       uint64_t* entry = nullptr);

}  // namespace heapscope::targets
