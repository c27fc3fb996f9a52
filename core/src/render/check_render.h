// Renderers for `heap check`: one line per finding and a summary (text), or
// one line of JSON {"findings": [...], "chunks_checked": N}.
#pragma once

#include <string>

#include "heapscope/analysis/check.h"

namespace heapscope {

std::string check_text(const CheckReport& r);
std::string check_json(const CheckReport& r);

}  // namespace heapscope
