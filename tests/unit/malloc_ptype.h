// Test helper: glibc's malloc struct layouts as gdb reads them from a libc's
// debug info (`ptype /o`), for checking layout rows against the real thing.
#pragma once

#include <cstdio>
#include <map>
#include <regex>
#include <string>

namespace heapscope::testing {

struct TypeLayout {
  std::map<std::string, uint64_t> fields;  // name -> offset
  uint64_t size = 0;
};

// One gdb run: `gdb_args` load the libc (e.g. "/lib/x86_64-linux-gnu/libc.so.6"
// or "-ex 'file ...'"), then each malloc struct is printed with ptype /o.
// Empty when gdb or the debug info is missing.
inline std::map<std::string, TypeLayout> read_malloc_layouts(const std::string& gdb_args) {
  std::map<std::string, TypeLayout> out;
  std::string cmd = "gdb -batch -nx " + gdb_args;
  for (const char* t : {"struct malloc_state", "struct malloc_par", "struct _heap_info",
                        "struct tcache_perthread_struct", "struct tcache_entry"})
    cmd += std::string(" -ex 'ptype /o ") + t + "'";
  cmd += " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[512];
  static const std::regex head(R"(type = struct ([A-Za-z_0-9]+) \{)");
  static const std::regex field(R"(^/\*\s+(\d+)\s+\|\s+\d+\s+\*/\s+.*?[\s\*]([A-Za-z_][A-Za-z_0-9]*)(\[\d+\])?;)");
  static const std::regex size(R"(total size \(bytes\):\s+(\d+))");
  TypeLayout* cur = nullptr;
  while (fgets(line, sizeof line, p)) {
    std::cmatch m;
    if (std::regex_search(line, m, head)) cur = &out["struct " + m[1].str()];
    else if (cur && std::regex_search(line, m, field)) cur->fields[m[2]] = std::stoull(m[1]);
    else if (cur && std::regex_search(line, m, size)) cur->size = std::stoull(m[1]), cur = nullptr;
  }
  pclose(p);
  return out;
}

}  // namespace heapscope::testing
