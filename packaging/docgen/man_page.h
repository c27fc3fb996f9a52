// heapscope(1): the man page, in roff, from the DocTable.
#pragma once

#include <string>

#include "doc_table.h"

namespace heapscope::docgen {

// `data_dir` and `lib_dir` are the install tree's relative DATADIR and LIBDIR
// (share, lib): the page names the gdb loader and the LLDB plugin by them.
std::string man_page(const DocTable& table, const std::string& data_dir, const std::string& lib_dir);

}  // namespace heapscope::docgen
