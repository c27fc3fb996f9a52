// Renderers for `heap check`: one line per finding and a summary (text), or
// one line of JSON {"findings": [...], "chunks_checked": N}; and the footer
// the other heap commands print when problems exist. glibc's checks have
// their own findings (CheckFinding); any other allocator's are its model's
// walk findings.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "heapscope/analysis/check.h"
#include "heapscope/model/heap_model.h"
#include "heapscope/output.h"
#include "render/style.h"

namespace heapscope {

// Written finding by finding: a wrecked heap can have millions.
void check_text(OutputWriter& out, const CheckReport& r, const Style& style = Style());
void check_json(OutputWriter& out, const CheckReport& r);

// One finding as heap check prints it (without the trailing newline), and
// as a JSON object.
std::string check_finding_text(const CheckFinding& f, const Style& style = Style());
nlohmann::ordered_json check_finding_json(const CheckFinding& f);

// The one short line every other heap command adds when heap check finds
// problems: how many, and the first one's address and kind. Problems inside
// `shown` are left out (heap chunk lists its own already).
std::string findings_footer(const CheckReport& r, AddressRange shown = {}, const Style& style = Style());

// heap check on another allocator: its model's findings, text or JSON
// ({"allocator": ..., "findings": [...], "chunks_checked": N}).
void model_check_text(OutputWriter& out, const HeapModel& m);
void model_check_json(OutputWriter& out, const HeapModel& m);
// One model finding: "ADDRESS  OWNER  KIND: DETAIL", and as a JSON object
// with glibc's keys where they mean the same ("arena" is the owner index).
std::string model_finding_text(const HeapModel& m, const Finding& f);
nlohmann::ordered_json model_finding_json(const HeapModel& m, const Finding& f);

}  // namespace heapscope
