// Renderers for `heap check`: one line per finding and a summary (text), or
// one line of JSON {"findings": [...], "chunks_checked": N}; and the footer
// the other heap commands print when problems exist.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "heapscope/analysis/check.h"

namespace heapscope {

std::string check_text(const CheckReport& r);
std::string check_json(const CheckReport& r);

// One finding as heap check prints it (without the trailing newline), and
// as a JSON object.
std::string check_finding_text(const CheckFinding& f);
nlohmann::ordered_json check_finding_json(const CheckFinding& f);

// The line every other heap command adds when heap check finds problems.
std::string findings_footer(const CheckReport& r);

}  // namespace heapscope
